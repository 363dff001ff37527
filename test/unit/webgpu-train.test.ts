/**
 * The real training loop (src/train/loop.ts) on the WebGPU backend (lavapipe
 * on machines without a GPU, see scripts/setup-lavapipe.sh) against wasm: the
 * same per-step loss sequence within 1e-3 relative with every random part of
 * the recipe on (augmentation, cutout, drop path, auxiliary head), the
 * adapter recorded in the run, tensors (and GPU bytes) stable across epochs
 * on both engines, an interrupted webgpu run resuming exactly, the landscape
 * job on webgpu equal to wasm's, and a batch that does not fit failing the
 * run with an error that names the batch size and the backend.
 *
 * The webgpu tests skip, saying why, where Dawn finds no adapter; the wasm
 * halves run everywhere.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { builtin } from '../../src/genotype/library.js';
import { presetSettings } from '../../src/runs/presets.js';
import { readMetricsFile, readRunRecord } from '../../src/runs/runStore.js';
import type { LandscapeFile } from '../../src/shared/landscapeTypes.js';
import { METRICS_TIME_FIELDS, parseProgressLine, type MetricsLine, type RunConfig } from '../../src/shared/runTypes.js';
import { readLandscape } from '../../src/runs/reportRuns.js';
import { tryWebGpu } from './train-helpers.js';
import { runLandscape } from '../../src/train/probes/landscape.js';
import { resumeTraining, startTraining, type StepReport, type TrainGenotype, type TrainOutcome } from '../../src/train/loop.js';
import { explainDeviceError, webgpuMemory, webgpuSession } from '../../src/train/webgpu/device.js';

const DARTS_V2: TrainGenotype = { name: 'DARTS_V2', genotype: builtin('DARTS_V2')!.genotype, ref: 'DARTS_V2', origin: 'built-in' };

/**
 * Three epochs of two steps at a size lavapipe runs in seconds, every random
 * part of the recipe on. The learning rate is below the quick preset's 0.05:
 * there, on batches of 8, rounding differences between any two engines (wasm
 * against the cpu reference too) grow about tenfold per step and pass 1e-3
 * by step 5; at 0.01 they stay near 1e-4 over these six steps.
 */
const TINY: RunConfig = {
  ...presetSettings('quick', 'synthetic'),
  dataset: 'synthetic',
  dataDir: null,
  download: false,
  preset: 'quick',
  seed: 11,
  lr: 0.01,
  backend: 'wasm',
  epochs: 3,
  channels: 4,
  layers: 3,
  batchSize: 8,
  trainSubset: 16,
  testSubset: 8,
  gradVarianceBatches: 2,
  auxiliary: true,
  augment: true,
  dropPath: 0.3,
  cutout: true,
  cutoutLength: 8,
};

interface Trained {
  readonly outcome: TrainOutcome;
  readonly steps: StepReport[];
  readonly metrics: MetricsLine[];
  /** tf.memory().numTensors and the GPU bytes in use when each epoch's line is printed. */
  readonly tensors: number[];
  readonly gpuBytes: Array<number | undefined>;
}

function environment(captured: Omit<Trained, 'outcome'>, onStep?: (s: StepReport) => void) {
  const cancel = { requested: false };
  return {
    stdout: (text: string) => {
      for (const raw of text.split('\n')) {
        const line = parseProgressLine(raw);
        if (line?.type !== 'epoch') continue;
        captured.metrics.push(line.metrics);
        captured.tensors.push(tf.memory().numTensors);
        captured.gpuBytes.push(webgpuMemory()?.inUse);
      }
    },
    stderr: () => {},
    handleSignals: false,
    progressIntervalMs: 0,
    cancel,
    onStep: (s: StepReport) => {
      captured.steps.push(s);
      onStep?.(s);
    },
  };
}

/** Trains TINY on `backend` through startTraining; `onStep` may interfere (inject a failure, cancel). */
async function train(backend: 'wasm' | 'tfjs-webgpu', config: Partial<RunConfig> = {}, onStep?: (s: StepReport, cancel: { requested: boolean }) => void): Promise<Trained> {
  const captured = { steps: [], metrics: [], tensors: [], gpuBytes: [] };
  const env = environment(captured, (s) => onStep?.(s, env.cancel));
  const outcome = await startTraining(DARTS_V2, { ...TINY, ...config, backend }, mkdtempSync(join(tmpdir(), `cellscope-${backend}-`)), env);
  return { outcome, ...captured };
}

let unavailable: string | undefined;
let wasm: Trained;
/** The uninterrupted webgpu run, once trained. */
let webgpu: Trained | undefined;

before(async () => {
  ({ unavailable } = await tryWebGpu());
  wasm = await train('wasm');
  assert.equal(wasm.outcome.status, 'completed', wasm.outcome.reason);
});

test('wasm through the real loop: the tensor count after epoch 1 equals that after epochs 2 and 3', () => {
  assert.equal(wasm.tensors.length, 3);
  assert.equal(wasm.tensors[1], wasm.tensors[0], `tensors after each epoch: ${wasm.tensors.join(', ')}`);
  assert.equal(wasm.tensors[2], wasm.tensors[0], `tensors after each epoch: ${wasm.tensors.join(', ')}`);
});

test('webgpu through the real loop: wasm\'s per-step losses within 1e-3 relative, the adapter recorded, tensors and GPU bytes stable across epochs', async (t) => {
  if (unavailable !== undefined) {
    t.skip(unavailable);
    return;
  }
  const gpu = await train('tfjs-webgpu');
  assert.equal(gpu.outcome.status, 'completed', gpu.outcome.reason);
  webgpu = gpu;
  t.diagnostic(`wasm ${wasm.steps.map((s) => s.loss.toFixed(5)).join(' ')}; webgpu ${gpu.steps.map((s) => s.loss.toFixed(5)).join(' ')}`);
  assert.equal(gpu.steps.length, 6);
  assert.equal(wasm.steps.length, 6);
  // The run learns (else equal sequences would prove little): the loss moves.
  assert.ok(Math.abs(wasm.steps[5]!.loss - wasm.steps[0]!.loss) > 1e-3, 'the wasm loss moved');
  for (let i = 0; i < wasm.steps.length; i++) {
    const rel = Math.abs(gpu.steps[i]!.loss - wasm.steps[i]!.loss) / Math.abs(wasm.steps[i]!.loss);
    assert.ok(rel < 1e-3, `step ${i + 1}: webgpu ${gpu.steps[i]!.loss} vs wasm ${wasm.steps[i]!.loss} (relative ${rel})`);
  }
  // Evaluation and the gradient-variance probe read asynchronously too.
  for (let e = 0; e < 3; e++) {
    const [w, g] = [wasm.metrics[e]!, gpu.metrics[e]!];
    assert.ok(Math.abs(g.testLoss - w.testLoss) <= 1e-3 * Math.abs(w.testLoss), `epoch ${e + 1} test loss: webgpu ${g.testLoss} vs wasm ${w.testLoss}`);
    assert.ok(g.gradVariance !== null && w.gradVariance !== null);
    assert.ok(Math.abs(g.gradVariance - w.gradVariance) <= 1e-2 * w.gradVariance, `epoch ${e + 1} gradient variance: webgpu ${g.gradVariance} vs wasm ${w.gradVariance}`);
  }
  assert.equal(gpu.tensors[1], gpu.tensors[0], `tensors after each epoch: ${gpu.tensors.join(', ')}`);
  assert.equal(gpu.tensors[2], gpu.tensors[0], `tensors after each epoch: ${gpu.tensors.join(', ')}`);
  assert.equal(gpu.gpuBytes[2], gpu.gpuBytes[0], `GPU bytes in use after each epoch: ${gpu.gpuBytes.join(', ')}`);
  const record = readRunRecord(gpu.outcome.dir);
  assert.equal(record.backend?.backend, 'tfjs-webgpu');
  assert.ok(record.backend?.adapter !== undefined, 'the adapter is recorded');
  assert.equal(record.backend.device, record.backend.adapter.kind === 'hardware' ? 'gpu' : 'cpu');
  assert.ok(record.backend.adapter.vendor !== undefined && record.backend.adapter.architecture !== undefined);
});

test('webgpu: a run cancelled mid-epoch resumes (checkpoint read back from the GPU) to the losses and metrics of the uninterrupted run, on its adapter', async (t) => {
  if (unavailable !== undefined || webgpu === undefined) {
    t.skip(unavailable ?? 'needs the uninterrupted webgpu run');
    return;
  }
  const first = await train('tfjs-webgpu', {}, (s, cancel) => {
    if (s.epoch === 2 && s.step === 1) cancel.requested = true;
  });
  assert.equal(first.outcome.status, 'cancelled', first.outcome.reason);
  const captured = { steps: [] as StepReport[], metrics: [] as MetricsLine[], tensors: [] as number[], gpuBytes: [] as Array<number | undefined> };
  const resumed = await resumeTraining(first.outcome.dir, DARTS_V2.genotype, environment(captured));
  assert.equal(resumed.status, 'completed', resumed.reason);
  assert.deepEqual([...first.steps, ...captured.steps].map((s) => s.loss), webgpu.steps.map((s) => s.loss));
  const untimed = (m: MetricsLine) => {
    const copy: Record<string, unknown> = { ...m };
    for (const key of METRICS_TIME_FIELDS) delete copy[key];
    return copy;
  };
  assert.deepEqual(readMetricsFile(first.outcome.dir).map(untimed), webgpu.metrics.map(untimed));
  const record = readRunRecord(first.outcome.dir);
  assert.equal(record.backend?.adapter?.name, readRunRecord(webgpu.outcome.dir).backend?.adapter?.name);
});

test('the landscape of a run (loss, accuracy, gradient variance) on webgpu equals wasm\'s', async (t) => {
  if (unavailable !== undefined) {
    t.skip(unavailable);
    return;
  }
  const surfaces = new Map<string, LandscapeFile>();
  for (const backend of ['wasm', 'tfjs-webgpu'] as const) {
    // The same trained weights for both: a copy of the wasm run each.
    const dir = join(mkdtempSync(join(tmpdir(), 'cellscope-landscape-')), 'run');
    cpSync(wasm.outcome.dir, dir, { recursive: true });
    // Training batches for the variance: the run's test set is one batch, and this compares engines, not splits.
    const outcome = await runLandscape(dir, { grid: 3, range: 0.5, what: ['loss', 'variance'], varianceBatches: 2, varianceSplit: 'train', backend }, { stdout: () => {}, stderr: () => {} });
    assert.equal(outcome.status, 'completed');
    surfaces.set(backend, readLandscape(dir)!);
  }
  const [w, g] = [surfaces.get('wasm')!, surfaces.get('tfjs-webgpu')!];
  assert.equal(g.backend, 'tfjs-webgpu');
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      const at = `(${i}, ${j})`;
      assert.ok(Math.abs(g.loss[i]![j]! - w.loss[i]![j]!) <= 1e-4 * Math.abs(w.loss[i]![j]!), `loss at ${at}: webgpu ${g.loss[i]![j]} vs wasm ${w.loss[i]![j]}`);
      assert.equal(g.accuracy[i]![j], w.accuracy[i]![j], `accuracy at ${at}`);
      const [gv, wv] = [g.variance![i]![j]!, w.variance![i]![j]!];
      assert.ok(Math.abs(gv - wv) <= 1e-3 * wv, `variance at ${at}: webgpu ${gv} vs wasm ${wv}`);
    }
  }
});

/** Makes the active backend's next reads fail with `error` (what an engine does when memory runs out); returns the undo. */
function failReads(error: Error): () => void {
  const backend = tf.backend() as unknown as { read: (dataId: object) => Promise<unknown> };
  const original = backend.read;
  backend.read = () => Promise.reject(error);
  return () => {
    backend.read = original;
  };
}

test('a batch that does not fit on wasm fails the run with an error naming the batch size and the backend', async () => {
  let restore: (() => void) | undefined;
  // What a real wasm out-of-memory looks like: malloc returns 0 and the write lands outside the heap.
  const run = await train('wasm', { epochs: 1 }, (s) => {
    if (s.step === 1) restore ??= failReads(new WebAssembly.RuntimeError('memory access out of bounds'));
  });
  restore?.();
  assert.equal(run.outcome.status, 'failed');
  assert.equal(run.steps.length, 1);
  assert.match(run.outcome.reason!, /^a batch of 8 images does not fit in memory on wasm \(cpu\) during training: memory access out of bounds\. Lower the batch size \(--batch\)/);
  assert.equal(readRunRecord(run.outcome.dir).reason, run.outcome.reason);
});

test('a batch that does not fit on webgpu (Dawn\'s out-of-memory) fails the run naming the batch size, the backend and the adapter', async (t) => {
  if (unavailable !== undefined) {
    t.skip(unavailable);
    return;
  }
  let restore: (() => void) | undefined;
  let adapterName = '';
  const run = await train('tfjs-webgpu', { epochs: 1 }, (s) => {
    if (s.step !== 1) return;
    adapterName = webgpuSession()!.adapter.name;
    restore ??= failReads(explainDeviceError({ message: 'Out of memory: allocation of 536870912 bytes failed.', type: 'GPUOutOfMemoryError' }, adapterName));
  });
  restore?.();
  assert.equal(run.outcome.status, 'failed');
  assert.ok(run.outcome.reason!.startsWith(`a batch of 8 images does not fit in memory on tfjs-webgpu on ${adapterName} (`), run.outcome.reason);
  assert.match(run.outcome.reason!, /during training: the batch does not fit on .*Lower the batch size \(--batch\).*CELLSCOPE_WEBGPU_POOL_MIB/);
});
