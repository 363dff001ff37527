/**
 * Subsets for quick runs (`--train-subset N --test-subset M`): the first N of
 * a seeded, class-balanced permutation, so that any N keeps the classes as
 * even as possible (counts differ by at most one while every class still has
 * images left).
 */
import type { NumpyRandomState } from '../../genotype/numpyRandom.js';
import type { ImageSet } from '../../shared/datasetTypes.js';
import { shuffleInPlace } from './random.js';

/**
 * A permutation of 0..labels.length-1 made of rounds: round r holds the r-th
 * image (after a per-class shuffle) of every class that has one, the classes
 * of each round in a fresh random order.
 */
export function classBalancedOrder(labels: Int32Array, classes: number, rng: NumpyRandomState): Int32Array {
  const byClass: number[][] = Array.from({ length: classes }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i]!;
    if (label < 0 || label >= classes) throw new RangeError(`label ${label} of image ${i} is outside [0, ${classes})`);
    byClass[label]!.push(i);
  }
  for (const members of byClass) shuffleInPlace(members, rng);
  const order = new Int32Array(labels.length);
  let filled = 0;
  for (let round = 0; filled < labels.length; round++) {
    const present: number[] = [];
    for (let c = 0; c < classes; c++) if (byClass[c]!.length > round) present.push(c);
    shuffleInPlace(present, rng);
    for (const c of present) order[filled++] = byClass[c]![round]!;
  }
  return order;
}

/** Copies the listed images (in the given order) into a new set. */
export function selectImages(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const size = set.height * set.width * set.channels;
  const images = new Uint8Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    images.set(set.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = set.labels[i]!;
  }
  return { count: indices.length, height: set.height, width: set.width, channels: set.channels, images, labels };
}

/**
 * The first `n` of a class-balanced permutation, kept in their original file
 * order (the batch iterator shuffles anyway; the test set stays in order).
 */
export function takeSubset(set: ImageSet, n: number, classes: number, rng: NumpyRandomState, what = 'images'): ImageSet {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`a subset needs a positive whole number of ${what}, got ${n}`);
  if (n > set.count) throw new RangeError(`a subset of ${n} ${what} asks for more than the ${set.count} there are`);
  const chosen = classBalancedOrder(set.labels, classes, rng).slice(0, n).sort();
  return selectImages(set, chosen);
}
