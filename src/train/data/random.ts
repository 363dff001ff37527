/**
 * Draws the data pipeline needs on top of numpy's legacy generator, with
 * numpy's own semantics so that orders and augmentations can be reproduced
 * (and compared) outside this program.
 */
import type { NumpyRandomState } from '../../genotype/numpyRandom.js';

/** `RandomState.random_sample()`: 53 random bits from two 32-bit outputs (genrand_res53). */
export function randomDouble(rng: NumpyRandomState): number {
  const a = rng.randomUint32() >>> 5;
  const b = rng.randomUint32() >>> 6;
  return (a * 67108864 + b) / 9007199254740992;
}

/**
 * `RandomState.shuffle(x)` in place: Fisher–Yates from the end, each swap
 * partner drawn with the masked bounded draw on [0, i].
 */
export function shuffleInPlace(values: { [i: number]: number; readonly length: number }, rng: NumpyRandomState): void {
  for (let i = values.length - 1; i > 0; i--) {
    const j = rng.randomInterval(i);
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  }
}

/** `RandomState.permutation(n)`. */
export function permutation(n: number, rng: NumpyRandomState): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  shuffleInPlace(out, rng);
  return out;
}
