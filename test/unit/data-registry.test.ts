import { test } from 'node:test';
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { downloadUrl, expectedMd5 } from '../../src/train/data/archive.js';
import { CIFAR10_SPEC } from '../../src/train/data/cifar.js';
import { DATASET_INFO, DATASET_NAMES, batches, isDatasetName, loadDataset, resolveDataDir } from '../../src/train/data/index.js';
import { NumpyRandomState } from '../../src/genotype/numpyRandom.js';
import { tempDir } from './data-helpers.js';

test('every dataset name has its info; names are recognised', () => {
  assert.deepEqual(Object.keys(DATASET_INFO).sort(), [...DATASET_NAMES].sort());
  assert.ok(isDatasetName('tiny-imagenet') && !isDatasetName('imagenet'));
  assert.deepEqual([DATASET_INFO['fashion-mnist'].channels, DATASET_INFO['fashion-mnist'].height], [1, 28]);
  assert.deepEqual([DATASET_INFO['tiny-imagenet'].classes, DATASET_INFO['tiny-imagenet'].height], [200, 64]);
  assert.equal(DATASET_INFO.cifar100.classes, 100);
});

test('the embedded dataset matches its info and feeds batches', async () => {
  const ds = await loadDataset('synthetic', { trainSubset: 64, testSubset: 20 });
  const info = DATASET_INFO.synthetic;
  assert.deepEqual([ds.classes, ds.train.height, ds.train.width, ds.train.channels], [info.classes, info.height, info.width, info.channels]);
  const all = [...batches(ds.train, ds, { batchSize: 32, shuffle: true, augment: true, cutout: 16, rng: new NumpyRandomState(0) })];
  assert.deepEqual(all.map((b) => [b.size, b.x.length]), [[32, 32 * 3072], [32, 32 * 3072]]);
});

test('the cache folder: option, else $CELLSCOPE_DATA, else ~/.cache/cellscope/data', async (t) => {
  assert.equal(resolveDataDir('/x', { CELLSCOPE_DATA: '/y' }), '/x');
  assert.equal(resolveDataDir(undefined, { CELLSCOPE_DATA: '/y' }), '/y');
  assert.equal(resolveDataDir(undefined, {}), join(homedir(), '.cache', 'cellscope', 'data'));
  const dir = tempDir(t);
  const saved = process.env.CELLSCOPE_DATA;
  process.env.CELLSCOPE_DATA = dir;
  t.after(() => (saved === undefined ? delete process.env.CELLSCOPE_DATA : (process.env.CELLSCOPE_DATA = saved)));
  await assert.rejects(loadDataset('cifar100', { download: false }), new RegExp(`CIFAR-100 is not in ${dir} and downloading is off`));
});

test('download address: baseUrl, else $CELLSCOPE_DATA_URL, else official; checksum table overridable', () => {
  assert.equal(downloadUrl(CIFAR10_SPEC, {}, {}), 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz');
  assert.equal(downloadUrl(CIFAR10_SPEC, {}, { CELLSCOPE_DATA_URL: 'http://mirror/d/' }), 'http://mirror/d/cifar-10-binary.tar.gz');
  assert.equal(downloadUrl(CIFAR10_SPEC, { baseUrl: 'http://a/b' }, { CELLSCOPE_DATA_URL: 'http://mirror' }), 'http://a/b/cifar-10-binary.tar.gz');
  assert.equal(expectedMd5(CIFAR10_SPEC, {}), 'c32a1d4ab5d03f1284b67883e8d87530');
  assert.equal(expectedMd5(CIFAR10_SPEC, { checksums: { 'cifar-10-binary.tar.gz': null } }), null);
  assert.equal(expectedMd5(CIFAR10_SPEC, { checksums: { 'other.zip': 'ab' } }), 'c32a1d4ab5d03f1284b67883e8d87530');
});
