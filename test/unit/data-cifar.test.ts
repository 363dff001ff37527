import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CIFAR100_SPEC, CIFAR10_SPEC, loadCifar, type CifarSpec } from '../../src/train/data/cifar.js';
import { DataFileError, DataUnavailableError } from '../../src/train/data/errors.js';
import { loadDataset } from '../../src/train/data/registry.js';
import type { Dataset, DownloadProgress } from '../../src/shared/datasetTypes.js';
import { cifarPixel, deadUrl, makeCifar100Archive, makeCifar10Archive, makeCifarBatch, makeTarGz, md5, serveFiles, tempDir } from './data-helpers.js';

/** The official specs, accepting the small generated files. */
const small10: CifarSpec = { ...CIFAR10_SPEC, records: null };
const small100: CifarSpec = { ...CIFAR100_SPEC, records: null };
const generated10 = makeCifar10Archive(4);
const sums10 = { 'cifar-10-binary.tar.gz': md5(generated10.archive) };

/** Checks images against the generator's pixel formula: NHWC from the planar records. */
function assertPixels(ds: Dataset, split: 'train' | 'test', first: number) {
  const set = ds[split];
  for (let n = 0; n < set.count; n++) for (const [y, x] of [[0, 0], [0, 31], [31, 0], [17, 5]] as const) for (let c = 0; c < 3; c++) {
    assert.equal(set.images[((n * 32 + y) * 32 + x) * 3 + c], cifarPixel(first + n, c, y, x), `${split} ${n} (${y},${x},${c})`);
  }
}

test('CIFAR-10 from the archive in the cache folder: extracted once, NHWC, labels, the DARTS mean/std', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cifar-10-binary.tar.gz'), generated10.archive);
  const ds = await loadCifar(small10, { dataDir: dir, download: false, checksums: sums10 });
  assert.equal(ds.name, 'cifar10');
  assert.deepEqual([ds.train.count, ds.test.count, ds.train.height, ds.train.width, ds.train.channels], [20, 4, 32, 32, 3]);
  assert.deepEqual(Array.from(ds.train.labels), generated10.trainLabels);
  assert.deepEqual(Array.from(ds.test.labels), generated10.testLabels);
  assertPixels(ds, 'train', 0);
  assertPixels(ds, 'test', 1000);
  assert.deepEqual(ds.mean, [0.4914, 0.4822, 0.4465]);
  assert.deepEqual(ds.std, [0.247, 0.2435, 0.2616]);
  assert.equal(ds.source, join(dir, 'cifar-10-batches-bin'));
  assert.ok(existsSync(join(dir, 'cifar-10-batches-bin', 'data_batch_5.bin')));
  assert.ok(readFileSync(join(dir, 'cifar-10-binary.tar.gz')).equals(generated10.archive), 'archive untouched');
  // Later loads read the extracted folder: the archive is no longer needed.
  rmSync(join(dir, 'cifar-10-binary.tar.gz'));
  const again = await loadCifar(small10, { dataDir: dir, download: false });
  assert.ok(Buffer.from(again.train.images).equals(Buffer.from(ds.train.images)));
});

test('CIFAR-100 uses the fine label (second byte) and checks the coarse one', async (t) => {
  const dir = tempDir(t);
  const gen = makeCifar100Archive(30, 6);
  writeFileSync(join(dir, 'cifar-100-binary.tar.gz'), gen.archive);
  const ds = await loadCifar(small100, { dataDir: dir, download: false, checksums: { 'cifar-100-binary.tar.gz': md5(gen.archive) } });
  assert.deepEqual([ds.classes, ds.train.count, ds.test.count], [100, 30, 6]);
  assert.deepEqual(Array.from(ds.train.labels), gen.trainLabels);
  assert.deepEqual(Array.from(ds.test.labels), gen.testLabels);
  assertPixels(ds, 'train', 0);
  assert.deepEqual(ds.mean, [0.5071, 0.4865, 0.4409]);

  const bad = tempDir(t);
  mkdirSync(join(bad, 'cifar-100-binary'));
  writeFileSync(join(bad, 'cifar-100-binary', 'train.bin'), makeCifarBatch([1, 2, 3], 2, 0, (l) => (l === 2 ? 20 : 0)));
  writeFileSync(join(bad, 'cifar-100-binary', 'test.bin'), makeCifarBatch([1], 2));
  await assert.rejects(loadCifar(small100, { dataDir: bad, download: false }), new RegExp(`${join(bad, 'cifar-100-binary', 'train.bin')}: record 1 has coarse label 20, outside 0\\.\\.19`));
});

test('CIFAR-10 through the download path: local server, resume of a partial file, checksum, progress', async (t) => {
  const dir = tempDir(t);
  const server = await serveFiles({ 'cifar-10-binary.tar.gz': generated10.archive });
  t.after(() => server.close());
  writeFileSync(join(dir, 'cifar-10-binary.tar.gz.part'), generated10.archive.subarray(0, 1000));
  const progress: DownloadProgress[] = [];
  const ds = await loadCifar(small10, { dataDir: dir, baseUrl: server.baseUrl + '/', checksums: sums10, onProgress: (p) => progress.push(p) });
  assert.deepEqual(server.requests, [{ url: '/data/cifar-10-binary.tar.gz', range: 'bytes=1000-' }]);
  assert.equal(progress[0]!.received, 1000);
  assert.deepEqual(progress.at(-1), { file: 'cifar-10-binary.tar.gz', received: generated10.archive.length, total: generated10.archive.length });
  assert.deepEqual(Array.from(ds.train.labels), generated10.trainLabels);
  assert.ok(readFileSync(join(dir, 'cifar-10-binary.tar.gz')).equals(generated10.archive));
});

test('a download that fails its checksum is an error naming the file', async (t) => {
  const dir = tempDir(t);
  const server = await serveFiles({ 'cifar-10-binary.tar.gz': generated10.archive });
  t.after(() => server.close());
  // The built-in (official) checksum cannot match the generated archive.
  await assert.rejects(loadDataset('cifar10', { dataDir: dir, baseUrl: server.baseUrl }), (err: unknown) => {
    assert.ok(err instanceof DataFileError);
    assert.equal(err.file, join(dir, 'cifar-10-binary.tar.gz'));
    assert.match(err.message, /checksum mismatch after download .*expected c32a1d4ab5d03f1284b67883e8d87530/);
    return true;
  });
  assert.ok(!existsSync(join(dir, 'cifar-10-binary.tar.gz')));
});

test('offline: the message names the URL, the reason, the file and the folder', async (t) => {
  const dir = tempDir(t);
  const dead = await deadUrl();
  await assert.rejects(
    loadDataset('cifar10', { dataDir: dir, baseUrl: dead }),
    (err: unknown) => {
      assert.ok(err instanceof DataUnavailableError);
      assert.equal(
        err.message,
        `cannot download CIFAR-10 from ${dead}/cifar-10-binary.tar.gz: connection refused; put cifar-10-binary.tar.gz into ${dir} or set CELLSCOPE_DATA`,
      );
      return true;
    },
  );
  await assert.rejects(
    loadDataset('cifar100', { dataDir: dir, download: false }),
    new RegExp(`^DataUnavailableError: CIFAR-100 is not in ${dir} and downloading is off; put cifar-100-binary\\.tar\\.gz into ${dir} or set CELLSCOPE_DATA$`),
  );
});

test("an existing archive with the wrong checksum is reported and left as it is", async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'cifar-10-binary.tar.gz');
  writeFileSync(path, generated10.archive);
  await assert.rejects(loadDataset('cifar10', { dataDir: dir }), (err: unknown) => {
    assert.ok(err instanceof DataFileError);
    assert.equal(err.file, path);
    assert.match(err.message, new RegExp(`^${path}: checksum mismatch: MD5 is ${md5(generated10.archive)}, expected c32a1d4ab5d03f1284b67883e8d87530; the file was left as it is`));
    return true;
  });
  assert.ok(readFileSync(path).equals(generated10.archive));
  assert.ok(!existsSync(join(dir, 'cifar-10-batches-bin')));
});

test('the official record counts are enforced: a short batch names the file and the sizes', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cifar-10-binary.tar.gz'), generated10.archive);
  await assert.rejects(
    loadDataset('cifar10', { dataDir: dir, checksums: sums10 }),
    new RegExp(`${join(dir, 'cifar-10-batches-bin', 'data_batch_1.bin')}: wrong size: 12292 bytes, expected 30730000 \\(10000 records of 3073 bytes\\)`),
  );
});

test('a truncated or non-gzip archive is an error naming it', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'cifar-10-binary.tar.gz');
  writeFileSync(path, generated10.archive.subarray(0, generated10.archive.length - 200));
  await assert.rejects(loadCifar(small10, { dataDir: dir, checksums: { 'cifar-10-binary.tar.gz': null } }), new RegExp(`^DataFileError: ${path}: truncated gzip data`));
  writeFileSync(join(dir, 'other.tar.gz'), 'this is not gzip at all');
  await assert.rejects(
    loadCifar({ ...small10, fileName: 'other.tar.gz' }, { dataDir: join(dir), checksums: { 'other.tar.gz': null } }),
    /other\.tar\.gz: not valid gzip data/,
  );
});

test('a truncated batch file extracted by hand is reported, not replaced', async (t) => {
  const dir = tempDir(t);
  const folder = join(dir, 'cifar-10-batches-bin');
  mkdirSync(folder);
  for (const f of [...CIFAR10_SPEC.trainFiles, CIFAR10_SPEC.testFile]) writeFileSync(join(folder, f), makeCifarBatch([1, 2], 1));
  const broken = makeCifarBatch([1, 2], 1).subarray(0, 3073 + 1000);
  writeFileSync(join(folder, 'data_batch_3.bin'), broken);
  writeFileSync(join(dir, 'cifar-10-binary.tar.gz'), generated10.archive);
  await assert.rejects(
    loadCifar(small10, { dataDir: dir, checksums: sums10 }),
    new RegExp(`${join(folder, 'data_batch_3.bin')}: wrong size: 4073 bytes is not a whole number of 3073-byte records \\(truncated\\?\\)`),
  );
  assert.ok(readFileSync(join(folder, 'data_batch_3.bin')).equals(broken));
  writeFileSync(join(folder, 'data_batch_3.bin'), makeCifarBatch([10], 1));
  await assert.rejects(loadCifar(small10, { dataDir: dir }), /data_batch_3\.bin: record 0 has label 10, outside 0\.\.9/);
});

test('an archive without an expected member says which', async (t) => {
  const dir = tempDir(t);
  const archive = makeTarGz([{ name: 'cifar-10-batches-bin/data_batch_1.bin', data: makeCifarBatch([0], 1) }]);
  writeFileSync(join(dir, 'cifar-10-binary.tar.gz'), archive);
  await assert.rejects(
    loadCifar(small10, { dataDir: dir, checksums: { 'cifar-10-binary.tar.gz': md5(archive) } }),
    /cifar-10-binary\.tar\.gz: has no member cifar-10-batches-bin\/data_batch_2\.bin, .*cifar-10-batches-bin\/test_batch\.bin/,
  );
});

test('subsets: class-balanced, seeded', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'cifar-10-binary.tar.gz'), generated10.archive);
  const ds = await loadCifar(small10, { dataDir: dir, checksums: sums10, trainSubset: 10, testSubset: 2, seed: 4 });
  assert.deepEqual([ds.train.count, ds.test.count], [10, 2]);
  assert.deepEqual([...ds.train.labels].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const again = await loadCifar(small10, { dataDir: dir, trainSubset: 10, testSubset: 2, seed: 4 });
  assert.deepEqual(again.train.images, ds.train.images);
});
