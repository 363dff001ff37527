/**
 * The optimiser pieces (src/train/optim.ts) against numbers worked out by hand
 * from PyTorch's definitions of SGD, clip_grad_norm_, CosineAnnealingLR and
 * cross-entropy.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { clipGradNorm, cosineLr, countCorrect, crossEntropy, SgdMomentum } from '../../src/train/optim.js';

before(async () => {
  await tf.setBackend('cpu');
});

function close(actual: ArrayLike<number>, expected: number[], tolerance = 1e-6): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tolerance, `[${i}] ${actual[i]} ≠ ${expected[i]}`);
  }
}

test('SGD with momentum and weight decay follows PyTorch: buf = d_p on the first step, then momentum·buf + d_p', () => {
  const p = tf.variable(tf.tensor1d([1, -2]), true, 'optim-test-p');
  const params = new Map([['p', p]]);
  const sgd = new SgdMomentum(params, { momentum: 0.9, weightDecay: 0.01 });
  // d_p = [0.5, 0.25] + 0.01·[1, −2] = [0.51, 0.23]; p −= 0.1·d_p.
  sgd.step(new Map([['p', tf.tensor1d([0.5, 0.25])]]), 0.1);
  close(p.dataSync(), [0.949, -2.023]);
  // d_p = [−1, 0.5] + 0.01·[0.949, −2.023] = [−0.99051, 0.47977];
  // buf = 0.9·[0.51, 0.23] + d_p = [−0.53151, 0.68677]; p −= 0.05·buf.
  sgd.step(new Map([['p', tf.tensor1d([-1, 0.5])]]), 0.05);
  close(p.dataSync(), [0.9755755, -2.0573385]);
  sgd.dispose();
  p.dispose();
});

test('the optimiser state round-trips: a restored optimiser takes the same next step', async () => {
  const a = tf.variable(tf.tensor1d([0.3, 0.7, -1]), true, 'optim-test-a');
  const b = tf.variable(tf.tensor1d([0.3, 0.7, -1]), true, 'optim-test-b');
  const first = new SgdMomentum(new Map([['w', a]]), { momentum: 0.9, weightDecay: 3e-4 });
  first.step(new Map([['w', tf.tensor1d([1, 2, 3])]]), 0.025);
  const second = new SgdMomentum(new Map([['w', b]]), { momentum: 0.9, weightDecay: 3e-4 });
  b.assign(a);
  second.setState(await first.getState());
  first.step(new Map([['w', tf.tensor1d([-3, 0.5, 2])]]), 0.02);
  second.step(new Map([['w', tf.tensor1d([-3, 0.5, 2])]]), 0.02);
  assert.deepEqual(Array.from(b.dataSync()), Array.from(a.dataSync()));
  assert.throws(() => second.setState({ buffers: new Map([['w', { shape: [2], data: new Float32Array(2) }]]) }), /shape/);
  first.dispose();
  second.dispose();
});

test('gradient-norm clipping scales all gradients together by max/(‖g‖ + 1e-6), only when above the maximum', async () => {
  const grads = new Map<string, tf.Tensor>([
    ['a', tf.tensor1d([3])],
    ['b', tf.tensor2d([[4]])],
  ]);
  const clipped = await clipGradNorm(grads, 1);
  assert.equal(clipped.totalNorm, 5);
  close(clipped.grads.get('a')!.dataSync(), [3 / (5 + 1e-6)]);
  close(clipped.grads.get('b')!.dataSync(), [4 / (5 + 1e-6)]);
  assert.deepEqual(clipped.grads.get('b')!.shape, [1, 1]);
  const untouched = await clipGradNorm(grads, 10);
  close(untouched.grads.get('a')!.dataSync(), [3], 0);
  close(untouched.grads.get('b')!.dataSync(), [4], 0);
  const nan = await clipGradNorm(new Map([['a', tf.tensor1d([NaN, 1])]]), 5);
  assert.ok(Number.isNaN(nan.totalNorm));
});

test('cosine annealing per epoch: lr0 at epoch 0, the midpoint halfway, lr_min at the end', () => {
  assert.equal(cosineLr(0, 10, 0.1), 0.1);
  assert.ok(Math.abs(cosineLr(5, 10, 0.1) - 0.05) < 1e-12);
  assert.ok(Math.abs(cosineLr(10, 10, 0.1)) < 1e-12);
  assert.ok(Math.abs(cosineLr(5, 10, 0.1, 0.01) - 0.055) < 1e-12);
  // cos(π/4) = √2/2: lr = 0.025·(1 + √2/2)/2 at epoch 150 of 600.
  assert.ok(Math.abs(cosineLr(150, 600, 0.025) - (0.025 * (1 + Math.SQRT1_2)) / 2) < 1e-12);
});

test('cross-entropy is the mean negative log-softmax at the label; accuracy counts argmax hits', async () => {
  // Row 1: softmax(0, ln 3) = (1/4, 3/4), label 1 → −ln(3/4). Row 2: label 0 → ln 4.
  const logits = tf.tensor2d([
    [0, Math.log(3)],
    [0, Math.log(3)],
  ]);
  const loss = crossEntropy(logits, tf.tensor1d([1, 0], 'int32'));
  close(loss.dataSync(), [(-Math.log(3 / 4) + Math.log(4)) / 2], 1e-6);
  assert.equal(await countCorrect(logits, Int32Array.from([1, 0])), 1);
  assert.equal(await countCorrect(logits, Int32Array.from([1, 1])), 2);
});
