/**
 * The gradient-variance probe (src/train/probes/gradVariance.ts) on a tiny
 * linear model whose per-batch gradients are worked out by hand.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { gradientVariance } from '../../src/train/probes/gradVariance.js';

before(async () => {
  await tf.setBackend('cpu');
});

interface Sample {
  x: [number, number];
  t: number;
}

test('variance = mean ‖g_k − ḡ‖² over parameters, ratio = variance / ‖ḡ‖², weights untouched', async () => {
  // Model r = w·x + b − t, loss ½r²: ∂/∂w = r·x, ∂/∂b = r. With w = (1, 2), b = 0.5:
  //   x=(1,0), t=1 → r = 0.5  → g = (0.5, 0, 0.5)
  //   x=(0,1), t=0 → r = 2.5  → g = (0, 2.5, 2.5)
  //   x=(1,1), t=4 → r = −0.5 → g = (−0.5, −0.5, −0.5)
  // ḡ = (0, 2/3, 5/6); Σ‖g_k − ḡ‖² = 29/36 + 221/36 + 122/36 = 31/3 → variance 31/9;
  // ‖ḡ‖² = 41/36; ratio = 124/41.
  const w = tf.variable(tf.tensor1d([1, 2]), true, 'probe-test-w');
  const b = tf.variable(tf.tensor1d([0.5]), true, 'probe-test-b');
  // A non-trainable variable (a BatchNorm running mean, say) has no gradient to count.
  const frozen = tf.variable(tf.tensor1d([7]), false, 'probe-test-frozen');
  const params = new Map([
    ['w', w],
    ['b', b],
    ['frozen', frozen],
  ]);
  const samples: Sample[] = [
    { x: [1, 0], t: 1 },
    { x: [0, 1], t: 0 },
    { x: [1, 1], t: 4 },
  ];
  const result = await gradientVariance(params, samples, (s) => {
    const r = tf.sub(tf.add(tf.sum(tf.mul(w, tf.tensor1d(s.x))), tf.sum(b)), s.t);
    return tf.mul(0.5, tf.square(r)) as tf.Scalar;
  });
  assert.equal(result.batches, 3);
  assert.ok(Math.abs(result.variance - 31 / 9) < 1e-5, `variance ${result.variance}`);
  assert.ok(Math.abs(result.meanGradNormSq - 41 / 36) < 1e-5, `‖ḡ‖² ${result.meanGradNormSq}`);
  assert.ok(Math.abs(result.ratio - 124 / 41) < 1e-5, `ratio ${result.ratio}`);
  assert.deepEqual(Array.from(w.dataSync()), [1, 2]);
  assert.deepEqual(Array.from(b.dataSync()), [0.5]);
});

test('identical batches have zero variance; no batch is an error', async () => {
  const w = tf.variable(tf.tensor1d([3]), true, 'probe-test-w2');
  const params = new Map([['w', w]]);
  const same = await gradientVariance(params, [1, 1, 1, 1], (x) => tf.mul(tf.sum(w), x) as tf.Scalar);
  assert.equal(same.variance, 0);
  assert.equal(same.meanGradNormSq, 1);
  assert.equal(same.ratio, 0);
  await assert.rejects(gradientVariance(params, [], (x: number) => tf.mul(tf.sum(w), x) as tf.Scalar), /at least one batch/);
});
