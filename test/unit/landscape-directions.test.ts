/**
 * Filter-normalised directions (src/train/probes/directions.ts) on a real
 * evaluation network: every filter of every weight (conv output channel,
 * depthwise channel, linear output unit) has the norm of the matching weight
 * filter; biases and BatchNorm parameters get zero and stay untouched when
 * the weights are moved; the same seed gives the same directions.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { builtin } from '../../src/genotype/library.js';
import { buildNetwork, type Network } from '../../src/train/network/network.js';
import { filterAxis, filterNorms, normalizeFilters, randomDirection } from '../../src/train/probes/directions.js';
import { PerturbedWeights, weightArrays } from '../../src/train/probes/landscape.js';

let net: Network;
before(async () => {
  await tf.setBackend('cpu');
  net = buildNetwork(builtin('DARTS_V2')!.genotype, { channels: 4, layers: 3, classes: 10, seed: 7 });
});

/** Norm of filter f along `axis`, summed directly over the index arithmetic of a row-major array. */
function directFilterNorm(data: Float32Array, shape: readonly number[], axis: number, f: number): number {
  let sum = 0;
  const strides = shape.map((_, k) => shape.slice(k + 1).reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    if (Math.floor(i / strides[axis]!) % shape[axis]! === f) sum += data[i]! ** 2;
  }
  return Math.sqrt(sum);
}

function assertClose(got: ArrayLike<number>, want: number[]): void {
  assert.equal(got.length, want.length);
  want.forEach((w, i) => assert.ok(Math.abs(got[i]! - w) < 1e-12, `${got[i]} vs ${w}`));
}

test('filter norms follow the tfjs layouts: conv [kh,kw,Cin,Cout] by Cout, depthwise [k,k,C,1] by C, linear [in,out] by out', () => {
  // A 1×1 conv with Cin = 2, Cout = 3: element (cin, cout) sits at cin·3 + cout.
  const conv = new Float32Array([1, 2, 3, 4, 5, 6]);
  assertClose(filterNorms(conv, [1, 1, 2, 3], 3), [Math.hypot(1, 4), Math.hypot(2, 5), Math.hypot(3, 6)]);
  // A 2×1 depthwise over C = 2 (last axis 1): element (kh, c) sits at kh·2 + c.
  const depthwise = new Float32Array([1, 2, 3, 4]);
  assertClose(filterNorms(depthwise, [2, 1, 2, 1], 2), [Math.hypot(1, 3), Math.hypot(2, 4)]);
  assert.equal(filterAxis('linear'), 1);
  assert.equal(filterAxis('vector'), undefined);
  const d = new Float32Array([3, 0, 0, 4, 0, 0]);
  normalizeFilters(d, conv, [1, 1, 2, 3], 3);
  // Filter 0 of d is (3, 4) with norm 5, rescaled to ‖(1, 4)‖; filters 1 and 2 are zero and stay zero.
  assert.ok(Math.abs(Math.hypot(d[0]!, d[3]!) - Math.hypot(1, 4)) < 1e-6);
  assert.ok(Math.abs(d[0]! / d[3]! - 3 / 4) < 1e-6, 'the direction of a filter is kept');
  assert.deepEqual([d[1], d[2], d[4], d[5]], [0, 0, 0, 0]);
});

test('every direction filter has the norm of the matching weight filter; vectors are excluded', () => {
  const weights = weightArrays(net);
  const d = randomDirection(weights, 3, 0);
  let checkedFilters = 0;
  const layouts = new Set<string>();
  for (const [name, w] of weights) {
    const dir = d.get(name)!;
    const axis = filterAxis(w.layout);
    if (axis === undefined) {
      assert.ok(dir.every((x) => x === 0), `${name} (${w.layout}) must have a zero direction`);
      continue;
    }
    layouts.add(w.layout);
    for (let f = 0; f < w.shape[axis]!; f++) {
      const want = directFilterNorm(w.data, w.shape, axis, f);
      const got = directFilterNorm(dir, w.shape, axis, f);
      assert.ok(Math.abs(got - want) <= 1e-5 * Math.max(1, want), `${name} filter ${f}: ${got} vs ${want}`);
      checkedFilters++;
    }
  }
  assert.deepEqual([...layouts].sort(), ['conv', 'depthwise', 'linear']);
  assert.ok(checkedFilters > 100);
});

test('directions are seeded: same seed same numbers, other seed or other axis different', () => {
  const weights = weightArrays(net);
  const a = randomDirection(weights, 11, 0);
  const b = randomDirection(weights, 11, 0);
  const c = randomDirection(weights, 12, 0);
  const second = randomDirection(weights, 11, 1);
  const name = 'cells.0._ops.0.op.1.weight';
  assert.ok(a.has(name));
  assert.deepEqual(Array.from(a.get(name)!), Array.from(b.get(name)!));
  assert.notDeepEqual(Array.from(a.get(name)!), Array.from(c.get(name)!));
  assert.notDeepEqual(Array.from(a.get(name)!), Array.from(second.get(name)!));
  // A network built with a different initialisation seed but the same shape gets directions that differ
  // only by the per-filter scale: the same noise pattern, up to a positive factor per filter.
  const other = buildNetwork(builtin('DARTS_V2')!.genotype, { channels: 4, layers: 3, classes: 10, seed: 99 });
  const o = randomDirection(weightArrays(other), 11, 0).get('classifier.weight')!;
  const m = a.get('classifier.weight')!;
  // classifier.weight is [in, out]: column 0 holds elements 0, out, 2·out, …
  const out = net.params.get('classifier.weight')!.shape[1]!;
  const ratio = o[0]! / m[0]!;
  for (let i = 0; i < m.length; i += out) assert.ok(Math.abs(o[i]! / m[i]! - ratio) < 1e-4);
  other.dispose();
});

test('moving the weights changes only the non-excluded parameters and never the BatchNorm statistics; (0,0) is the trained weights', () => {
  const weights = weightArrays(net);
  const before = new Map([...net.params].map(([n, v]) => [n, v.dataSync().slice() as Float32Array]));
  const buffers = new Map([...net.buffers].map(([n, v]) => [n, v.dataSync().slice() as Float32Array]));
  const d1 = randomDirection(weights, 5, 0);
  const d2 = randomDirection(weights, 5, 1);
  const moved = new PerturbedWeights(net.params, d1, d2);
  moved.moveTo(0.5, -0.25);
  for (const [name, v] of net.params) {
    const now = v.dataSync();
    const was = before.get(name)!;
    const layout = net.store.info.get(name)!.layout;
    if (filterAxis(layout) === undefined) {
      assert.deepEqual(Array.from(now), Array.from(was), `${name} must be untouched`);
    } else {
      const a = d1.get(name)!;
      const b = d2.get(name)!;
      for (let i = 0; i < now.length; i++) assert.ok(Math.abs(now[i]! - (was[i]! + 0.5 * a[i]! - 0.25 * b[i]!)) < 1e-5, name);
    }
  }
  for (const [name, v] of net.buffers) assert.deepEqual(Array.from(v.dataSync()), Array.from(buffers.get(name)!), `${name} must be untouched`);
  moved.moveTo(0, 0);
  for (const [name, v] of net.params) assert.deepEqual(Array.from(v.dataSync()), Array.from(before.get(name)!), `${name} at the origin`);
  moved.dispose();
});
