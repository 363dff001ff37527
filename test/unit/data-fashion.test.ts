import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { DataFileError, DataUnavailableError } from '../../src/train/data/errors.js';
import { DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_SPEC, loadFashionMnist, type FashionMnistSpec } from '../../src/train/data/fashionMnist.js';
import { loadDataset } from '../../src/train/data/registry.js';
import { channelStats } from '../../src/train/data/synthetic.js';
import type { DownloadProgress } from '../../src/shared/datasetTypes.js';
import { fashionPixel, makeFashionFiles, makeIdx, md5, serveFiles, tempDir } from './data-helpers.js';

const small: FashionMnistSpec = { ...FASHION_MNIST_SPEC, counts: null };
const gen = makeFashionFiles(12, 5);

function writeAll(dir: string, files: Record<string, Buffer>, gunzip = false) {
  mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, gunzip ? name.replace(/\.gz$/, '') : name), gunzip ? gunzipSync(data) : data);
}

test('Fashion-MNIST from the cache folder: 28×28×1, labels, pixels, its mean/std', async (t) => {
  const dir = tempDir(t);
  writeAll(join(dir, 'fashion-mnist'), gen.files);
  const ds = await loadFashionMnist(small, { dataDir: dir, download: false, systemDirs: [] });
  assert.deepEqual([ds.name, ds.classes, ds.train.count, ds.test.count], ['fashion-mnist', 10, 12, 5]);
  assert.deepEqual([ds.train.height, ds.train.width, ds.train.channels], [28, 28, 1]);
  assert.deepEqual(Array.from(ds.train.labels), gen.trainLabels);
  assert.deepEqual(Array.from(ds.test.labels), gen.testLabels);
  for (let n = 0; n < 12; n++) for (const [y, x] of [[0, 0], [27, 27], [3, 20]] as const) assert.equal(ds.train.images[n * 784 + y * 28 + x], fashionPixel(n, y, x));
  assert.equal(ds.test.images[4 * 784 + 5 * 28 + 6], fashionPixel(5004, 5, 6));
  assert.deepEqual([ds.mean, ds.std], [[0.286], [0.353]]);
  assert.equal(ds.source, join(dir, 'fashion-mnist'));
});

test('installed files (gzipped or not) are found in the system folders', async (t) => {
  const dir = tempDir(t);
  const system = join(dir, 'usr-share');
  writeAll(system, gen.files, true);
  const ds = await loadFashionMnist(small, { dataDir: join(dir, 'cache'), download: false, systemDirs: ['/nonexistent', system] });
  assert.equal(ds.source, system);
  assert.deepEqual(Array.from(ds.test.labels), gen.testLabels);
  assert.ok(!existsSync(join(dir, 'cache')), 'nothing written to the cache folder');
});

test('downloads the four files (resuming one), verifying each checksum', async (t) => {
  const dir = tempDir(t);
  const server = await serveFiles(gen.files);
  t.after(() => server.close());
  const checksums = Object.fromEntries(Object.entries(gen.files).map(([n, d]) => [n, md5(d)]));
  mkdirSync(join(dir, 'fashion-mnist'));
  const part = gen.files['train-images-idx3-ubyte.gz']!;
  writeFileSync(join(dir, 'fashion-mnist', 'train-images-idx3-ubyte.gz.part'), part.subarray(0, 100));
  const progress: DownloadProgress[] = [];
  const ds = await loadFashionMnist(small, { dataDir: dir, baseUrl: server.baseUrl, checksums, systemDirs: [], onProgress: (p) => progress.push(p) });
  assert.deepEqual(Array.from(ds.train.labels), gen.trainLabels);
  assert.deepEqual(
    server.requests.map((r) => [r.url, r.range]),
    [
      ['/data/train-images-idx3-ubyte.gz', 'bytes=100-'],
      ['/data/train-labels-idx1-ubyte.gz', undefined],
      ['/data/t10k-images-idx3-ubyte.gz', undefined],
      ['/data/t10k-labels-idx1-ubyte.gz', undefined],
    ],
  );
  assert.deepEqual(new Set(progress.map((p) => p.file)), new Set(Object.keys(gen.files)));

  const wrong = tempDir(t);
  await assert.rejects(
    loadFashionMnist(small, { dataDir: wrong, baseUrl: server.baseUrl, systemDirs: [] }),
    new RegExp(`${join(wrong, 'fashion-mnist', 'train-images-idx3-ubyte.gz')}: checksum mismatch after download .*expected 8d4fb7e6c68d591d4c3dfef9ec88bf0d`),
  );
});

test('bad magic, truncation and mismatched counts name the file', async (t) => {
  const cases: [string, Record<string, Buffer>, RegExp][] = [
    ['magic', { 'train-images-idx3-ubyte.gz': gen.files['train-labels-idx1-ubyte.gz']! }, /train-images-idx3-ubyte\.gz: bad IDX magic 0x00000801, expected 0x00000803 \(unsigned bytes, 3 dimensions\)/],
    ['gzip', { 't10k-labels-idx1-ubyte.gz': gen.files['t10k-labels-idx1-ubyte.gz']!.subarray(0, 20) }, /t10k-labels-idx1-ubyte\.gz: truncated gzip data/],
    ['idx', { 'train-images-idx3-ubyte.gz': gzipSync(gunzipSync(gen.files['train-images-idx3-ubyte.gz']!).subarray(0, 16 + 3000)) }, /train-images-idx3-ubyte\.gz: truncated: the header says 12×28×28 = 9408 bytes of data, the file has 3000/],
    ['count', { 't10k-labels-idx1-ubyte.gz': gzipSync(makeIdx([4], Uint8Array.from([1, 2, 3, 4]))) }, /t10k-labels-idx1-ubyte\.gz: holds 4 labels for the 5 images of .*t10k-images-idx3-ubyte\.gz/],
    ['label', { 't10k-labels-idx1-ubyte.gz': gzipSync(makeIdx([5], Uint8Array.from([1, 2, 3, 10, 4]))) }, /t10k-labels-idx1-ubyte\.gz: label 3 is 10, outside 0\.\.9/],
  ];
  for (const [what, replace, message] of cases) {
    const dir = tempDir(t);
    writeAll(join(dir, 'fashion-mnist'), { ...gen.files, ...replace });
    await assert.rejects(loadFashionMnist(small, { dataDir: dir, download: false, systemDirs: [] }), (err: unknown) => {
      assert.ok(err instanceof DataFileError, what);
      assert.match(err.message, message, what);
      return true;
    });
  }
});

test('the official sizes are enforced; missing files say where they were looked for', async (t) => {
  const dir = tempDir(t);
  writeAll(join(dir, 'fashion-mnist'), gen.files);
  await assert.rejects(loadDataset('fashion-mnist', { dataDir: dir, systemDirs: [] }), /train-images-idx3-ubyte\.gz: holds 12 images, expected 60000/);
  const empty = tempDir(t);
  await assert.rejects(loadDataset('fashion-mnist', { dataDir: empty, download: false, systemDirs: ['/nowhere'] }), (err: unknown) => {
    assert.ok(err instanceof DataUnavailableError);
    assert.match(err.message, new RegExp(`file train-images-idx3-ubyte\\.gz is not in ${join(empty, 'fashion-mnist')} or /nowhere and downloading is off; put train-images-idx3-ubyte\\.gz into ${join(empty, 'fashion-mnist')} or set CELLSCOPE_DATA \\(or install Debian's dataset-fashion-mnist\\)`));
    return true;
  });
});

test("Debian's dataset-fashion-mnist, found without configuration", async (t) => {
  if (!existsSync(join(DEBIAN_FASHION_MNIST_DIR, 'train-images-idx3-ubyte.gz'))) {
    t.skip(`${DEBIAN_FASHION_MNIST_DIR} not present (apt-get install dataset-fashion-mnist)`);
    return;
  }
  const ds = await loadDataset('fashion-mnist', { dataDir: tempDir(t), download: false });
  assert.equal(ds.source, DEBIAN_FASHION_MNIST_DIR);
  assert.deepEqual([ds.train.count, ds.test.count, ds.train.channels], [60_000, 10_000, 1]);
  // The dataset's well-known first training labels: ankle boot, T-shirt, T-shirt, dress, ...
  assert.deepEqual(Array.from(ds.train.labels.subarray(0, 10)), [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
  const { mean, std } = channelStats(ds.train);
  assert.ok(Math.abs(mean[0]! - ds.mean[0]!) < 5e-4 && Math.abs(std[0]! - ds.std[0]!) < 5e-4, `${mean} ${std}`);
  const perClass = new Array<number>(10).fill(0);
  for (const l of ds.test.labels) perClass[l]!++;
  assert.deepEqual(perClass, new Array<number>(10).fill(1000));
});
