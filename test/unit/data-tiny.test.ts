import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DataFileError } from '../../src/train/data/errors.js';
import { loadDataset } from '../../src/train/data/registry.js';
import { TINY_IMAGENET_SPEC, loadTinyImagenet, type TinyImagenetSpec } from '../../src/train/data/tinyImagenet.js';
import type { Dataset, DownloadProgress } from '../../src/shared/datasetTypes.js';
import { encodeJpeg, makeTinyLayout, md5, serveFiles, tempDir, tinyColour, zipLayout } from './data-helpers.js';

const WNIDS = ['n09999999', 'n01000001', 'n05555555']; // wnids.txt order is not sorted order
const SORTED = [...WNIDS].sort();
const spec: TinyImagenetSpec = { ...TINY_IMAGENET_SPEC, classes: 3, counts: null };
const layout = makeTinyLayout(WNIDS, 3, 2);
const zip = zipLayout(layout.files);
const sums = { 'tiny-imagenet-200.zip': md5(zip) };

/** Expected test order: by sorted-wnid class, then file name (ImageFolder over regrouped val/). */
const expectedVal = layout.valOrder
  .map((v) => ({ ...v, label: SORTED.indexOf(v.wnid) }))
  .sort((a, b) => a.label - b.label || (a.name < b.name ? -1 : 1));

function assertColour(images: Uint8Array, n: number, rgb: [number, number, number], what: string) {
  for (const p of [0, 64 * 32 + 17, 64 * 64 - 1]) for (let c = 0; c < 3; c++) {
    const v = images[(n * 64 * 64 + p) * 3 + c]!;
    assert.ok(Math.abs(v - rgb[c]!) <= 4, `${what}: pixel ${p} channel ${c} is ${v}, expected about ${rgb[c]}`);
  }
}

function assertDataset(ds: Dataset) {
  assert.deepEqual([ds.name, ds.classes, ds.train.count, ds.test.count], ['tiny-imagenet', 3, 9, 6]);
  assert.deepEqual([ds.train.height, ds.train.width, ds.train.channels], [64, 64, 3]);
  // Training images: classes in sorted-wnid order, files in name order.
  assert.deepEqual(Array.from(ds.train.labels), [0, 0, 0, 1, 1, 1, 2, 2, 2]);
  for (let n = 0; n < 9; n++) assertColour(ds.train.images, n, tinyColour('train', Math.floor(n / 3), n % 3), `train ${n}`);
  assert.deepEqual(Array.from(ds.test.labels), expectedVal.map((v) => v.label));
  expectedVal.forEach((v, n) => assertColour(ds.test.images, n, tinyColour('val', v.label, v.index), `val ${v.name}`));
  assert.deepEqual(ds.mean, [0.4802, 0.4481, 0.3975]);
  assert.deepEqual(ds.std, [0.2302, 0.2265, 0.2262]);
}

test('Tiny-ImageNet from the zip: sorted wnids, val grouped by val_annotations.txt, decoded once into a cache', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'tiny-imagenet-200.zip'), zip);
  const progress: DownloadProgress[] = [];
  const ds = await loadTinyImagenet(spec, { dataDir: dir, download: false, checksums: sums, onProgress: (p) => progress.push(p) });
  assertDataset(ds);
  assert.deepEqual(progress.at(-1), { file: 'tiny-imagenet-200.cache', received: 15, total: 15 });
  const cache = join(dir, 'tiny-imagenet-200.cache');
  assert.equal(ds.source, cache);
  assert.ok(readFileSync(join(dir, 'tiny-imagenet-200.zip')).equals(zip), 'archive untouched');
  // Later loads read only the cache.
  rmSync(join(dir, 'tiny-imagenet-200.zip'));
  const again = await loadTinyImagenet(spec, { dataDir: dir, download: false });
  assertDataset(again);
  assert.deepEqual(again.train.images, ds.train.images);
  assert.deepEqual(again.test.images, ds.test.images);
  const sub = await loadTinyImagenet(spec, { dataDir: dir, trainSubset: 3, testSubset: 3 });
  assert.deepEqual(Array.from(sub.train.labels), [0, 1, 2]);
  assert.deepEqual(Array.from(sub.test.labels), [0, 1, 2]);
});

test('Tiny-ImageNet through the download path, resuming a partial zip', async (t) => {
  const dir = tempDir(t);
  const server = await serveFiles({ 'tiny-imagenet-200.zip': zip });
  t.after(() => server.close());
  writeFileSync(join(dir, 'tiny-imagenet-200.zip.part'), zip.subarray(0, 4096));
  assertDataset(await loadTinyImagenet(spec, { dataDir: dir, baseUrl: server.baseUrl, checksums: sums }));
  assert.deepEqual(server.requests, [{ url: '/data/tiny-imagenet-200.zip', range: 'bytes=4096-' }]);
});

test('an extracted tiny-imagenet-200 folder works without the zip', async (t) => {
  const dir = tempDir(t);
  for (const [path, data] of Object.entries(layout.files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), data);
  }
  const ds = await loadTinyImagenet(spec, { dataDir: dir, download: false });
  assertDataset(ds);
});

test('a zip written by Info-ZIP (directory entries, its own deflate) reads the same', async (t) => {
  try {
    execFileSync('zip', ['-v'], { stdio: 'pipe' });
  } catch {
    t.skip('no zip command here');
    return;
  }
  const dir = tempDir(t);
  const src = join(dir, 'src');
  for (const [path, data] of Object.entries(layout.files)) {
    mkdirSync(dirname(join(src, path)), { recursive: true });
    writeFileSync(join(src, path), data);
  }
  execFileSync('zip', ['-q', '-r', join(dir, 'tiny-imagenet-200.zip'), 'tiny-imagenet-200'], { cwd: src });
  assertDataset(await loadTinyImagenet(spec, { dataDir: dir, download: false, checksums: { 'tiny-imagenet-200.zip': null } }));
});

async function rejectsWith(files: Record<string, Uint8Array>, t: TestContext, message: RegExp) {
  const dir = tempDir(t);
  const bytes = zipLayout(files);
  writeFileSync(join(dir, 'tiny-imagenet-200.zip'), bytes);
  await assert.rejects(loadTinyImagenet(spec, { dataDir: dir, checksums: { 'tiny-imagenet-200.zip': null } }), (err: unknown) => {
    assert.ok(err instanceof DataFileError, String(err));
    assert.match(err.message, message);
    return true;
  });
  return dir;
}

test('missing val_annotations.txt, an unknown class in it, a missing image: errors name the member', async (t) => {
  const noAnnotations = { ...layout.files };
  delete noAnnotations['tiny-imagenet-200/val/val_annotations.txt'];
  const dir = await rejectsWith(noAnnotations, t, /tiny-imagenet-200\.zip: tiny-imagenet-200\/val\/val_annotations\.txt: missing; the validation images cannot be grouped by class without it/);
  assert.throws(() => readFileSync(join(dir, 'tiny-imagenet-200.cache')), /ENOENT/, 'no cache from a failed build');

  const unknown = { ...layout.files, 'tiny-imagenet-200/val/val_annotations.txt': Buffer.from('val_0.JPEG\tn01000001\t0\t0\t1\t1\nval_1.JPEG\tn00000000\t0\t0\t1\t1\n') };
  await rejectsWith(unknown, t, /val_annotations\.txt: line 2 \("val_1\.JPEG\tn00000000.*"\) does not name an image and a class of wnids\.txt/);

  const missingImage = { ...layout.files };
  delete missingImage['tiny-imagenet-200/val/images/val_3.JPEG'];
  await rejectsWith(missingImage, t, /tiny-imagenet-200\/val\/images\/val_3\.JPEG: missing, though val\/val_annotations\.txt line 4 lists it/);

  const noWnids = { ...layout.files };
  delete noWnids['tiny-imagenet-200/wnids.txt'];
  await rejectsWith(noWnids, t, /tiny-imagenet-200\/wnids\.txt: missing; it lists the classes/);
});

test('a wrongly sized or undecodable JPEG names the member', async (t) => {
  const member = `tiny-imagenet-200/train/${SORTED[1]}/images/${SORTED[1]}_2.JPEG`;
  await rejectsWith({ ...layout.files, [member]: encodeJpeg(32, [9, 9, 9]) }, t, new RegExp(`${member}: is 32×32, expected 64×64`));
  await rejectsWith({ ...layout.files, [member]: Buffer.from('not a jpeg') }, t, new RegExp(`${member}: cannot decode JPEG`));
});

test('a truncated zip or a damaged cache is an error naming the file', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'tiny-imagenet-200.zip');
  writeFileSync(path, zip.subarray(0, zip.length - 5000));
  await assert.rejects(loadTinyImagenet(spec, { dataDir: dir, checksums: { 'tiny-imagenet-200.zip': null } }), new RegExp(`^DataFileError: ${path}: not a readable zip archive`));

  const good = tempDir(t);
  writeFileSync(join(good, 'tiny-imagenet-200.zip'), zip);
  await loadTinyImagenet(spec, { dataDir: good, checksums: sums });
  const cache = join(good, 'tiny-imagenet-200.cache');
  truncateSync(cache, readFileSync(cache).length - 10);
  await assert.rejects(loadTinyImagenet(spec, { dataDir: good }), new RegExp(`${cache}: wrong size: \\d+ bytes, the header describes \\d+; this is a cache of decoded images: delete it to rebuild it`));
  writeFileSync(cache, Buffer.from('something else entirely, long enough to hold a header of the cache'));
  await assert.rejects(loadTinyImagenet(spec, { dataDir: good }), /not a Cellscope image cache \(bad magic\)/);
});

test('the official spec wants 200 classes', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'tiny-imagenet-200.zip'), zip);
  await assert.rejects(loadDataset('tiny-imagenet', { dataDir: dir, checksums: sums }), /tiny-imagenet-200\/wnids\.txt: lists 3 distinct classes, expected 200/);
});
