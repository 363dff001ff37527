import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NumpyRandomState } from '../../src/genotype/numpyRandom.js';
import { permutation, randomDouble } from '../../src/train/data/random.js';

// Produced by numpy itself; see data-numpy-oracle.py next to it.
interface Oracle {
  permutation: { seed: number; n: number; values: number[] }[];
  random_sample: { seed: number; values: number[] }[];
  state: { seed: number; draws: number; key: number[]; pos: number; next: number[] }[];
}
const oracle = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'data-numpy-oracle.json'), 'utf8')) as Oracle;

test('permutation(n) is numpy RandomState.permutation, bit for bit', () => {
  assert.ok(oracle.permutation.some((p) => p.n === 1000));
  for (const { seed, n, values } of oracle.permutation) {
    assert.deepEqual(Array.from(permutation(n, new NumpyRandomState(seed))), values, `seed ${seed} n ${n}`);
  }
});

test('randomDouble is numpy random_sample (53-bit doubles)', () => {
  for (const { seed, values } of oracle.random_sample) {
    const rng = new NumpyRandomState(seed);
    assert.deepEqual(values.map(() => randomDouble(rng)), values, `seed ${seed}`);
  }
});

test("getState() equals numpy's get_state() key and pos, across a refill", () => {
  for (const { seed, draws, key, pos } of oracle.state) {
    const rng = new NumpyRandomState(seed);
    for (let i = 0; i < draws; i++) rng.randint(0, 10);
    const state = rng.getState();
    assert.equal(state.pos, pos, `seed ${seed}`);
    assert.deepEqual(state.key, key, `seed ${seed}`);
  }
});

test("setState() with numpy's state continues numpy's stream", () => {
  for (const { key, pos, next } of oracle.state) {
    const rng = new NumpyRandomState(0);
    rng.setState({ key, pos });
    assert.deepEqual(next.map(() => rng.randint(0, 1000)), next);
  }
});

test('a snapshot survives JSON and restores the exact stream; the source is not aliased', () => {
  const a = new NumpyRandomState(99);
  for (let i = 0; i < 1000; i++) a.randomUint32();
  const snapshot = JSON.parse(JSON.stringify(a.getState())) as ReturnType<NumpyRandomState['getState']>;
  const expected = Array.from({ length: 700 }, () => a.randomUint32());
  const b = new NumpyRandomState(1);
  b.setState(snapshot);
  assert.deepEqual(Array.from({ length: 700 }, () => b.randomUint32()), expected);
  // Drawing from `a` after the snapshot did not change the snapshot.
  const c = new NumpyRandomState(2);
  c.setState(snapshot);
  assert.equal(c.randomUint32(), expected[0]);
});

test('setState rejects malformed states', () => {
  const rng = new NumpyRandomState(0);
  const { key } = rng.getState();
  assert.throws(() => rng.setState({ key: key.slice(1), pos: 0 }), /624/);
  assert.throws(() => rng.setState({ key, pos: 625 }), /pos/);
  assert.throws(() => rng.setState({ key: [...key.slice(0, 623), -1], pos: 3 }), /key\[623\]/);
});
