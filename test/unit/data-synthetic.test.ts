import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SYNTHETIC_CLASS_NAMES, SYNTHETIC_DEFAULTS, channelStats, generateSynthetic, loadSynthetic } from '../../src/train/data/synthetic.js';
import type { ImageSet } from '../../src/shared/datasetTypes.js';

const P = 32 * 32 * 3;
const train = generateSynthetic(3000, 17);
const test_ = generateSynthetic(1000, 18);

test('same seed, same images; another seed, other images', () => {
  const [a, b, other] = [generateSynthetic(400, 17), generateSynthetic(400, 17), generateSynthetic(400, 19)];
  assert.deepEqual(a.labels, b.labels);
  assert.ok(Buffer.from(a.images).equals(Buffer.from(b.images)));
  assert.ok(!Buffer.from(other.images).equals(Buffer.from(a.images)));
  assert.notDeepEqual(other.labels, a.labels);
  assert.equal(generateSynthetic(0, 1).count, 0);
});

test('32×32×3, ten exactly balanced classes in mixed order', () => {
  assert.deepEqual([train.height, train.width, train.channels, train.images.length], [32, 32, 3, 3000 * P]);
  const h = new Array<number>(10).fill(0);
  for (const l of train.labels) h[l]!++;
  assert.deepEqual(h, new Array<number>(10).fill(300));
  assert.notDeepEqual(Array.from(train.labels.subarray(0, 10)), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(SYNTHETIC_CLASS_NAMES.length, 10);
});

/** Mean over a class of a per-image statistic. */
function classMeans(set: ImageSet, stat: (img: Uint8Array) => number): number[] {
  const sum = new Array<number>(10).fill(0);
  const n = new Array<number>(10).fill(0);
  for (let i = 0; i < set.count; i++) {
    sum[set.labels[i]!]! += stat(set.images.subarray(i * P, (i + 1) * P));
    n[set.labels[i]!]!++;
  }
  return sum.map((s, c) => s / n[c]!);
}

test('warm classes are redder than cool ones on average (the palette half of the class)', () => {
  const redMinusBlue = classMeans(train, (img) => {
    let s = 0;
    for (let p = 0; p < img.length; p += 3) s += img[p]! - img[p + 2]!;
    return s / (img.length / 3);
  });
  const warm = redMinusBlue.slice(0, 5);
  const cool = redMinusBlue.slice(5);
  assert.ok(Math.min(...warm) > Math.max(...cool), `warm ${warm} cool ${cool}`);
});

test('horizontal-stripe classes vary down the rows, vertical-stripe classes along them', () => {
  // Mean absolute difference between vertical and horizontal neighbours.
  const anisotropy = classMeans(train, (img) => {
    let dv = 0;
    let dh = 0;
    for (let y = 0; y < 31; y++) for (let x = 0; x < 31; x++) for (let c = 0; c < 3; c++) {
      const v = img[(y * 32 + x) * 3 + c]!;
      dv += Math.abs(img[((y + 1) * 32 + x) * 3 + c]! - v);
      dh += Math.abs(img[(y * 32 + x + 1) * 3 + c]! - v);
    }
    return (dv - dh) / (dv + dh);
  });
  for (const palette of [0, 5]) {
    const [disc, ring, cross, horizontal, vertical] = anisotropy.slice(palette, palette + 5) as [number, number, number, number, number];
    assert.ok(horizontal > 0.05 && vertical < -0.05, `stripes ${horizontal} ${vertical}`);
    for (const round of [disc, ring, cross]) assert.ok(Math.abs(round) < Math.min(horizontal, -vertical), `${anisotropy}`);
  }
});

test('a nearest-class-mean classifier on raw pixels is well above chance but far from perfect', () => {
  const means = Array.from({ length: 10 }, () => new Float64Array(P));
  const counts = new Array<number>(10).fill(0);
  for (let n = 0; n < train.count; n++) {
    const l = train.labels[n]!;
    counts[l]!++;
    const m = means[l]!;
    for (let i = 0; i < P; i++) m[i]! += train.images[n * P + i]!;
  }
  means.forEach((m, l) => m.forEach((v, i) => (m[i] = v / counts[l]!)));
  let correct = 0;
  for (let n = 0; n < test_.count; n++) {
    let best = -1;
    let bestDistance = Infinity;
    for (let l = 0; l < 10; l++) {
      let d = 0;
      for (let i = 0; i < P; i++) d += (test_.images[n * P + i]! - means[l]![i]!) ** 2;
      if (d < bestDistance) [best, bestDistance] = [l, d];
    }
    if (best === test_.labels[n]) correct++;
  }
  const accuracy = correct / test_.count;
  assert.ok(accuracy > 0.15 && accuracy < 0.5, `nearest-class-mean accuracy ${accuracy}`);
});

test('loadSynthetic: embedded, fixed sizes, mean/std of its training set, subsets', () => {
  const ds = loadSynthetic({ dataDir: '/nonexistent', download: false });
  assert.equal(ds.source, 'embedded');
  assert.equal(ds.classes, 10);
  assert.deepEqual([ds.train.count, ds.test.count], [SYNTHETIC_DEFAULTS.trainCount, SYNTHETIC_DEFAULTS.testCount]);
  const { mean, std } = channelStats(ds.train);
  assert.deepEqual(ds.mean, mean);
  assert.deepEqual(ds.std, std);
  for (let c = 0; c < 3; c++) assert.ok(mean[c]! > 0.2 && mean[c]! < 0.8 && std[c]! > 0.1 && std[c]! < 0.4, `${mean} ${std}`);
  const sub = loadSynthetic({ trainSubset: 100, testSubset: 30, seed: 3 });
  assert.deepEqual([sub.train.count, sub.test.count], [100, 30]);
  assert.deepEqual(sub.mean, ds.mean, 'subsets keep the full set normalisation');
  const h = new Array<number>(10).fill(0);
  for (const l of sub.train.labels) h[l]!++;
  assert.deepEqual(h, new Array<number>(10).fill(10));
});

test('channelStats computes the per-channel mean and population std of pixel/255', () => {
  const images = Uint8Array.from([0, 255, 51, 255, 255, 51]);
  const { mean, std } = channelStats({ count: 2, height: 1, width: 1, channels: 3, images, labels: Int32Array.from([0, 0]) });
  assert.deepEqual(mean.map((v) => +v.toFixed(12)), [0.5, 1, 0.2]);
  assert.deepEqual(std.map((v) => +v.toFixed(12)), [0.5, 0, 0]);
});
