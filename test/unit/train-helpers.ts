/**
 * Shared by the train-*.test.ts files: seeded data, running one computation
 * on a named backend, and comparing results. Not a test file itself.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
// tfjs-core alone registers no gradients; the union package would.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { Cell, Genotype } from '../../src/genotype/model.js';
import type { BackendRecord } from '../../src/shared/backendTypes.js';
import { selectBackend } from '../../src/train/backend.js';
import { registerWasmKernels } from '../../src/train/kernels/index.js';
import { buildNetwork } from '../../src/train/network/network.js';
import assert from 'node:assert/strict';

registerWasmKernels();

/** Uniform values in [lo, hi) from a fixed-seed LCG (reproducible, no Math.random). */
export function seeded(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}

export interface Result {
  readonly shape: number[];
  readonly values: Float32Array;
}

/** Runs `make` with `backend` active; returns the values of each tensor it returns (read with `await data()`, which every backend has). */
export async function onBackend(backend: string, make: () => tf.Tensor | tf.Tensor[]): Promise<Result[]> {
  await tf.setBackend(backend);
  await tf.ready();
  const made = tf.tidy(make);
  const out = Array.isArray(made) ? made : [made];
  try {
    return await Promise.all(out.map(async (t) => ({ shape: t.shape, values: (await t.data()) as Float32Array })));
  } finally {
    tf.dispose(out);
  }
}

/** Largest |a − b| over max(|a|) (1 when a is all zeros). */
export function relativeMaxError(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / (scale || 1);
}

/** ‖a − b‖₂ / ‖a‖₂ (‖a‖ = 1 when a is all zeros). */
export function relativeL2(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    norm += a[i]! ** 2;
  }
  return Math.sqrt(diff) / (Math.sqrt(norm) || 1);
}

export { tf };

/** Mean softmax cross-entropy of integer labels (PyTorch's nn.CrossEntropyLoss), for the tests' losses. */
export function meanCrossEntropy(logits: tf.Tensor2D, labels: number[]): tf.Scalar {
  const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), logits.shape[1]);
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/**
 * The gradient of `loss` with respect to every variable of `params`, by
 * parameter name, with the loss value. Parameters the loss does not reach
 * (operations feeding dead nodes) get zeros, as PyTorch's would stay unset.
 */
export function namedGrads(loss: () => tf.Scalar, params: ReadonlyMap<string, tf.Variable>): { value: tf.Scalar; grads: Map<string, tf.Tensor> } {
  const { value, grads } = tf.variableGrads(loss, [...params.values()]);
  const byName = new Map<string, tf.Tensor>();
  for (const [name, v] of params) {
    byName.set(name, grads[v.name] ?? tf.zerosLike(v));
  }
  return { value, grads: byName };
}

export function cellOf(pairs: Array<[string, number]>, concat: number[]): Cell {
  return { edges: pairs.map(([op, input]) => ({ op, input })), concat };
}

/** Every operation of the built-in library, at stride 1 and 2, with a loose-end concat. */
export const ALL_OPS: Genotype = {
  normal: cellOf(
    [['sep_conv_3x3', 0], ['dil_conv_5x5', 1], ['max_pool_3x3', 0], ['avg_pool_3x3', 2], ['conv_7x1_1x7', 1], ['none', 3],
      ['sep_conv_7x7', 2], ['skip_connect', 4], ['dil_conv_3x3', 3], ['sep_conv_5x5', 0]],
    [4, 5, 6],
  ),
  reduce: cellOf(
    [['sep_conv_5x5', 0], ['dil_conv_3x3', 1], ['avg_pool_3x3', 0], ['max_pool_3x3', 1], ['skip_connect', 0], ['conv_7x1_1x7', 1],
      ['none', 1], ['dil_conv_5x5', 0], ['sep_conv_7x7', 1], ['sep_conv_3x3', 2]],
    [2, 3, 4, 6],
  ),
};

/**
 * Every operation on `backend` against the cpu reference: eval logits (1e-4
 * relative), training loss (1e-4) and every parameter gradient (relative L2
 * 1e-3) of the all-operations network, with no tensor left behind.
 */
export async function assertEveryOpMatchesCpu(backend: string): Promise<void> {
  const labels = [1, 3];
  const xv = seeded(2 * 16 * 16 * 3, 21);
  const run = async (on: string) => {
    await tf.setBackend(on);
    const before = tf.memory().numTensors;
    const results = await onBackend(on, () => {
      const net = buildNetwork(ALL_OPS, { channels: 4, layers: 3, classes: 5, seed: 3 });
      const x = tf.tensor4d(xv, [2, 16, 16, 3]);
      const evalLogits = net.forward(x, { training: false }).logits;
      const { value, grads } = namedGrads(() => meanCrossEntropy(net.forward(x, { training: true, updateStats: false }).logits, labels), net.params);
      net.dispose();
      return [evalLogits, value, ...grads.values()];
    });
    assert.equal(tf.memory().numTensors, before, `${on}: tensors left behind`);
    return results;
  };
  const cpu = await run('cpu');
  const other = await run(backend);
  assert.equal(other.length, cpu.length);
  assert.ok(relativeMaxError(cpu[0]!.values, other[0]!.values) < 1e-4, `eval logits: ${relativeMaxError(cpu[0]!.values, other[0]!.values)}`);
  assert.ok(Math.abs(cpu[1]!.values[0]! - other[1]!.values[0]!) < 1e-4 * Math.abs(cpu[1]!.values[0]!), 'loss');
  for (let i = 2; i < cpu.length; i++) {
    assert.deepEqual(other[i]!.shape, cpu[i]!.shape);
    const err = relativeL2(cpu[i]!.values, other[i]!.values);
    assert.ok(err < 1e-3, `gradient ${i - 2}: relative L2 ${err}`);
  }
}

/**
 * Selects webgpu for the webgpu-*.test.ts files: its record, or else the
 * reason those tests skip with (no adapter: on Linux without a GPU,
 * scripts/setup-lavapipe.sh provides one).
 */
export async function tryWebGpu(): Promise<{ readonly record?: BackendRecord; readonly unavailable?: string }> {
  try {
    return { record: await selectBackend('tfjs-webgpu') };
  } catch (error) {
    return { unavailable: `no WebGPU adapter: ${(error as Error).message} (on Linux without a GPU run scripts/setup-lavapipe.sh)` };
  }
}
