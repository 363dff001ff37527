import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NumpyRandomState } from '../../src/genotype/numpyRandom.js';
import { classBalancedOrder, takeSubset } from '../../src/train/data/subset.js';
import type { ImageSet } from '../../src/shared/datasetTypes.js';

/** Unbalanced labels (class c has 5 + 3c images), image n filled with n % 256. */
function unbalanced(classes: number): ImageSet {
  const labels: number[] = [];
  for (let c = 0; c < classes; c++) for (let k = 0; k < 5 + 3 * c; k++) labels.push(c);
  // Interleave so that file order is not class order.
  labels.sort((a, b) => ((a * 7919) % 13) - ((b * 7919) % 13) || a - b);
  const count = labels.length;
  const images = new Uint8Array(count * 2 * 2);
  for (let n = 0; n < count; n++) images.fill(n % 256, n * 4, n * 4 + 4);
  return { count, height: 2, width: 2, channels: 1, images, labels: Int32Array.from(labels) };
}

const histogram = (labels: Int32Array, classes: number) => {
  const h = new Array<number>(classes).fill(0);
  for (const l of labels) h[l]!++;
  return h;
};

test('classBalancedOrder is a permutation whose every prefix is balanced while classes last', () => {
  const set = unbalanced(6);
  const order = classBalancedOrder(set.labels, 6, new NumpyRandomState(4));
  assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: set.count }, (_, i) => i));
  const sizes = histogram(set.labels, 6);
  const counts = new Array<number>(6).fill(0);
  for (let k = 0; k < order.length; k++) {
    counts[set.labels[order[k]!]!]!++;
    // A class may fall more than one behind another only once it has run out.
    for (let a = 0; a < 6; a++) for (let b = 0; b < 6; b++) {
      if (counts[a]! > counts[b]! + 1) assert.equal(counts[b], sizes[b], `prefix ${k + 1}: ${counts}`);
    }
  }
});

test('takeSubset: class-balanced, in file order, the images travel with their labels', () => {
  const set = unbalanced(5);
  const sub = takeSubset(set, 23, 5, new NumpyRandomState(0));
  assert.equal(sub.count, 23);
  const h = histogram(sub.labels, 5);
  assert.ok(Math.max(...h) - Math.min(...h) <= 1, `${h}`);
  // Find each chosen image by its fill value: indices ascend and labels match.
  let last = -1;
  for (let k = 0; k < sub.count; k++) {
    const fill = sub.images[k * 4]!;
    const n = Array.from({ length: set.count }, (_, i) => i).find((i) => i > last && i % 256 === fill)!;
    assert.ok(n > last);
    assert.equal(sub.labels[k], set.labels[n]);
    last = n;
  }
});

test('takeSubset is deterministic per seed and differs across seeds', () => {
  const set = unbalanced(4);
  const pick = (seed: number) => Array.from(takeSubset(set, 12, 4, new NumpyRandomState(seed)).images);
  assert.deepEqual(pick(8), pick(8));
  assert.notDeepEqual(pick(8), pick(9));
});

test('a subset larger than a small class takes all of it and balances the rest', () => {
  const set = unbalanced(3); // 5, 8, 11 images
  const sub = takeSubset(set, 21, 3, new NumpyRandomState(1));
  assert.deepEqual(histogram(sub.labels, 3), [5, 8, 8]);
});

test('bad subset sizes and labels are refused', () => {
  const set = unbalanced(3);
  assert.throws(() => takeSubset(set, 0, 3, new NumpyRandomState(0)), /positive/);
  assert.throws(() => takeSubset(set, 2.5, 3, new NumpyRandomState(0)), /positive/);
  assert.throws(() => takeSubset(set, set.count + 1, 3, new NumpyRandomState(0), 'training images'), /more than the 24 there are/);
  assert.throws(() => classBalancedOrder(Int32Array.from([0, 3]), 3, new NumpyRandomState(0)), /label 3 of image 1/);
});
