import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NumpyRandomState } from '../../src/genotype/numpyRandom.js';

// Sequences produced by numpy's legacy generator itself; see the .py next to it.
interface Oracle {
  raw: { seed: number; values: number[] }[];
  choice: { seed: number; n: number; values: number[] }[];
  randint: { seed: number; low: number; high: number; values: number[] }[];
  mixed: { seed: number; draws: { n: number; value: number }[] }[];
}
const oracle = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'sampler-numpy-oracle.json'), 'utf8'),
) as Oracle;

test('seed(s) then raw 32-bit outputs match numpy, across the 624-word refill', () => {
  assert.ok(oracle.raw.some((r) => r.seed === 0) && oracle.raw.some((r) => r.seed === 2 ** 32 - 1));
  for (const { seed, values } of oracle.raw) {
    const rs = new NumpyRandomState(seed);
    assert.deepEqual(values.map(() => rs.randomUint32()), values, `seed ${seed}`);
  }
});

test('MT19937 reference value: seed 5489 gives 3499211612 first', () => {
  assert.equal(new NumpyRandomState(5489).randomUint32(), 3499211612);
});

test('choice(n, size) matches numpy for bounds 1 … 2**32, powers of two or not', () => {
  for (const { seed, n, values } of oracle.choice) {
    assert.deepEqual(new NumpyRandomState(seed).choice(n, values.length), values, `seed ${seed} n ${n}`);
  }
});

test('randint(low, high) matches numpy, negative bounds and full 32-bit ranges included', () => {
  for (const { seed, low, high, values } of oracle.randint) {
    const rs = new NumpyRandomState(seed);
    assert.deepEqual(values.map(() => rs.randint(low, high)), values, `seed ${seed} [${low}, ${high})`);
  }
});

test('one stream of choice(list, 1) with changing populations matches numpy', () => {
  for (const { seed, draws } of oracle.mixed) {
    const rs = new NumpyRandomState(seed);
    for (const [i, { n, value }] of draws.entries()) {
      const items = Array.from({ length: n }, (_, k) => k);
      assert.equal(rs.choiceFrom(items), value, `seed ${seed} draw ${i}`);
    }
  }
});

test('a population of one consumes no draw, as in numpy', () => {
  const a = new NumpyRandomState(9);
  const b = new NumpyRandomState(9);
  assert.equal(a.choiceIndex(1), 0);
  assert.equal(a.randomUint32(), b.randomUint32());
});

test('out-of-range seeds and bounds are refused like numpy refuses them', () => {
  assert.throws(() => new NumpyRandomState(-1), RangeError);
  assert.throws(() => new NumpyRandomState(2 ** 32), RangeError);
  assert.throws(() => new NumpyRandomState(1.5), RangeError);
  assert.throws(() => new NumpyRandomState(0).choiceIndex(0), RangeError);
  assert.throws(() => new NumpyRandomState(0).randint(3, 3), RangeError);
});
