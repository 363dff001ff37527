/**
 * Data-parallel training threads (src/train/parallel) on the wasm backend at
 * tiny sizes: a step split over threads computes the one-thread step's
 * loss, gradients and batch-norm running statistics (whole-batch statistics,
 * drop path drawn for the whole batch) within float32 rounding of the
 * different summation order, and a thread that fails ends the step with its
 * rank and error, never a hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { builtin } from '../../src/genotype/library.js';
import { mulberry32 } from '../../src/shared/mulberry32.js';
import { selectBackend } from '../../src/train/backend.js';
import { combineMoments } from '../../src/train/network/batchNorm.js';
import { buildNetwork, type NetworkOptions } from '../../src/train/network/network.js';
import { objective } from '../../src/train/optim.js';
import { ParallelPool } from '../../src/train/parallel/pool.js';
import { shardsOf } from '../../src/train/parallel/shard.js';

const GENOTYPE = builtin('DARTS_V2')!.genotype;
const OPTIONS: NetworkOptions = { channels: 4, layers: 3, classes: 10, inputSize: 32, auxiliary: true, seed: 3 };
const AUX_WEIGHT = 0.4;
const DROP = 0.3;
/**
 * Gradients: the threads' partial sums are added in another order than one
 * thread's reductions, and the batch statistics are combined in float64 from
 * float32 parts: differences are float32 rounding amplified through the
 * network: measured 6e-6 of the largest entry of a gradient at most; the
 * bound is 1e-4.
 */
const GRAD_TOLERANCE = 1e-4;

function seeded(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s >>> 8) / 16777216 - 0.5;
  }
  return out;
}

function relMax(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(a[i]!));
  }
  return diff / (scale || 1);
}

test('Chan\'s combination of per-part moments equals the moments of the whole', () => {
  const values = Array.from(seeded(37, 5), (v) => 1000 + v);
  const parts = [values.slice(0, 10), values.slice(10, 11), values.slice(11)];
  const moments = (xs: number[]) => {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    return { count: xs.length, mean: [mean], m2: [xs.reduce((a, x) => a + (x - mean) ** 2, 0)] };
  };
  const whole = moments(values);
  const combined = combineMoments(parts.map(moments));
  assert.equal(combined.count, 37);
  assert.ok(Math.abs(combined.mean[0]! - whole.mean[0]!) < 1e-9);
  assert.ok(Math.abs(combined.m2[0]! - whole.m2[0]!) / whole.m2[0]! < 1e-9);
});

test('shards are contiguous, cover the batch, differ by at most one and are never empty', () => {
  assert.deepEqual(shardsOf(5, 2), [{ start: 0, size: 3 }, { start: 3, size: 2 }]);
  assert.deepEqual(shardsOf(64, 3).map((s) => s.size), [22, 21, 21]);
  assert.deepEqual(shardsOf(1, 4), [{ start: 0, size: 1 }]);
});

interface StepOutcome {
  loss: number;
  grads: Map<string, Float32Array>;
  buffers: Map<string, Float32Array>;
  nextRandom: number;
}

function readBuffers(net: ReturnType<typeof buildNetwork>): Map<string, Float32Array> {
  return new Map([...net.buffers].map(([n, v]) => [n, v.dataSync().slice() as Float32Array]));
}

/** One step as the trainer computes it on one thread. */
function oneThreadStep(x: Float32Array, labels: Int32Array, n: number): StepOutcome {
  const net = buildNetwork(GENOTYPE, OPTIONS);
  const rng = mulberry32(11);
  const names = [...net.params.keys()];
  const trainable = names.map((k) => net.params.get(k)!);
  try {
    const { value, grads } = tf.tidy(() =>
      tf.variableGrads(() => {
        const out = net.forward(tf.tensor4d(x, [n, 32, 32, 3]), { training: true, dropPathProb: DROP, random: rng });
        return objective(out, tf.tensor1d(labels, 'int32'), AUX_WEIGHT);
      }, trainable),
    );
    const byName = new Map(names.map((k, i) => [k, grads[trainable[i]!.name]!.dataSync().slice() as Float32Array]));
    const loss = value.dataSync()[0]!;
    tf.dispose([value, ...Object.values(grads)]);
    return { loss, grads: byName, buffers: readBuffers(net), nextRandom: rng() };
  } finally {
    net.dispose();
  }
}

async function parallelStep(threads: number, x: Float32Array, labels: Int32Array, n: number): Promise<StepOutcome> {
  const net = buildNetwork(GENOTYPE, OPTIONS);
  const rng = mulberry32(11);
  const pool = await ParallelPool.start({ threads, backend: 'wasm', genotype: GENOTYPE, networkOptions: OPTIONS, net, auxiliaryWeight: AUX_WEIGHT });
  try {
    const result = pool.step({ x, shape: [n, 32, 32, 3], labels }, DROP, rng);
    const grads = new Map([...result.grads].map(([k, t]) => [k, t.dataSync().slice() as Float32Array]));
    tf.dispose([...result.grads.values()]);
    return { loss: result.loss, grads, buffers: readBuffers(net), nextRandom: rng() };
  } finally {
    await pool.close();
    net.dispose();
  }
}

test('a step over 2 or 3 threads computes the 1-thread step: loss, gradients, running statistics, drop-path draws (batch 5: shards 3+2, 2+2+1)', async () => {
  await selectBackend('wasm');
  const n = 5;
  const x = seeded(n * 32 * 32 * 3, 1);
  const labels = Int32Array.from({ length: n }, (_, i) => (i * 7) % 10);
  const one = oneThreadStep(x, labels, n);
  for (const threads of [2, 3]) compare(one, await parallelStep(threads, x, labels, n), threads);
});

function compare(one: StepOutcome, two: StepOutcome, threads: number): void {
  assert.ok(Math.abs(one.loss - two.loss) <= 1e-5 * Math.abs(one.loss), `loss ${one.loss} vs ${two.loss}`);
  assert.equal(two.nextRandom, one.nextRandom, 'the same number of drop-path draws');
  assert.deepEqual([...two.grads.keys()], [...one.grads.keys()]);
  let worst = 0;
  for (const [name, g] of one.grads) {
    const e = relMax(g, two.grads.get(name)!);
    worst = Math.max(worst, e);
    assert.ok(e <= GRAD_TOLERANCE, `${name}: relative error ${e}`);
  }
  for (const [name, b] of one.buffers) {
    const e = relMax(b, two.buffers.get(name)!);
    assert.ok(e <= 1e-5, `${name}: relative error ${e}`);
  }
  console.log(`${threads} threads: largest relative gradient difference ${worst.toExponential(2)}`);
}

test('a training thread that throws or exits ends the step with a message naming it, and the pool still closes', async () => {
  await selectBackend('wasm');
  const n = 4;
  const x = seeded(n * 32 * 32 * 3, 2);
  const labels = Int32Array.from({ length: n }, (_, i) => i);
  for (const how of ['throw', 'exit'] as const) {
    const net = buildNetwork(GENOTYPE, OPTIONS);
    const pool = await ParallelPool.start({
      threads: 2, backend: 'wasm', genotype: GENOTYPE, networkOptions: OPTIONS, net, auxiliaryWeight: AUX_WEIGHT,
      timeoutMs: 20_000, failWorker: { rank: 1, step: 2, how },
    });
    try {
      const first = pool.step({ x, shape: [n, 32, 32, 3], labels }, 0, Math.random);
      tf.dispose([...first.grads.values()]);
      const started = Date.now();
      assert.throws(() => pool.step({ x, shape: [n, 32, 32, 3], labels }, 0, Math.random), how === 'throw' ? /training thread 1 failed at its step 2: injected failure/ : /training thread 1 exit/);
      assert.ok(Date.now() - started < 15_000, `${how}: took ${Date.now() - started} ms`);
    } finally {
      await pool.close();
      net.dispose();
    }
  }
});
