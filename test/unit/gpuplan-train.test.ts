/**
 * The compiled plan engine as the trainer's `webgpu` backend, through the
 * real loop (src/train/loop.ts, src/train/engineTrainer.ts) on lavapipe where
 * there is no GPU, against wasm: the same per-step losses within 1e-3
 * relative with every random part of the recipe on (augmentation, cutout,
 * drop path, auxiliary head) and an epoch's last batch smaller than the
 * others; test evaluation and the gradient-variance probe (on the engine's
 * weights in the TensorFlow.js network) alike; run.json naming the engine,
 * the adapter and the plan's figures; cancel → resume equal to the
 * uninterrupted run; out of memory at plan time and no adapter failing the
 * run with the engine's message, the checkpoint intact.
 *
 * Skipped (saying why) without an adapter, failed under CI=true.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtin } from '../../src/genotype/library.js';
import { presetSettings } from '../../src/runs/presets.js';
import { readHessianEpochs, readMetricsFile, readRunRecord } from '../../src/runs/runStore.js';
import { METRICS_TIME_FIELDS, parseProgressLine, type MetricsLine, type RunConfig } from '../../src/shared/runTypes.js';
import { openPlanDevice } from '../../src/train/gpuplan/device.js';
import { readLandscape } from '../../src/runs/reportRuns.js';
import { flatLossOf, runHessianProbe } from '../../src/train/probes/hessian.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { buildNetwork } from '../../src/train/network/network.js';
import { layoutOf } from '../../src/train/gpuplan/layout.js';
import { EngineTrainer } from '../../src/train/engineTrainer.js';
import type { Batch } from '../../src/train/data/index.js';
import { runLandscape } from '../../src/train/probes/landscape.js';
import { engineTestHooks, resumeTraining, startTraining, type StepReport, type TrainGenotype, type TrainOutcome } from '../../src/train/loop.js';

const DARTS_V2: TrainGenotype = { name: 'DARTS_V2', genotype: builtin('DARTS_V2')!.genotype, ref: 'DARTS_V2', origin: 'built-in' };

/** Two epochs of two steps (4 + 2 images: the last batch is smaller), at a size lavapipe runs in seconds. */
const TINY: RunConfig = {
  ...presetSettings('quick', 'synthetic'),
  dataset: 'synthetic',
  dataDir: null,
  download: false,
  preset: 'quick',
  seed: 11,
  lr: 0.01,
  backend: 'wasm',
  epochs: 2,
  channels: 4,
  layers: 3,
  batchSize: 4,
  trainSubset: 6,
  testSubset: 6,
  gradVarianceBatches: 2,
  auxiliary: true,
  auxiliaryWeight: 0.4,
  augment: true,
  dropPath: 0.3,
  cutout: true,
  cutoutLength: 8,
  // The per-epoch Hessian probe after each epoch (training must go on unchanged after it): 3 power iterations, 1 trace vector, 1 batch.
  hessianEpochs: { every: 1, iterations: 3, traceSamples: 1, batches: 1 },
};

interface Trained {
  readonly outcome: TrainOutcome;
  readonly steps: StepReport[];
  readonly metrics: MetricsLine[];
  readonly stdout: string[];
}

function environment(captured: Omit<Trained, 'outcome'>, onStep?: (s: StepReport, cancel: { requested: boolean }) => void) {
  const cancel = { requested: false };
  return {
    stdout: (text: string) => {
      for (const raw of text.split('\n')) {
        const line = parseProgressLine(raw);
        if (line === undefined) continue;
        captured.stdout.push(raw);
        if (line.type === 'epoch') captured.metrics.push(line.metrics);
      }
    },
    stderr: () => {},
    handleSignals: false,
    progressIntervalMs: 0,
    cancel,
    onStep: (s: StepReport) => {
      captured.steps.push(s);
      onStep?.(s, cancel);
    },
  };
}

async function train(backend: 'wasm' | 'webgpu' | 'tfjs-webgpu', config: Partial<RunConfig> = {}, onStep?: (s: StepReport, cancel: { requested: boolean }) => void): Promise<Trained> {
  const captured = { steps: [], metrics: [], stdout: [] };
  const outcome = await startTraining(DARTS_V2, { ...TINY, ...config, backend }, mkdtempSync(join(tmpdir(), `cellscope-plan-${backend}-`)), environment(captured, onStep));
  return { outcome, ...captured };
}

async function resume(dir: string): Promise<Trained> {
  const captured = { steps: [], metrics: [], stdout: [] };
  const outcome = await resumeTraining(dir, DARTS_V2.genotype, environment(captured));
  return { outcome, ...captured };
}

const untimed = (m: MetricsLine) => Object.fromEntries(Object.entries(m).filter(([k]) => !(METRICS_TIME_FIELDS as readonly string[]).includes(k)));

let why: string | undefined;
let wasm: Trained;
/** The uninterrupted engine run, once trained. */
let engine: Trained | undefined;
let engineAugmentedOnGpu: boolean | undefined;

before(async () => {
  // The engine asked for by name may use lavapipe: point it there when it is the only adapter.
  try {
    const opened = await openPlanDevice({ allowSoftware: true });
    (opened.device as unknown as { destroy?(): void }).destroy?.();
  } catch (error) {
    why = (error as Error).message;
  }
  wasm = await train('wasm');
  assert.equal(wasm.outcome.status, 'completed', wasm.outcome.reason);
});

function need(t: { skip(m: string): void }): boolean {
  if (why === undefined) return true;
  if (process.env.CI === 'true') assert.fail(`no WebGPU adapter under CI: ${why}`);
  t.skip(`no WebGPU adapter: ${why}`);
  return false;
}

test("webgpu (the plan engine) through the real loop, augmenting on the GPU: wasm's per-step losses, test metrics and gradient variance; run.json names the engine, adapter and plan", async (t) => {
  if (!need(t)) return;
  engineTestHooks.opened = (trainer) => {
    engineAugmentedOnGpu = trainer.augmentsOnGpu;
  };
  let gpu: Trained;
  try {
    gpu = await train('webgpu');
  } finally {
    delete engineTestHooks.opened;
  }
  assert.equal(gpu.outcome.status, 'completed', gpu.outcome.reason);
  assert.equal(engineAugmentedOnGpu, true, 'the training batches are augmented on the GPU');
  t.diagnostic(`wasm ${wasm.steps.map((s) => s.loss.toFixed(6)).join(' ')}; engine ${gpu.steps.map((s) => s.loss.toFixed(6)).join(' ')}`);
  assert.equal(wasm.steps.length, 4);
  assert.equal(gpu.steps.length, 4);
  engine = gpu;
  assert.deepEqual(gpu.steps.map((s) => s.size), [4, 2, 4, 2]);
  for (let i = 0; i < wasm.steps.length; i++) {
    const rel = Math.abs(gpu.steps[i]!.loss - wasm.steps[i]!.loss) / Math.abs(wasm.steps[i]!.loss);
    assert.ok(rel < 1e-3, `step ${i + 1}: engine ${gpu.steps[i]!.loss} vs wasm ${wasm.steps[i]!.loss} (relative ${rel})`);
    assert.equal(gpu.steps[i]!.correct, wasm.steps[i]!.correct, `step ${i + 1} correct`);
  }
  assert.equal(gpu.metrics.length, 2);
  for (let e = 0; e < 2; e++) {
    const [w, g] = [wasm.metrics[e]!, gpu.metrics[e]!];
    assert.ok(Math.abs(g.trainLoss - w.trainLoss) <= 1e-3 * Math.abs(w.trainLoss), `epoch ${e + 1} train loss: engine ${g.trainLoss} vs wasm ${w.trainLoss}`);
    assert.ok(Math.abs(g.testLoss - w.testLoss) <= 1e-3 * Math.abs(w.testLoss), `epoch ${e + 1} test loss: engine ${g.testLoss} vs wasm ${w.testLoss}`);
    assert.equal(g.testAcc, w.testAcc);
    assert.ok(g.gradVariance !== null && w.gradVariance !== null && Math.abs(g.gradVariance - w.gradVariance) <= 1e-2 * w.gradVariance, `epoch ${e + 1} gradient variance: engine ${g.gradVariance} vs wasm ${w.gradVariance}`);
    assert.equal(g.lr, w.lr);
    assert.equal(g.dropPath, w.dropPath);
  }
  // The per-epoch Hessian probe, through the engine (losses and gradients at moved weights on the GPU).
  const [hw, hg] = [readHessianEpochs(wasm.outcome.dir).lines, readHessianEpochs(gpu.outcome.dir).lines];
  // Finite differences of float32 gradients at this tiny size are rounding-dominated on any two engines (cpu/wasm too):
  // the values are compared by the FlatLoss test below, here only that the probe ran and left training alone (the losses above).
  assert.equal(hg.length, 2);
  assert.equal(hw.length, 2);
  t.diagnostic(`Hessian λ_max wasm ${hw.map((h) => h.topEigenvalue).join(', ')}; engine ${hg.map((h) => h.topEigenvalue).join(', ')}`);
  assert.ok(hg.every((h) => Number.isFinite(h.topEigenvalue) && h.batches === 1 && h.batchSize === 4));
  const record = readRunRecord(gpu.outcome.dir);
  assert.equal(record.backend?.backend, 'webgpu');
  assert.equal(record.backend?.package, 'cellscope-gpuplan');
  assert.ok(record.backend?.adapter?.name, 'the adapter is recorded');
  const plan = record.backend!.plan!;
  assert.ok(plan.dispatchesPerStep > 0 && plan.planBytes > 0 && plan.encodeMsPerStep > 0, JSON.stringify(plan));
  assert.deepEqual(readMetricsFile(gpu.outcome.dir).map(untimed), gpu.metrics.map(untimed));
  assert.ok(gpu.stdout.some((l) => l.includes('"type":"end"') && l.includes('completed')));
});

const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('webgpu: a run cancelled mid-epoch resumes from its checkpoint (parameters, momentum, running statistics read back) to the losses and metrics of the uninterrupted run; out of memory at plan time fails the resume, checkpoint intact', async (t) => {
  if (!need(t)) return;
  if (engine === undefined) {
    t.skip('needs the uninterrupted engine run');
    return;
  }
  // Cancelled after step 1 of epoch 1: a mid-epoch checkpoint.
  const first = await train('webgpu', {}, (s, cancel) => {
    if (s.epoch === 1 && s.step === 1) cancel.requested = true;
  });
  assert.equal(first.outcome.status, 'cancelled', first.outcome.reason);
  assert.equal(first.steps.length, 1);

  // Out of memory at plan time (a binding limit far below the plan's): the resume fails with the engine's message; the checkpoint is untouched.
  const copy = mkdtempSync(join(tmpdir(), 'cellscope-plan-oom-'));
  cpSync(first.outcome.dir, copy, { recursive: true });
  const checkpoint = join(copy, 'checkpoint.bin');
  const before = readFileSync(checkpoint);
  engineTestHooks.maxBindingBytes = 176 * 1024;
  let oom: Trained;
  try {
    oom = await resume(copy);
  } finally {
    delete engineTestHooks.maxBindingBytes;
  }
  assert.equal(oom.outcome.status, 'failed');
  assert.match(oom.outcome.reason ?? '', /need [\d.]+ MiB .* binds at most [\d.]+ MiB .*batch 4 does not fit, (try batch [123] |nor does batch 1)/);
  assert.deepEqual(readFileSync(checkpoint), before, 'the checkpoint is intact');
  assert.equal(readRunRecord(copy).status, 'failed');

  const rest = await resume(first.outcome.dir);
  assert.equal(rest.outcome.status, 'completed', rest.outcome.reason);
  const steps = [...first.steps, ...rest.steps];
  assert.equal(steps.length, engine.steps.length);
  steps.forEach((s, i) => close(s.loss, engine!.steps[i]!.loss, `step ${i + 1} loss`));
  const metrics = readMetricsFile(first.outcome.dir);
  assert.equal(metrics.length, 2);
  metrics.forEach((m, e) => {
    const u = engine!.metrics[e]!;
    for (const key of ['trainLoss', 'trainAcc', 'testLoss', 'testAcc', 'gradVariance', 'lr', 'dropPath'] as const) close(m[key] as number, u[key] as number, `epoch ${e + 1} ${key}`);
  });
  assert.equal(readRunRecord(first.outcome.dir).backend?.backend, 'webgpu');
  t.diagnostic(`out of memory at plan time: ${oom.outcome.reason}`);

  // Cancelled at the end of epoch 1 (1 epoch + resume 1 against 2 uninterrupted).
  const one = await train('webgpu', {}, (s, cancel) => {
    if (s.epoch === 1 && s.step === 2) cancel.requested = true;
  });
  assert.equal(one.outcome.status, 'cancelled', one.outcome.reason);
  const two = await resume(one.outcome.dir);
  assert.equal(two.outcome.status, 'completed', two.outcome.reason);
  [...one.steps, ...two.steps].forEach((s, i) => close(s.loss, engine!.steps[i]!.loss, `epoch-boundary resume, step ${i + 1} loss`));
  readMetricsFile(one.outcome.dir).forEach((m, e) => close(m.testLoss, engine!.metrics[e]!.testLoss, `epoch-boundary resume, epoch ${e + 1} test loss`));
});

test("the landscape grid and the Hessian probe of a run the engine trained: the grid on the engine (recorded as webgpu), its centre the engine's test evaluation, without an adapter the same grid on wasm (recorded as such); the Hessian probe on the engine's weights in the TensorFlow.js network on wasm", async (t) => {
  if (!need(t)) return;
  if (engine === undefined) {
    t.skip('needs the uninterrupted engine run');
    return;
  }
  const dir = join(mkdtempSync(join(tmpdir(), 'cellscope-plan-probes-')), 'run');
  cpSync(engine.outcome.dir, dir, { recursive: true });
  const outcome = await runLandscape(dir, { grid: 3, range: 0.5, what: ['loss'] }, { stdout: () => {}, stderr: () => {} });
  assert.equal(outcome.status, 'completed');
  const surface = readLandscape(dir)!;
  assert.equal(surface.backend, 'webgpu');
  // The grid's centre is the trained weights on the test set: the engine's own evaluation of the last epoch.
  const last = engine.metrics[engine.metrics.length - 1]!;
  assert.ok(Math.abs(surface.loss[1]![1]! - last.testLoss) <= 1e-3 * Math.abs(last.testLoss), `centre ${surface.loss[1]![1]} vs the engine's test loss ${last.testLoss}`);
  assert.equal(surface.accuracy[1]![1], last.testAcc);
  // Without an adapter the engine's (an adapter the environment names that does not exist): the same grid on wasm, said so.
  const fallback = join(mkdtempSync(join(tmpdir(), 'cellscope-plan-probes-wasm-')), 'run');
  cpSync(engine.outcome.dir, fallback, { recursive: true });
  const said: string[] = [];
  process.env.CELLSCOPE_WEBGPU_ADAPTER = 'no-such-adapter';
  try {
    assert.equal((await runLandscape(fallback, { grid: 3, range: 0.5, what: ['loss'] }, { stdout: () => {}, stderr: (m) => said.push(m) })).status, 'completed');
  } finally {
    delete process.env.CELLSCOPE_WEBGPU_ADAPTER;
  }
  assert.match(said.join(''), /the plan engine is not available for the landscape .*computing it on TensorFlow\.js/);
  const onWasm = readLandscape(fallback)!;
  assert.equal(onWasm.backend, 'wasm');
  onWasm.loss.forEach((row, i) => row.forEach((l, j) => assert.ok(Math.abs(l! - surface.loss[i]![j]!) <= 1e-4 * Math.max(1, Math.abs(l!)), `fallback loss (${i}, ${j}): ${l} vs the engine's ${surface.loss[i]![j]}`)));
  assert.deepEqual(onWasm.accuracy, surface.accuracy);
  const hessian = await runHessianProbe(dir, { iterations: 3, traceSamples: 0, batches: 1 }, { stdout: () => {} });
  assert.equal(hessian.backend, 'wasm');
  assert.ok(Number.isFinite(hessian.topEigenvalue), String(hessian.topEigenvalue));
});

test('the landscape on the engine equals the wasm fallback on a run the engine trained (3×3 grid: loss, accuracy, training-mode gradient variance; eval batches of 3 with a smaller last one); cancelled part-way, it resumes from the points log to the same grid; the evaluation-mode variance beside it on wasm', async (t) => {
  if (!need(t)) return;
  if (engine === undefined) {
    t.skip('needs the uninterrupted engine run');
    return;
  }
  // Eight test images (two full probe batches of 4), recorded in copies of the run.
  const copy = (name: string): string => {
    const dir = join(mkdtempSync(join(tmpdir(), `cellscope-plan-landscape-${name}-`)), 'run');
    cpSync(engine!.outcome.dir, dir, { recursive: true });
    const path = join(dir, 'run.json');
    const record = JSON.parse(readFileSync(path, 'utf8')) as { config: { testSubset: number }; dataset: { testSize: number } };
    record.config.testSubset = 8;
    record.dataset.testSize = 8;
    writeFileSync(path, JSON.stringify(record));
    return dir;
  };
  const request = { grid: 3, range: 0.5, what: ['loss', 'variance'] as const, bnMode: 'train' as const, evalBatchSize: 3 };
  const quiet = { stdout: () => {}, stderr: () => {} };
  const onWasm = copy('wasm');
  assert.equal((await runLandscape(onWasm, { ...request, what: [...request.what], backend: 'wasm' }, quiet)).status, 'completed');
  const onGpu = copy('gpu');
  const cancel = { requested: false };
  let lines = 0;
  const messages: string[] = [];
  const first = await runLandscape(onGpu, { ...request, what: [...request.what] }, {
    stdout: () => {
      if (++lines === 7) cancel.requested = true;
    },
    stderr: (m) => messages.push(m),
    cancel,
    progressIntervalMs: 0,
  });
  assert.equal(first.status, 'cancelled');
  assert.match(messages.join(''), /landscape on the plan engine \(webgpu, /);
  const rest = await runLandscape(onGpu, { ...request, what: [...request.what] }, quiet);
  assert.equal(rest.status, 'completed');
  assert.equal(rest.reused, first.computed);
  assert.equal(rest.reused + rest.computed, 18);
  const [w, g] = [readLandscape(onWasm)!, readLandscape(onGpu)!];
  assert.equal(w.backend, 'wasm');
  assert.equal(g.backend, 'webgpu');
  t.diagnostic(`loss wasm ${JSON.stringify(w.loss)} engine ${JSON.stringify(g.loss)}; variance wasm ${JSON.stringify(w.variance)} engine ${JSON.stringify(g.variance)}`);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const [lw, lg] = [w.loss[i]![j]!, g.loss[i]![j]!];
      assert.ok(Math.abs(lg - lw) <= 1e-4 * Math.max(1, Math.abs(lw)), `loss (${i}, ${j}): engine ${lg} vs wasm ${lw}`);
      assert.equal(g.accuracy[i]![j], w.accuracy[i]![j], `accuracy (${i}, ${j})`);
      const [vw, vg] = [w.variance![i]![j]!, g.variance![i]![j]!];
      assert.ok(Math.abs(vg - vw) <= 1e-4 * Math.abs(vw), `variance (${i}, ${j}): engine ${vg} vs wasm ${vw}`);
    }
  }
  // The paper's variance (BatchNorm in evaluation mode), which the engine cannot differentiate: on the TensorFlow.js network beside it, said so.
  const evalRequest = { grid: 3, range: 0.5, what: ['variance' as const], bnMode: 'eval' as const, evalBatchSize: 3, restart: true };
  assert.equal((await runLandscape(onWasm, { ...evalRequest, what: [...evalRequest.what], backend: 'wasm' }, quiet)).status, 'completed');
  const said: string[] = [];
  assert.equal((await runLandscape(onGpu, { ...evalRequest, what: [...evalRequest.what] }, { stdout: () => {}, stderr: (m) => said.push(m) })).status, 'completed');
  assert.match(said.join(''), /variance surface with BatchNorm in evaluation mode on TensorFlow\.js wasm/);
  const [we, ge] = [readLandscape(onWasm)!, readLandscape(onGpu)!];
  assert.equal(ge.backend, 'webgpu');
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      assert.ok(Math.abs(ge.loss[i]![j]! - we.loss[i]![j]!) <= 1e-4 * Math.max(1, Math.abs(we.loss[i]![j]!)), `eval-mode run: loss (${i}, ${j})`);
      const [vw, vg] = [we.variance![i]![j]!, ge.variance![i]![j]!];
      assert.ok(Math.abs(vg - vw) <= 1e-6 * Math.abs(vw), `eval-mode variance (${i}, ${j}), the same computation on wasm: ${vg} vs ${vw}`);
    }
  }
});

test("webgpu: training batches augmented on the GPU (bytes and the CPU's draws up, cropped, flipped, normalised and cut out by the plan) give the CPU-augmented engine run's losses, test metrics and gradient variance", async (t) => {
  if (!need(t)) return;
  if (engine === undefined) {
    t.skip('needs the uninterrupted engine run');
    return;
  }
  let onGpu: boolean | undefined;
  engineTestHooks.opened = (trainer) => {
    onGpu = trainer.augmentsOnGpu;
  };
  engineTestHooks.cpuAugment = true;
  let cpu: Trained;
  try {
    cpu = await train('webgpu');
  } finally {
    delete engineTestHooks.cpuAugment;
    delete engineTestHooks.opened;
  }
  assert.equal(cpu.outcome.status, 'completed', cpu.outcome.reason);
  assert.equal(onGpu, false, 'the hook trains on CPU-augmented floats');
  assert.equal(engineAugmentedOnGpu, true, 'the uninterrupted engine run (the first test) augmented on the GPU');
  t.diagnostic(`GPU-augmented ${engine.steps.map((s) => s.loss.toFixed(6)).join(' ')}; CPU-augmented ${cpu.steps.map((s) => s.loss.toFixed(6)).join(' ')}`);
  assert.equal(cpu.steps.length, engine.steps.length);
  cpu.steps.forEach((s, i) => {
    close(engine!.steps[i]!.loss, s.loss, `step ${i + 1} loss`);
    assert.equal(engine!.steps[i]!.correct, s.correct, `step ${i + 1} correct`);
  });
  cpu.metrics.forEach((m, e) => {
    const g = engine!.metrics[e]!;
    for (const key of ['trainLoss', 'testLoss', 'testAcc', 'gradVariance'] as const) close(g[key] as number, m[key] as number, `epoch ${e + 1} ${key}`);
  });
});

test('webgpu: a device lost mid-run fails the run with the engine\'s message; the last checkpoint is intact and the run resumes to the uninterrupted metrics', async (t) => {
  if (!need(t)) return;
  if (engine === undefined) {
    t.skip('needs the uninterrupted engine run');
    return;
  }
  let device: { destroy?(): void } | undefined;
  engineTestHooks.opened = (trainer) => {
    device = trainer.device as unknown as { destroy?(): void };
  };
  let lost: Trained;
  try {
    lost = await train('webgpu', {}, (s) => {
      if (s.epoch === 2 && s.step === 1) device!.destroy!();
    });
  } finally {
    delete engineTestHooks.opened;
  }
  assert.equal(lost.outcome.status, 'failed');
  assert.match(lost.outcome.reason ?? '', /WebGPU device was lost/);
  t.diagnostic(`lost: ${lost.outcome.reason}`);
  const metrics = readMetricsFile(lost.outcome.dir);
  assert.equal(metrics.length, 1);
  const rest = await resume(lost.outcome.dir);
  assert.equal(rest.outcome.status, 'completed', rest.outcome.reason);
  readMetricsFile(lost.outcome.dir).forEach((m, e) => close(m.testLoss, engine!.metrics[e]!.testLoss, `after the lost device, epoch ${e + 1} test loss`));
});

test("the engine's probe losses and gradients (steps at learning rate 0, at moved weights) equal the TensorFlow.js network's, and leave the trained state as it was", async (t) => {
  if (!need(t)) return;
  await tf.setBackend('cpu');
  const genotype = DARTS_V2.genotype;
  const shape = { channels: 4, layers: 3, classes: 10, inputSize: 32, auxiliary: true };
  const net = buildNetwork(genotype, { ...shape, seed: 5 });
  const initial = layoutOf(net);
  const trainer = await EngineTrainer.open({ genotype, network: shape, batchSize: 4, dropPath: true, auxiliaryWeight: 0.4, sgd: { momentum: 0.9, weightDecay: 3e-4, maxNorm: 5 }, initial, inputChannels: 3 });
  try {
    const x = Float32Array.from({ length: 4 * 32 * 32 * 3 }, (_, i) => Math.sin(i * 0.37));
    const y = [1, 3, 5, 7];
    const batch = { x, y, size: 4 } as unknown as Batch;
    // A training step first, so that momentum is not zero.
    await trainer.step(batch, 0.05, 0, Math.random);
    await trainer.flush();
    const before = await trainer.snapshot();
    // The reference network at the engine's weights after that step.
    const w = (await trainer.weights()).params;
    tf.tidy(() => {
      for (const [name, slot] of initial.layout.params) net.params.get(name)!.assign(tf.tensor(w.subarray(slot.offset, slot.offset + slot.size), [...slot.shape]));
    });
    const tfLoss = await flatLossOf(net, [{ x: tf.tensor4d(x, [4, 32, 32, 3]), y: tf.tensor1d(y, 'int32') }], 0.4);
    const v = Float64Array.from({ length: tfLoss.size }, (_, i) => (i % 3 === 0 ? 1 : -1));
    const rel = (a: Float64Array, b: Float64Array) => {
      let d = 0;
      let n = 0;
      for (let i = 0; i < a.length; i++) {
        d += (a[i]! - b[i]!) ** 2;
        n += b[i]! ** 2;
      }
      return Math.sqrt(d / n);
    };
    await trainer.withFlatLoss([batch], async (loss) => {
      assert.equal(loss.size, tfLoss.size);
      assert.ok(Math.abs(loss.weightNorm - tfLoss.weightNorm) <= 1e-6 * tfLoss.weightNorm, `‖w‖ ${loss.weightNorm} vs ${tfLoss.weightNorm}`);
      for (const step of [0, 0.01, -0.01]) {
        const a = await loss.at(step === 0 ? null : v, step, true);
        const b = await tfLoss.at(step === 0 ? null : v, step, true);
        assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(b.loss), `loss at t=${step}: engine ${a.loss} vs ${b.loss}`);
        assert.ok(rel(a.gradient!, b.gradient!) < 1e-4, `gradient at t=${step}: relative L2 ${rel(a.gradient!, b.gradient!)}`);
      }
      // A Hessian-vector product as the probe takes it (central difference, a move of 0.5 % of ‖w‖).
      const eps = (0.005 * loss.weightNorm) / Math.sqrt(v.length);
      const hvp = async (l: typeof loss) => {
        const [p, m] = [(await l.at(v, eps, true)).gradient!, (await l.at(v, -eps, true)).gradient!];
        return p.map((x, i) => (x - m[i]!) / (2 * eps));
      };
      const [ha, hb] = [await hvp(loss), await hvp(tfLoss)];
      assert.ok(rel(ha, hb) < 1e-3, `Hessian-vector product: relative L2 ${rel(ha, hb)}`);
    });
    tfLoss.dispose();
    // Parameters, momentum and running statistics as before the probe.
    const after = await trainer.snapshot();
    for (const [key, a] of before) assert.deepEqual(after.get(key)!.data, a.data, key);
  } finally {
    trainer.destroy();
    net.dispose();
  }
});

test("an old run recorded as webgpu (TensorFlow.js's WebGPU, before the engine took the name) resumes on tfjs-webgpu", async (t) => {
  if (!need(t)) return;
  const first = await train('tfjs-webgpu', { hessianEpochs: undefined, gradVarianceBatches: 0 }, (s, cancel) => {
    if (s.epoch === 1 && s.step === 2) cancel.requested = true;
  });
  assert.equal(first.outcome.status, 'cancelled', first.outcome.reason);
  // As a version before the engine wrote it.
  const file = join(first.outcome.dir, 'run.json');
  const record = JSON.parse(readFileSync(file, 'utf8')) as { backend: { backend: string; package: string }; config: { backend: string } };
  assert.equal(record.backend.package, '@tensorflow/tfjs-backend-webgpu');
  record.backend.backend = 'webgpu';
  record.config.backend = 'webgpu';
  writeFileSync(file, JSON.stringify(record, null, 2));
  const rest = await resume(first.outcome.dir);
  assert.equal(rest.outcome.status, 'completed', rest.outcome.reason);
  const after = readRunRecord(first.outcome.dir);
  assert.deepEqual([after.backend?.backend, after.backend?.package], ['tfjs-webgpu', '@tensorflow/tfjs-backend-webgpu']);
  assert.equal(readMetricsFile(first.outcome.dir).length, 2);
});

test('webgpu without an adapter fails the run saying so', async () => {
  const saved = process.env.CELLSCOPE_WEBGPU_ADAPTER;
  process.env.CELLSCOPE_WEBGPU_ADAPTER = 'no-such-adapter';
  try {
    const run = await train('webgpu');
    assert.equal(run.outcome.status, 'failed');
    assert.match(run.outcome.reason ?? '', /backend 'webgpu' is not usable.*(adapter 'no-such-adapter' not found|no WebGPU adapter)/);
  } finally {
    if (saved === undefined) delete process.env.CELLSCOPE_WEBGPU_ADAPTER;
    else process.env.CELLSCOPE_WEBGPU_ADAPTER = saved;
  }
});
