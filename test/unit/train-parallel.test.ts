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
import { syntheticRunConfig } from './run-fixtures.js';
import { mulberry32 } from '../../src/shared/mulberry32.js';
import { selectBackend } from '../../src/train/backend.js';
import { combineMoments } from '../../src/train/network/batchNorm.js';
import { buildNetwork, type NetworkOptions } from '../../src/train/network/network.js';
import { objective } from '../../src/train/optim.js';
import { readFileSync, mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRunRecord } from '../../src/runs/runStore.js';
import { METRICS_TIME_FIELDS, parseProgressLine, type ProgressLine, type RunConfig } from '../../src/shared/runTypes.js';
import { readCheckpoint } from '../../src/train/checkpoint.js';
import { cli } from './cli-helpers.js';
import { resumeTraining, startTraining, trainingThreads, type StepReport, type TrainEnvironment, type TrainGenotype } from '../../src/train/loop.js';
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

const DARTS_V2: TrainGenotype = { name: 'DARTS_V2', genotype: GENOTYPE, ref: 'DARTS_V2', origin: 'built-in' };

/** Two epochs of three steps with every random part of the recipe on (drop path from epoch 2), as test/unit/train-loop.test.ts. */
const TINY: RunConfig = syntheticRunConfig({
  seed: 7,
  epochs: 2,
  channels: 4,
  layers: 3,
  batchSize: 15,
  trainSubset: 45,
  testSubset: 16,
  gradVarianceBatches: 1,
  auxiliary: true,
  dropPath: 0.3,
  cutout: true,
  cutoutLength: 8,
});

function trainerEnv(extra: Partial<TrainEnvironment> = {}, stopAt?: { epoch: number; step: number }) {
  const steps: StepReport[] = [];
  const lines: ProgressLine[] = [];
  let stderr = '';
  const cancel = { requested: false };
  const env: TrainEnvironment = {
    stdout: (text) => {
      for (const raw of text.split('\n')) {
        const line = parseProgressLine(raw);
        if (line !== undefined) lines.push(line);
      }
    },
    stderr: (text) => {
      stderr += text;
    },
    handleSignals: false,
    cancel,
    progressIntervalMs: 0,
    onStep: (s) => {
      steps.push(s);
      if (stopAt !== undefined && s.epoch === stopAt.epoch && s.step === stopAt.step) cancel.requested = true;
    },
    ...extra,
  };
  return { env, steps, lines, stderr: () => stderr };
}

function metricsOf(dir: string): Record<string, unknown>[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => {
      const m = JSON.parse(l) as Record<string, unknown>;
      for (const key of METRICS_TIME_FIELDS) delete m[key];
      return m;
    });
}

test('training at --threads 2 (shards of 8 and 7): the 1-thread losses, threads recorded in run.json and the start line; resume keeps 2 and equals the uninterrupted run', async () => {
  const runs = mkdtempSync(join(tmpdir(), 'cellscope-parallel-'));
  const one = trainerEnv({ threads: 1 });
  const single = await startTraining(DARTS_V2, TINY, runs, one.env);
  assert.equal(single.status, 'completed', single.reason);
  assert.equal(readRunRecord(single.dir).threads, 1);

  const two = trainerEnv({ threads: 2 });
  const straight = await startTraining(DARTS_V2, TINY, runs, two.env);
  assert.equal(straight.status, 'completed', straight.reason);
  assert.equal(readRunRecord(straight.dir).threads, 2);
  const start = two.lines[0]!;
  assert.ok(start.type === 'start' && start.threads === 2);
  assert.match(two.stderr(), /training on wasm with 2 threads/);
  assert.equal(two.steps.length, 6);
  two.steps.forEach((s, i) => {
    const ref = one.steps[i]!;
    assert.ok(Math.abs(s.loss - ref.loss) <= 1e-4 * Math.abs(ref.loss), `step ${i + 1}: ${s.loss} vs ${ref.loss}`);
    assert.equal(s.correct, ref.correct, `step ${i + 1}: correct`);
  });

  // Stopped in epoch 2 (drop path on), resumed without --threads: the recorded 2, and exactly the same metrics.
  const first = trainerEnv({ threads: 2 }, { epoch: 2, step: 2 });
  const stopped = await startTraining(DARTS_V2, TINY, runs, first.env);
  assert.equal(stopped.status, 'cancelled', stopped.reason);
  const second = trainerEnv();
  const resumed = await resumeTraining(stopped.dir, GENOTYPE, second.env);
  assert.equal(resumed.status, 'completed', resumed.reason);
  assert.equal(readRunRecord(stopped.dir).threads, 2);
  assert.deepEqual(metricsOf(stopped.dir), metricsOf(straight.dir));
});

test('a training thread that fails mid-run fails the run with the thread and its error named; the last checkpoint stays', async () => {
  const runs = mkdtempSync(join(tmpdir(), 'cellscope-parallel-fail-'));
  // Its 5th step: epoch 2, step 2, after epoch 1's checkpoint.
  const t = trainerEnv({ threads: 2, parallel: { timeoutMs: 20_000, failWorker: { rank: 1, step: 5, how: 'throw' } } });
  const outcome = await startTraining(DARTS_V2, TINY, runs, t.env);
  assert.equal(outcome.status, 'failed');
  assert.match(outcome.reason ?? '', /training thread 1 failed at its step 5: injected failure/);
  const record = readRunRecord(outcome.dir);
  assert.equal(record.status, 'failed');
  assert.equal(record.epochsCompleted, 1);
  const checkpoint = readCheckpoint<{ epoch: number; step: number }>(join(outcome.dir, 'checkpoint.bin'));
  assert.deepEqual([checkpoint.meta.epoch, checkpoint.meta.step], [1, 0]);
  // And it resumes from there.
  const resumed = await resumeTraining(outcome.dir, GENOTYPE, trainerEnv().env);
  assert.equal(resumed.status, 'completed', resumed.reason);
});

test('threads: a count below 1 or not whole is refused; GPU and native backends train on 1', () => {
  assert.throws(() => trainingThreads('wasm', 0, undefined, false), /at least 1, not 0/);
  assert.throws(() => trainingThreads('wasm', 1.5, undefined, false), /not 1.5/);
  assert.equal(trainingThreads('webgpu', 4, undefined, false), 1);
  assert.equal(trainingThreads('tensorflow', undefined, undefined, false), 1);
  assert.equal(trainingThreads('wasm', undefined, 3, true), 3);
  assert.equal(trainingThreads('wasm', undefined, undefined, true), 1);
  assert.equal(trainingThreads('cpu', 2, 3, true), 2);
  assert.equal(trainingThreads('wasm', undefined, undefined, false), availableParallelism());
  // By default a thread only where its shard has the work to pay for the barriers.
  assert.equal(trainingThreads('wasm', undefined, undefined, false, 0.3e9), 1);
  assert.equal(trainingThreads('wasm', undefined, undefined, false, 0.5e9 * availableParallelism()), availableParallelism());
  assert.equal(trainingThreads('wasm', undefined, undefined, false, 1e15), availableParallelism());
  assert.equal(trainingThreads('wasm', 2, undefined, false, 1e3), 2);
});

test('cellscope train and resume refuse a --threads that is not a whole number of at least 1, naming the flag', async () => {
  for (const value of ['0', '-1', 'x', '1.5']) {
    for (const argv of [['train', 'DARTS_V2', '--threads', value], ['resume', 'some-run', `--threads=${value}`]]) {
      const r = await cli(argv, tmpdir());
      assert.equal(r.code, 2, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, /--threads (must be at least 1|needs an integer), not '?-?[0-9x.]+'?/);
    }
  }
});
