/**
 * The landscape job (src/train/probes/landscape.ts) on a tiny trained run:
 * the centre of the grid is the run's own test loss and accuracy, an
 * interrupted job (cancelled, then a line cut by a crash) resumes to exactly
 * the grid an uninterrupted job computes, settings are not mixed, and the
 * variance surface is the gradient variance at the moved weights
 * (hand-computed on a linear model).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { builtin } from '../../src/genotype/library.js';
import { LANDSCAPE_POINTS_FILE, landscapeCoordinates, varianceCaption, varianceSettings } from '../../src/shared/landscapeTypes.js';
import type { RunConfig } from '../../src/shared/runTypes.js';
import { startTraining } from '../../src/train/loop.js';
import { presetSettings } from '../../src/runs/presets.js';
import { gradientVariance } from '../../src/train/probes/gradVariance.js';
import { LandscapeError, PerturbedWeights, readLandscape, resolveSpec, runLandscape, type LandscapeEnvironment } from '../../src/train/probes/landscape.js';
import { readMetricsFile, readRunRecord } from '../../src/runs/runStore.js';

const quiet: LandscapeEnvironment = { stdout: () => {}, stderr: () => {} };
let runDir: string;
let root: string;

/** A copy of the trained run, so each test starts from a run without a landscape. */
function copyOfRun(name: string): string {
  const dir = join(root, name);
  cpSync(runDir, dir, { recursive: true });
  return dir;
}

before(async () => {
  root = mkdtempSync(join(tmpdir(), 'cellscope-landscape-'));
  const config: RunConfig = {
    ...presetSettings('quick', 'synthetic'),
    dataset: 'synthetic',
    dataDir: null,
    download: false,
    preset: 'quick',
    seed: 3,
    backend: 'wasm',
    epochs: 1,
    layers: 3,
    channels: 4,
    batchSize: 8,
    trainSubset: 24,
    testSubset: 20,
    gradVarianceBatches: 2,
  };
  const g = builtin('DARTS_V2')!;
  const outcome = await startTraining({ name: g.name, genotype: g.genotype, ref: 'DARTS_V2', origin: 'built-in' }, config, join(root, 'runs'), {
    stdout: () => {},
    stderr: () => {},
    handleSignals: false,
  });
  assert.equal(outcome.status, 'completed');
  runDir = outcome.dir;
});

test('the centre of the grid is the trained weights: its loss and accuracy are the run\'s last test loss and accuracy', async () => {
  const dir = copyOfRun('origin');
  const outcome = await runLandscape(dir, { grid: 3, range: 0.5, seed: 1 }, quiet);
  assert.equal(outcome.status, 'completed');
  assert.equal(outcome.computed, 9);
  const file = readLandscape(dir)!;
  const last = readMetricsFile(dir).at(-1)!;
  assert.deepEqual(file.coordinates, landscapeCoordinates(3, 0.5));
  assert.deepEqual(file.coordinates, [-0.5, 0, 0.5]);
  assert.equal(file.images, 20);
  assert.equal(file.epoch, 1);
  const centre = file.loss[1]![1]!;
  assert.ok(Math.abs(centre - last.testLoss) <= 1e-5 * Math.max(1, last.testLoss), `centre ${centre} vs test loss ${last.testLoss}`);
  assert.equal(file.accuracy[1]![1], last.testAcc);
  // Away from the centre the weights, and so the loss, differ.
  for (const [i, j] of [[0, 0], [0, 2], [2, 1]] as const) assert.notEqual(file.loss[i]![j], centre);
  assert.equal(file.variance, undefined);
  // Asking again reuses the file.
  const again = await runLandscape(dir, { grid: 3, range: 0.5, seed: 1 }, quiet);
  assert.deepEqual([again.computed, again.reused], [0, 9]);
});

test('an interrupted job resumes to exactly the grid of an uninterrupted one (loss, accuracy and variance)', async () => {
  // 16 test images: two batches of 8 for the variance probe, which draws from the test set by default.
  const request = { grid: 3, range: 1, seed: 4, subset: 16, what: ['loss', 'variance'] as const };
  const whole = copyOfRun('whole');
  await runLandscape(whole, request, quiet);
  const reference = readLandscape(whole)!;
  assert.ok(reference.variance !== undefined);
  assert.equal(reference.images, 16);
  assert.ok(reference.variance.flat().every((v) => v !== null && v > 0));

  const parts = copyOfRun('parts');
  const cancel = { requested: false };
  let lines = 0;
  const first = await runLandscape(parts, request, {
    stdout: () => {
      if (++lines === 5) cancel.requested = true;
    },
    stderr: () => {},
    cancel,
    progressIntervalMs: 0,
  });
  assert.equal(first.status, 'cancelled');
  assert.equal(first.computed, 5);
  assert.equal(readLandscape(parts), undefined, 'no landscape.json before the grid is complete');
  // A crash in the middle of writing the next point leaves half a line.
  appendFileSync(join(parts, LANDSCAPE_POINTS_FILE), '{"q":"loss","i":2,"j":');
  const second = await runLandscape(parts, request, quiet);
  assert.equal(second.status, 'completed');
  assert.deepEqual([second.computed, second.reused], [13, 5]);
  const resumed = readLandscape(parts)!;
  assert.deepEqual(resumed.loss, reference.loss);
  assert.deepEqual(resumed.accuracy, reference.accuracy);
  assert.deepEqual(resumed.variance, reference.variance);
  // Every line of the points file parses: the cut line was dropped, not continued.
  for (const line of readFileSync(join(parts, LANDSCAPE_POINTS_FILE), 'utf8').trim().split('\n')) JSON.parse(line);
});

test('a job in progress is not mixed with other settings; --restart starts over; a log without points is simply replaced', async () => {
  const dir = copyOfRun('settings');
  const cancel = { requested: false };
  const stopped = await runLandscape(dir, { grid: 3, seed: 1 }, { stdout: () => (cancel.requested = true), stderr: () => {}, cancel, progressIntervalMs: 0 });
  assert.equal(stopped.status, 'cancelled');
  assert.equal(stopped.computed, 1);
  await assert.rejects(runLandscape(dir, { grid: 5, seed: 1 }, quiet), LandscapeError);
  const restarted = await runLandscape(dir, { grid: 1, seed: 1, restart: true }, quiet);
  assert.equal(restarted.status, 'completed');
  assert.equal(readLandscape(dir)!.grid, 1);
  assert.ok(existsSync(join(dir, LANDSCAPE_POINTS_FILE)));
  // Stopped before its first point, a job leaves nothing worth keeping: other settings just start over.
  const empty = copyOfRun('empty');
  const none = await runLandscape(empty, { grid: 3, seed: 1 }, { ...quiet, cancel: { requested: true } });
  assert.equal(none.computed, 0);
  assert.equal((await runLandscape(empty, { grid: 1, seed: 2 }, quiet)).status, 'completed');
});

test('variance at a grid point is the gradient variance at w + α·d₁ + β·d₂ (hand-computed linear model)', async () => {
  await tf.setBackend('cpu');
  // w = (1, 2) as a linear weight [in = 2, out = 1]; d₁ = (1, 0), d₂ = (0, 2). At (α, β) = (1, 0.5): w = (2, 3).
  // Loss ½(w·x − t)², gradient (w·x − t)·x:
  //   x=(1,0), t=1 → r = 1 → g = (1, 0)
  //   x=(0,1), t=0 → r = 3 → g = (0, 3)
  //   x=(1,1), t=4 → r = 1 → g = (1, 1)
  // ḡ = (2/3, 4/3); Σ‖g_k − ḡ‖² = 17/9 + 29/9 + 2/9 = 16/3 → variance 16/9; ‖ḡ‖² = 20/9.
  const w = tf.variable(tf.tensor2d([[1], [2]]), true, 'landscape-test-w');
  const params = new Map([['w', w]]);
  const moved = new PerturbedWeights(params, new Map([['w', new Float32Array([1, 0])]]), new Map([['w', new Float32Array([0, 2])]]));
  moved.moveTo(1, 0.5);
  const samples = [
    { x: [1, 0], t: 1 },
    { x: [0, 1], t: 0 },
    { x: [1, 1], t: 4 },
  ];
  const r = await gradientVariance(params, samples, (s) => {
    const residual = tf.sub(tf.sum(tf.mul(tf.reshape(w, [2]), tf.tensor1d(s.x))), s.t);
    return tf.mul(0.5, tf.square(residual)) as tf.Scalar;
  });
  assert.ok(Math.abs(r.variance - 16 / 9) < 1e-5, `variance ${r.variance}`);
  assert.ok(Math.abs(r.meanGradNormSq - 20 / 9) < 1e-5);
  moved.reset();
  assert.deepEqual(Array.from(w.dataSync()), [1, 2]);
  moved.dispose();
  w.dispose();
});

test('the defaults are the paper\'s: a 51×51 grid over the whole test set, variance on test-set batches with BatchNorm in evaluation mode', () => {
  const spec = resolveSpec(readRunRecord(runDir), {});
  assert.equal(spec.grid, 51);
  assert.equal(spec.range, 1);
  assert.equal(spec.subset, null);
  assert.equal(spec.varianceSplit, 'test');
  assert.equal(spec.bnMode, 'eval');
  // K is capped by the split the batches come from: 20 test images give 2 batches of 8, 24 training images 3.
  assert.equal(resolveSpec(readRunRecord(runDir), { varianceBatches: 10 }).varianceBatches, 2);
  assert.equal(resolveSpec(readRunRecord(runDir), { varianceBatches: 10, varianceSplit: 'train' }).varianceBatches, 3);
});

test('landscape.json records varianceSplit and bnMode; the test split and the training split measure different data', async () => {
  const paper = copyOfRun('variance-test');
  await runLandscape(paper, { grid: 1, seed: 2, what: ['loss', 'variance'] }, quiet);
  const a = readLandscape(paper)!;
  assert.equal(a.varianceSplit, 'test');
  assert.equal(a.bnMode, 'eval');
  assert.match(varianceCaption(a), /test images, BatchNorm in evaluation mode/);
  const train = copyOfRun('variance-train');
  await runLandscape(train, { grid: 1, seed: 2, what: ['loss', 'variance'], varianceSplit: 'train', bnMode: 'train' }, quiet);
  const b = readLandscape(train)!;
  assert.deepEqual([b.varianceSplit, b.bnMode], ['train', 'train']);
  // Same weights, same loss grid; the variance differs because its data and BatchNorm mode differ.
  assert.deepEqual(b.loss, a.loss);
  assert.notEqual(b.variance![0]![0], a.variance![0]![0]);
  // Changing only the BatchNorm mode is another measurement: the file is recomputed, not reused.
  const again = await runLandscape(paper, { grid: 1, seed: 2, what: ['loss', 'variance'], bnMode: 'train' }, quiet);
  assert.ok(again.computed > 0);
  assert.deepEqual([readLandscape(paper)!.varianceSplit, readLandscape(paper)!.bnMode], ['test', 'train']);
});

test('a landscape file from before varianceSplit/bnMode existed reads as what it measured: training batches, training-mode BatchNorm', () => {
  const legacy: { varianceBatches: number; varianceBatchSize: number; varianceSplit?: 'test' | 'train'; bnMode?: 'eval' | 'train' } = { varianceBatches: 2, varianceBatchSize: 8 };
  assert.deepEqual(varianceSettings(legacy), { varianceSplit: 'train', bnMode: 'train' });
  assert.match(varianceCaption(legacy), /training images, BatchNorm in training mode/);
});
