/**
 * The evaluation network (src/train/network): parameter counts against the
 * core's networkCost, PyTorch naming, the pieces that differ from stock
 * TensorFlow.js (dilated depthwise, average pool, batch norm, drop path), and
 * the whole network on wasm against the cpu reference, forward and gradients,
 * with every operation of the library at tiny sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkCost } from '../../src/genotype/cost.js';
import { builtin, LIBRARY } from '../../src/genotype/library.js';
import { batchNorm, BN_EPS } from '../../src/train/network/batchNorm.js';
import { dropPath } from '../../src/train/network/cell.js';
import { buildNetwork } from '../../src/train/network/network.js';
import { avgPool3x3, dilatedDepthwise } from '../../src/train/network/ops.js';
import { ParamStore } from '../../src/train/network/params.js';
import { ALL_OPS, assertEveryOpMatchesCpu, onBackend, relativeMaxError, seeded, tf } from './train-helpers.js';

test('trainable parameter count equals networkCost for every built-in, with and without the auxiliary head', async () => {
  await tf.setBackend('cpu');
  for (const entry of LIBRARY) {
    const size = { channels: 4, layers: 5, classes: 10, inputSize: 32 };
    const net = buildNetwork(entry.genotype, { ...size, auxiliary: true });
    const cost = networkCost(entry.genotype, size);
    assert.equal(net.paramCount(false), cost.params, entry.name);
    assert.equal(net.paramCount(true), cost.paramsWithAuxiliary, entry.name);
    net.dispose();
  }
  for (const inputSize of [32, 64]) {
    const size = { channels: 6, layers: 6, classes: 200, inputSize };
    const net = buildNetwork(ALL_OPS, size);
    assert.equal(net.paramCount(), networkCost(ALL_OPS, size).params, `all ops at ${inputSize}`);
    net.dispose();
  }
});

test('DARTS_V2 has the published parameter counts (246,106 at C=16, 8 cells; 3,349,342 at C=36, 20 cells)', async () => {
  await tf.setBackend('cpu');
  const darts = builtin('DARTS_V2')!.genotype;
  const small = buildNetwork(darts, { channels: 16, layers: 8, classes: 10 });
  assert.equal(small.paramCount(), 246106);
  small.dispose();
  const full = buildNetwork(darts, { channels: 36, layers: 20, classes: 10 });
  assert.equal(full.paramCount(), 3349342);
  full.dispose();
});

test('parameters carry PyTorch state-dict names and shapes in tfjs layout', async () => {
  await tf.setBackend('cpu');
  const net = buildNetwork(builtin('DARTS_V2')!.genotype, { channels: 4, layers: 5, classes: 10, auxiliary: true });
  const shape = (name: string) => net.params.get(name)?.shape ?? net.buffers.get(name)?.shape;
  assert.deepEqual(shape('stem.0.weight'), [3, 3, 3, 12]);
  assert.deepEqual(shape('stem.1.running_var'), [12]);
  // Cell 0, entry 0 is sep_conv_3x3: depthwise, pointwise, BN, twice.
  assert.deepEqual(shape('cells.0._ops.0.op.1.weight'), [3, 3, 4, 1]);
  assert.deepEqual(shape('cells.0._ops.0.op.6.weight'), [1, 1, 4, 4]);
  assert.deepEqual(shape('cells.0._ops.0.op.7.bias'), [4]);
  // Cell 1 is a reduction (5//3); cell 2 follows it, so its preprocess0 is a FactorizedReduce.
  assert.deepEqual(shape('cells.2.preprocess0.conv_1.weight'), [1, 1, 16, 4]);
  assert.deepEqual(shape('cells.1.preprocess1.op.1.weight'), [1, 1, 16, 8]);
  // DARTS_V2's reduce cell entry 2 is skip_connect from node 2: identity, no parameters.
  assert.ok(![...net.params.keys()].some((n) => n.startsWith('cells.1._ops.2.')));
  assert.deepEqual(shape('auxiliary_head.features.5.weight'), [2, 2, 128, 768]);
  assert.deepEqual(shape('classifier.weight'), [64, 10]);
  net.dispose();
});

test('dilated depthwise (space-to-batch on cpu, dilated kernels on wasm) equals the dilated convolution (strides 1 and 2, odd and even sides)', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await tf.setBackend(backend);
    for (const [k, side] of [[3, 8], [3, 7], [5, 9], [5, 10]] as const) {
      tf.tidy(() => {
        const p = k - 1; // dil_conv: dilation 2, padding 2 or 4
        const x = tf.tensor4d(seeded(2 * side * side * 3, k * side), [2, side, side, 3]);
        const w = tf.tensor4d(seeded(k * k * 3, 7 + k), [k, k, 3, 1]);
        const padded = tf.pad(x, [[0, 0], [p, p], [p, p], [0, 0]]);
        const reference = tf.depthwiseConv2d(padded, w, 1, 'valid', 'NHWC', 2);
        const mine = dilatedDepthwise(x, w, 1, p, 2);
        assert.deepEqual(mine.shape, reference.shape);
        assert.ok(relativeMaxError(reference.dataSync() as Float32Array, mine.dataSync() as Float32Array) < 1e-5, `${backend} k=${k} side=${side}`);
        // Stride 2 keeps every second output of stride 1 (PyTorch: ⌈side/2⌉ of them).
        const strided = dilatedDepthwise(x, w, 2, p, 2);
        const every2 = tf.stridedSlice(reference, [0, 0, 0, 0], [2, side, side, 3], [1, 2, 2, 1]);
        assert.deepEqual(strided.shape, [2, Math.ceil(side / 2), Math.ceil(side / 2), 3]);
        assert.ok(relativeMaxError(every2.dataSync() as Float32Array, strided.dataSync() as Float32Array) < 1e-5);
      });
    }
  }
});

test('dilated depthwise gradients: wasm (dilated kernels) equal cpu (space-to-batch), strides 1 and 2, k 3 and 5', async () => {
  for (const [k, side, stride] of [[3, 8, 1], [3, 7, 2], [5, 9, 1], [5, 10, 2], [3, 16, 2]] as const) {
    const p = 2 * Math.floor(k / 2);
    const xv = seeded(2 * side * side * 5, 40 + k * side);
    const wv = seeded(k * k * 5, 50 + k);
    const make = (): tf.Tensor[] => {
      const x = tf.tensor4d(xv, [2, side, side, 5]);
      const w = tf.tensor4d(wv, [k, k, 5, 1]);
      // Distinct weights per output cell, so every position's gradient matters.
      const f = (a: tf.Tensor, b: tf.Tensor) => {
        const y = dilatedDepthwise(a as tf.Tensor4D, b, stride, p, 2);
        return tf.sum(tf.mul(y, tf.reshape(tf.range(1, 1 + y.size), y.shape)));
      };
      const { value, grads } = tf.valueAndGrads(f as (...a: tf.Tensor[]) => tf.Scalar)([x, w]);
      return [value, ...grads];
    };
    const cpu = await onBackend('cpu', make);
    const wasm = await onBackend('wasm', make);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(wasm[i]!.shape, cpu[i]!.shape);
      const err = relativeMaxError(cpu[i]!.values, wasm[i]!.values);
      assert.ok(err < 1e-5, `k=${k} side=${side} stride=${stride} output ${i}: ${err}`);
    }
  }
});

test('avg_pool_3x3 leaves padding out of both the average and its gradient', async () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    await tf.setBackend(backend);
    tf.tidy(() => {
      const x = tf.tensor4d(seeded(16, 3), [1, 4, 4, 1]);
      const xs = x.dataSync();
      const y = avgPool3x3(x, 1).dataSync();
      // Corner: mean of the 4 real cells; edge: of 6; inside: of 9.
      assert.ok(Math.abs(y[0]! - (xs[0]! + xs[1]! + xs[4]! + xs[5]!) / 4) < 1e-6);
      assert.ok(Math.abs(y[1]! - (xs[0]! + xs[1]! + xs[2]! + xs[4]! + xs[5]! + xs[6]!) / 6) < 1e-6);
      // d(out[0,0])/d(x[0,0]) = 1/4 (the corner window has 4 real cells), and x[0,0]
      // also feeds the windows at (0,1) and (1,0) (6 cells) and (1,1) (9 cells).
      const g = tf.grad((t: tf.Tensor) => tf.sum(avgPool3x3(t as tf.Tensor4D, 1)))(x).dataSync();
      assert.ok(Math.abs(g[0]! - (1 / 4 + 2 / 6 + 1 / 9)) < 1e-6, `${backend}: ${g[0]}`);
      const g2 = tf.grad((t: tf.Tensor) => tf.sum(avgPool3x3(t as tf.Tensor4D, 2)))(x).dataSync();
      assert.ok(Math.abs(g2[0]! - 1 / 4) < 1e-6, `${backend} stride 2: ${g2[0]}`);
    });
  }
});

test('batch norm: the closed-form gradient equals autodiff of the textbook formula; running statistics follow PyTorch', async () => {
  await tf.setBackend('cpu');
  const store = new ParamStore(1);
  const bn = {
    gamma: store.param('bn.weight', [3], 'vector', 'fan_in', 1),
    beta: store.param('bn.bias', [3], 'vector', 'fan_in', 1),
    runningMean: store.buffer('bn.running_mean', 3, 0.5),
    runningVar: store.buffer('bn.running_var', 3, 2),
  };
  const xv = seeded(2 * 3 * 4 * 3, 11, -2, 3);
  const dyv = seeded(2 * 3 * 4 * 3, 12);
  tf.tidy(() => {
    const x = tf.tensor4d(xv, [2, 3, 4, 3]);
    const dy = tf.tensor4d(dyv, [2, 3, 4, 3]);
    const textbook = (t: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const { mean, variance } = tf.moments(t, [0, 1, 2]);
      return tf.sum(tf.mul(dy, tf.add(tf.mul(tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, BN_EPS))), g), b)));
    };
    const mine = (t: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(dy, batchNorm(t as tf.Tensor4D, { ...bn, gamma: g as tf.Variable, beta: b as tf.Variable }, { training: true, updateStats: false })));
    const expected = tf.grads(textbook)([x, bn.gamma, bn.beta]);
    const actual = tf.grads(mine)([x, bn.gamma, bn.beta]);
    for (let i = 0; i < 3; i++) {
      assert.ok(relativeMaxError(expected[i]!.dataSync() as Float32Array, actual[i]!.dataSync() as Float32Array) < 1e-5, `grad ${i}`);
    }
  });
  // One training step moves the running statistics by momentum 0.1, with the unbiased variance.
  tf.tidy(() => batchNorm(tf.tensor4d(xv, [2, 3, 4, 3]), bn, { training: true }));
  const m = 24;
  for (let c = 0; c < 3; c++) {
    const vals = Array.from({ length: m }, (_, i) => xv[i * 3 + c]!);
    const mean = vals.reduce((a, b) => a + b, 0) / m;
    const unbiased = vals.reduce((a, b) => a + (b - mean) ** 2, 0) / (m - 1);
    assert.ok(Math.abs(bn.runningMean.dataSync()[c]! - (0.9 * 0.5 + 0.1 * mean)) < 1e-5);
    assert.ok(Math.abs(bn.runningVar.dataSync()[c]! - (0.9 * 2 + 0.1 * unbiased)) < 1e-5);
  }
  // Evaluation mode normalises with the running statistics.
  tf.tidy(() => {
    const y = batchNorm(tf.tensor4d(xv, [2, 3, 4, 3]), bn, { training: false }).dataSync();
    const [g, b, rm, rv] = [bn.gamma, bn.beta, bn.runningMean, bn.runningVar].map((v) => v.dataSync());
    for (let i = 0; i < 6; i++) {
      const c = i % 3;
      const expected = ((xv[i]! - rm![c]!) / Math.sqrt(rv![c]! + BN_EPS)) * g![c]! + b![c]!;
      assert.ok(Math.abs(y[i]! - expected) < 1e-5);
    }
  });
  store.dispose();
});

test('drop path zeroes whole samples with probability p and scales the others by 1/(1−p)', async () => {
  await tf.setBackend('cpu');
  let state = 0;
  const draws = [0.1, 0.95, 0.5, 0.79, 0.81];
  const x = tf.ones([5, 2, 2, 3]) as tf.Tensor4D;
  const y = dropPath(x, { prob: 0.2, random: () => draws[state++]! }).dataSync();
  const perSample = Array.from({ length: 5 }, (_, i) => y[i * 12]);
  assert.deepEqual(perSample, [1.25, 0, 1.25, 1.25, 0]);
  for (let i = 0; i < 5; i++) assert.ok(y.slice(i * 12, i * 12 + 12).every((v) => v === perSample[i]));

  // In the network: masks from the given source, identity ops exempt, no effect in evaluation.
  const net = buildNetwork(builtin('DARTS_V2')!.genotype, { channels: 4, layers: 3, classes: 5 });
  const input = tf.tensor4d(seeded(2 * 8 * 8 * 3, 5), [2, 8, 8, 3]);
  const run = (prob: number, training: boolean, random: () => number) =>
    net.forward(input, { training, updateStats: false, dropPathProb: prob, random }).logits.dataSync();
  const a = run(0.3, true, () => 0.5);
  const b = run(0, true, () => 0.5);
  // random() = 0.5 < keep: every non-identity op output is scaled by 1/0.7, so logits differ.
  assert.ok(relativeMaxError(b as Float32Array, a as Float32Array) > 1e-3);
  let calls = 0;
  run(0.3, true, () => (calls++, 0.5));
  // 3 cells: normal, reduce, reduce. DARTS_V2's normal cell has 6 non-identity ops (its
  // 2 skips are identities); its reduce cell 5 (the max pools; its skips read node 2,
  // so they are stride-1 identities). One draw per op and sample.
  assert.equal(calls, (6 + 5 + 5) * 2);
  assert.deepEqual(Array.from(run(0.3, false, () => 0)), Array.from(run(0, false, () => 0)));
  net.dispose();
  x.dispose();
  input.dispose();
});

test('PyTorch-layout export and import round-trip through a network with other weights', async () => {
  await tf.setBackend('cpu');
  const a = buildNetwork(ALL_OPS, { channels: 4, layers: 3, classes: 5, seed: 1 });
  const b = buildNetwork(ALL_OPS, { channels: 4, layers: 3, classes: 5, seed: 2 });
  const x = tf.tensor4d(seeded(2 * 8 * 8 * 3, 9), [2, 8, 8, 3]);
  tf.tidy(() => {
    a.forward(x, { training: true }); // moves running statistics away from their initial values
  });
  const state = a.store.exportTorch();
  assert.deepEqual(state.get('stem.0.weight')!.shape, [12, 3, 3, 3]);
  assert.deepEqual(state.get('cells.0._ops.0.op.1.weight')!.shape, [4, 1, 3, 3]);
  assert.deepEqual(state.get('classifier.weight')!.shape[1], a.params.get('classifier.weight')!.shape[0]);
  b.store.importTorch(state);
  for (const training of [false, true]) {
    const la = a.forward(x, { training, updateStats: false }).logits.dataSync();
    const lb = b.forward(x, { training, updateStats: false }).logits.dataSync();
    assert.deepEqual(Array.from(lb), Array.from(la));
  }
  a.dispose();
  b.dispose();
  x.dispose();
});

test('every operation: forward and all gradients on wasm equal the cpu reference; no tensor leaks', async () => {
  await assertEveryOpMatchesCpu('wasm');
});
