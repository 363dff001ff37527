/**
 * The loss landscape and gradient-variance surface of a trained run (Shu,
 * Wang & Cai, Section 4; Li et al. 2018): the run's final weights w are moved
 * to w + α·d₁ + β·d₂ for every (α, β) of a grid over [−range, range]², with
 * d₁, d₂ seeded filter-normalised directions (directions.ts), and at each
 * point
 * - `loss`: test loss and accuracy with the network in evaluation mode
 *   (BatchNorm running statistics, which are never moved);
 * - `variance`: the gradient variance of the per-epoch probe
 *   (gradVariance.ts) over K fixed mini-batches drawn once from the seed.
 *   By default as the paper measured it (Fig. 22): batches of the *test*
 *   set (the same images as the loss), BatchNorm in evaluation mode like
 *   the loss grid, so the loss is plain cross-entropy (the auxiliary head
 *   runs only in training). `varianceSplit: 'train'` and `bnMode: 'train'`
 *   give the per-epoch probe's setting instead (training batches; batch
 *   statistics, running ones untouched; the auxiliary loss included).
 *
 * Resumable. Every computed point is appended at once, one JSON line, to
 * `landscape.points.jsonl` in the run folder (its first line is the spec);
 * a restarted job reads it and computes only what is missing. Each point is
 * computed from the saved weights and the seeded directions alone, never
 * from the previous point, so a resumed grid equals an uninterrupted one.
 * When every point is there, `landscape.json` is written (atomically).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { analyze, findGenotype } from '../../genotype/document.js';
import { NumpyRandomState } from '../../genotype/numpyRandom.js';
import {
  LANDSCAPE_FILE,
  LANDSCAPE_POINTS_FILE,
  landscapeCoordinates,
  sameLandscapeSpec,
  type LandscapeFile,
  type LandscapeGrid,
  type LandscapeQuantity,
  type LandscapeSpec,
  PAPER_LANDSCAPE,
  varianceSettings,
  type BnMode,
  type VarianceSplit,
} from '../../shared/landscapeTypes.js';
import type { RunRecord } from '../../shared/runTypes.js';
import { appendFileNoFollow, writeFileAtomic } from '../../runs/atomicFile.js';
import { selectBackend, selectTensorflowBackend, tensorflowBackendFor, type BackendChoice, type BackendRecord } from '../backend.js';
import { readCheckpoint } from '../checkpoint.js';
import { batches, loadRunDataset, type Batch, type Dataset, type ImageSet } from '../data/index.js';
import { takeSubset } from '../data/subset.js';
import { buildNetwork, type Network } from '../network/network.js';
import { batchDoesNotFit } from '../memory.js';
import { crossEntropy } from '../optim.js';
import { readLandscape } from '../../runs/reportRuns.js';
import { readRunRecord, takeRunWriter } from '../../runs/runStore.js';
import { randomDirection, type Direction, type WeightArray } from './directions.js';
import type { Genotype } from '../../genotype/model.js';
import type { GpuAdapter } from '../../shared/adapters.js';
import { trainedBackend } from '../../shared/backendTypes.js';
import { PLAN_AUX_WEIGHT } from '../engineTrainer.js';
import { openPlanDevice } from '../gpuplan/device.js';
import type { GpuDevice } from '../gpuplan/engine.js';
import { layoutOf } from '../gpuplan/layout.js';
import { LandscapeEngine } from './landscapeEngine.js';
import { gradientVariance, type GradVarianceResult } from './gradVariance.js';

export class LandscapeError extends Error {}

export { readLandscape };

/** What to compute; `spec` fields left out take the defaults below. */
export interface LandscapeRequest {
  readonly grid?: number;
  readonly range?: number;
  readonly seed?: number;
  /** Test images to use (class-balanced subset); undefined or null: the run's whole test set. */
  readonly subset?: number | null;
  readonly what?: readonly LandscapeQuantity[];
  /** K of the variance probe; default the run's gradVarianceBatches, else 4. */
  readonly varianceBatches?: number;
  /** The variance probe's data: `test` (the paper's, default) or `train`. */
  readonly varianceSplit?: VarianceSplit;
  /** The variance probe's BatchNorm: `eval` (the paper's and the loss grid's, default) or `train`. */
  readonly bnMode?: BnMode;
  /** Images per forward pass when evaluating the loss (memory only: the numbers do not depend on it). */
  readonly evalBatchSize?: number;
  /** Discard points computed with other settings instead of refusing. */
  readonly restart?: boolean;
  /** Override the backend (default: the one the run was trained on). */
  readonly backend?: BackendChoice;
}

export const LANDSCAPE_DEFAULTS = {
  grid: PAPER_LANDSCAPE.grid,
  range: PAPER_LANDSCAPE.range,
  seed: 0,
  evalBatchSize: 250,
  varianceBatches: 4,
  varianceSplit: PAPER_LANDSCAPE.varianceSplit,
  bnMode: PAPER_LANDSCAPE.bnMode,
} as const;

export interface LandscapeEnvironment {
  /** Progress JSON lines. */
  readonly stdout: (text: string) => void;
  /** Messages for people. */
  readonly stderr: (text: string) => void;
  /** Set `requested` to stop after the point in progress (the points so far are kept). */
  readonly cancel?: { requested: boolean };
  readonly progressIntervalMs?: number;
}

export interface LandscapeOutcome {
  readonly status: 'completed' | 'cancelled';
  /** landscape.json, when completed. */
  readonly file?: string;
  /** (point, quantity) pairs computed by this call and found already done. */
  readonly computed: number;
  readonly reused: number;
}

/** A progress line on stdout. */
export interface LandscapeProgressLine {
  readonly type: 'landscape';
  readonly runId: string;
  readonly done: number;
  readonly total: number;
  readonly pointsPerSecond: number | null;
  readonly etaSeconds: number | null;
  readonly status?: 'completed' | 'cancelled';
}

// ---- moving the weights ------------------------------------------------------

/**
 * The network's parameters, moved to w + α·d₁ + β·d₂ on demand. Keeps the
 * trained values and both directions as tensors; each move computes from
 * those, so the order of moves never changes a result.
 */
export class PerturbedWeights {
  private readonly entries: { variable: tf.Variable; base: tf.Tensor; d1: tf.Tensor; d2: tf.Tensor }[] = [];

  constructor(params: ReadonlyMap<string, tf.Variable>, first: Direction, second: Direction) {
    for (const [name, variable] of params) {
      const a = first.get(name);
      const b = second.get(name);
      if (a === undefined || b === undefined) throw new LandscapeError(`no direction for parameter ${name}`);
      // Excluded parameters (zero directions) are left alone entirely, so they keep their exact values.
      if (a.every((x) => x === 0) && b.every((x) => x === 0)) continue;
      this.entries.push({
        variable,
        base: tf.keep(variable.clone()),
        d1: tf.keep(tf.tensor(a, variable.shape, 'float32')),
        d2: tf.keep(tf.tensor(b, variable.shape, 'float32')),
      });
    }
  }

  moveTo(alpha: number, beta: number): void {
    tf.tidy(() => {
      for (const e of this.entries) e.variable.assign(tf.add(e.base, tf.add(tf.mul(e.d1, alpha), tf.mul(e.d2, beta))));
    });
  }

  /** Back to the trained weights. */
  reset(): void {
    for (const e of this.entries) e.variable.assign(e.base);
  }

  dispose(): void {
    for (const e of this.entries) tf.dispose([e.base, e.d1, e.d2]);
    this.entries.length = 0;
  }
}

/**
 * The parameters' values and layouts, for drawing directions. Synchronous,
 * so only on backends that read synchronously (cpu, wasm, tensorflow); the
 * landscape job uses `readWeightArrays`.
 */
export function weightArrays(network: Network): Map<string, WeightArray> {
  const out = new Map<string, WeightArray>();
  for (const [name, v] of network.params) {
    out.set(name, { shape: v.shape, layout: network.store.info.get(name)!.layout, data: v.dataSync() as Float32Array });
  }
  return out;
}

/** `weightArrays` on any backend: the values are read with `await data()`. */
export async function readWeightArrays(network: Network): Promise<Map<string, WeightArray>> {
  const entries = [...network.params];
  const values = await Promise.all(entries.map(([, v]) => v.data()));
  return new Map(entries.map(([name, v], i) => [name, { shape: v.shape, layout: network.store.info.get(name)!.layout, data: values[i] as Float32Array }]));
}

// ---- evaluating a point ------------------------------------------------------

/** Input tensors and labels of the evaluation images, made once per job. */
export interface EvalBatches {
  readonly x: tf.Tensor4D[];
  readonly y: tf.Tensor1D[];
  readonly count: number;
}

/** Mean cross-entropy and accuracy in evaluation mode, summed on the device with one read at the end. */
export async function evaluateLoss(network: Network, data: EvalBatches): Promise<{ loss: number; accuracy: number }> {
  const sums = tf.tidy(() => {
    let loss: tf.Tensor = tf.scalar(0);
    let hits: tf.Tensor = tf.scalar(0);
    data.x.forEach((x, k) => {
      const y = data.y[k]!;
      const logits = network.forward(x, { training: false }).logits;
      loss = tf.add(loss, tf.mul(crossEntropy(logits, y), x.shape[0]));
      hits = tf.add(hits, tf.sum(tf.cast(tf.equal(tf.argMax(logits, -1), y), 'float32')));
    });
    return [loss, hits];
  });
  try {
    const [lossSum, correct] = await Promise.all(sums.map(async (t) => (await t.data())[0]!));
    return { loss: lossSum! / data.count, accuracy: correct! / data.count };
  } finally {
    tf.dispose(sums);
  }
}

/**
 * The probe's objective. BatchNorm in `train` mode: as in training, cross-entropy plus the weighted auxiliary
 * loss when the head exists. In `eval` mode: the loss the grid evaluates (the head does not run outside training).
 */
export function probeObjective(network: Network, x: tf.Tensor4D, y: tf.Tensor1D, auxiliaryWeight: number, bnMode: BnMode): tf.Scalar {
  if (bnMode === 'eval') return crossEntropy(network.forward(x, { training: false }).logits, y);
  const out = network.forward(x, { training: true, updateStats: false });
  const main = crossEntropy(out.logits, y);
  return out.auxLogits === undefined ? main : (tf.add(main, tf.mul(crossEntropy(out.auxLogits, y), auxiliaryWeight)) as tf.Scalar);
}

// ---- the points file --------------------------------------------------------

interface PointsHeader extends LandscapeSpec {
  readonly type: 'header';
  readonly runId: string;
  readonly epoch: number;
}

interface PointLine {
  readonly q: LandscapeQuantity;
  /** Row (second direction) and column (first direction). */
  readonly i: number;
  readonly j: number;
  readonly loss?: number | null;
  readonly accuracy?: number | null;
  readonly variance?: number | null;
}

const key = (q: LandscapeQuantity, i: number, j: number) => `${q}:${i}:${j}`;

/** The header and the complete lines of a points file; a line cut by a crash is dropped. */
export function readPointsFile(path: string): { header?: PointsHeader; points: Map<string, PointLine>; clean: boolean } {
  const points = new Map<string, PointLine>();
  if (!existsSync(path)) return { points, clean: true };
  const text = readFileSync(path, 'utf8');
  let header: PointsHeader | undefined;
  let clean = text.length === 0 || text.endsWith('\n');
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      clean = false;
      continue;
    }
    const v = value as Partial<PointsHeader & PointLine>;
    if (v.type === 'header') header = value as PointsHeader;
    else if ((v.q === 'loss' || v.q === 'variance') && typeof v.i === 'number' && typeof v.j === 'number') points.set(key(v.q, v.i, v.j), value as PointLine);
  }
  return header !== undefined ? { header, points, clean } : { points, clean };
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

function emptyGrid(n: number): LandscapeGrid {
  return Array.from({ length: n }, () => new Array<number | null>(n).fill(null));
}

// ---- the job ------------------------------------------------------------------

/** The settings a request resolves to for this run. */
export function resolveSpec(record: RunRecord, request: LandscapeRequest): LandscapeSpec {
  const grid = request.grid ?? LANDSCAPE_DEFAULTS.grid;
  const range = request.range ?? LANDSCAPE_DEFAULTS.range;
  if (!Number.isInteger(grid) || grid < 1) throw new LandscapeError(`grid must be a positive whole number, got ${grid}`);
  if (!(range > 0)) throw new LandscapeError(`range must be positive, got ${range}`);
  const subset = request.subset ?? null;
  const testSize = record.dataset?.testSize ?? record.config.testSubset;
  const varianceSplit = request.varianceSplit ?? LANDSCAPE_DEFAULTS.varianceSplit;
  const bnMode = request.bnMode ?? LANDSCAPE_DEFAULTS.bnMode;
  // A subset as large as the test set is the test set: one spec, not two.
  const usedSubset = subset !== null && testSize !== null && subset >= testSize ? null : subset;
  // As many probe batches as asked (default: the run's own probe), but no more than the split holds.
  const splitSize = varianceSplit === 'test' ? (usedSubset ?? testSize) : (record.dataset?.trainSize ?? record.config.trainSubset);
  const wanted = request.varianceBatches ?? (record.config.gradVarianceBatches > 0 ? record.config.gradVarianceBatches : LANDSCAPE_DEFAULTS.varianceBatches);
  const varianceBatches = splitSize === null ? wanted : Math.min(wanted, Math.floor(splitSize / record.config.batchSize));
  return {
    grid,
    range,
    seed: request.seed ?? LANDSCAPE_DEFAULTS.seed,
    subset: usedSubset,
    varianceBatches,
    varianceBatchSize: record.config.batchSize,
    varianceSplit,
    bnMode,
  };
}

function hasQuantities(file: LandscapeFile, what: readonly LandscapeQuantity[]): boolean {
  return what.every((q) => q === 'loss' || file.variance !== undefined);
}

/** The test images the landscape uses: the run's test set, or a class-balanced subset of it. */
function evaluationImages(dataset: Dataset, subset: number | null): ImageSet {
  if (subset === null || subset >= dataset.test.count) return dataset.test;
  return takeSubset(dataset.test, subset, dataset.classes, new NumpyRandomState(0), 'test images');
}

/**
 * Computes what is missing of the run's landscape and writes landscape.json
 * when the grid is complete. The run must have a checkpoint (its last
 * completed epoch's weights are the centre).
 */
export async function runLandscape(runDir: string, request: LandscapeRequest, env: LandscapeEnvironment): Promise<LandscapeOutcome> {
  // As the run's one writer: not while a resume trains it (or sets its files aside) under the landscape.
  const writer = takeRunWriter(runDir, 'probed');
  try {
    return await landscapeOf(runDir, request, env);
  } finally {
    writer.release();
  }
}

async function landscapeOf(runDir: string, request: LandscapeRequest, env: LandscapeEnvironment): Promise<LandscapeOutcome> {
  const record = readRunRecord(runDir);
  const spec = resolveSpec(record, request);
  const what: LandscapeQuantity[] = request.what !== undefined && request.what.length > 0 ? [...new Set(request.what)] : ['loss'];
  // Loss and accuracy are in every landscape file; the variance surface is an addition.
  if (!what.includes('loss')) what.unshift('loss');
  const checkpointPath = join(runDir, 'checkpoint.bin');
  if (!existsSync(checkpointPath)) throw new LandscapeError(`run ${record.id} has no checkpoint yet: train it first`);
  const checkpoint = readCheckpoint<{ epoch?: number; step?: number }>(checkpointPath);
  const epoch = checkpoint.meta.epoch ?? record.epochsCompleted;
  if ((checkpoint.meta.step ?? 0) !== 0) env.stderr(`note: run ${record.id} stopped mid-epoch; using its weights after ${epoch} epochs and ${checkpoint.meta.step} steps\n`);

  const existing = readLandscape(runDir);
  if (existing !== undefined && !request.restart && sameLandscapeSpec(existing, spec) && existing.epoch === epoch && hasQuantities(existing, what)) {
    return { status: 'completed', file: join(runDir, LANDSCAPE_FILE), computed: 0, reused: spec.grid * spec.grid * what.length };
  }

  const pointsPath = join(runDir, LANDSCAPE_POINTS_FILE);
  const read = readPointsFile(pointsPath);
  const header: PointsHeader = { type: 'header', runId: record.id, epoch, ...spec };
  const sameJob = read.header !== undefined && sameLandscapeSpec(read.header, spec) && read.header.epoch === epoch;
  // The points of a finished landscape with other settings are simply superseded; an unfinished one is not thrown away unasked.
  const finished = read.header !== undefined && existing !== undefined && sameLandscapeSpec(existing, read.header) && existing.epoch === read.header.epoch;
  // (A log without points has nothing to lose either.)
  if (read.header !== undefined && read.points.size > 0 && !sameJob && !finished && !request.restart) {
    const h = read.header;
    throw new LandscapeError(
      `run ${record.id} has a landscape in progress with other settings (grid ${h.grid}, range ${h.range}, seed ${h.seed}, subset ${h.subset ?? 'all'}, variance on ${varianceSettings(h).varianceSplit} with BatchNorm ${varianceSettings(h).bnMode}, epoch ${h.epoch}); ` +
        'finish it with the same settings or start over with --restart',
    );
  }
  const points = sameJob && !request.restart ? read.points : new Map<string, PointLine>();
  if (read.header === undefined || points.size === 0 || !read.clean || points !== read.points) {
    // A fresh file, or a rewrite without the line a crash cut short (appending after it would corrupt the next line).
    writeFileAtomic(pointsPath, [header, ...points.values()].map((l) => `${JSON.stringify(l)}\n`).join(''));
  }

  const coordinates = landscapeCoordinates(spec.grid, spec.range);
  const tasks: { q: LandscapeQuantity; i: number; j: number }[] = [];
  for (let i = 0; i < spec.grid; i++) for (let j = 0; j < spec.grid; j++) for (const q of what) if (!points.has(key(q, i, j))) tasks.push({ q, i, j });
  const total = spec.grid * spec.grid * what.length;
  const reused = total - tasks.length;

  const cancel = env.cancel ?? { requested: false };
  let computed = 0;
  let backendName = existing?.backend ?? '';
  if (tasks.length > 0) {
    const planned = await planEngineFor(record, request, env);
    try {
      const backend = planned?.backend ?? (await selectTensorflowBackend(request.backend ?? (record.backend !== null ? tensorflowBackendFor(record.backend) : (record.config.backend as BackendChoice))));
      backendName = backend.backend;
      computed = await computePoints(backend, planned?.device);
    } finally {
      (planned?.device as unknown as { destroy?(): void } | undefined)?.destroy?.();
    }
  }
  if (computed < tasks.length) {
    env.stdout(`${JSON.stringify({ type: 'landscape', runId: record.id, done: reused + computed, total, pointsPerSecond: null, etaSeconds: null, status: 'cancelled' } satisfies LandscapeProgressLine)}\n`);
    return { status: 'cancelled', computed, reused };
  }

  const final = readPointsFile(pointsPath).points;
  const loss = emptyGrid(spec.grid);
  const accuracy = emptyGrid(spec.grid);
  const variance = what.includes('variance') || existing?.variance !== undefined ? emptyGrid(spec.grid) : undefined;
  let hasAllVariance = variance !== undefined;
  for (let i = 0; i < spec.grid; i++) {
    for (let j = 0; j < spec.grid; j++) {
      const l = final.get(key('loss', i, j))!;
      loss[i]![j] = l.loss ?? null;
      accuracy[i]![j] = l.accuracy ?? null;
      const v = final.get(key('variance', i, j));
      if (variance !== undefined) {
        if (v === undefined) hasAllVariance = false;
        else variance[i]![j] = v.variance ?? null;
      }
    }
  }
  const file: LandscapeFile = {
    format: 1,
    runId: record.id,
    epoch,
    ...spec,
    directions: 'filter-normalized',
    images: imagesUsed(record, spec),
    coordinates,
    loss,
    accuracy,
    ...(variance !== undefined && hasAllVariance ? { variance } : {}),
    backend: backendName,
    createdAt: new Date().toISOString(),
  };
  const path = join(runDir, LANDSCAPE_FILE);
  writeFileAtomic(path, `${JSON.stringify(file)}\n`);
  env.stdout(`${JSON.stringify({ type: 'landscape', runId: record.id, done: total, total, pointsPerSecond: null, etaSeconds: 0, status: 'completed' } satisfies LandscapeProgressLine)}\n`);
  return { status: 'completed', file: path, computed, reused };

  async function computePoints(backend: BackendRecord, device: GpuDevice | undefined): Promise<number> {
    /** An engine's out-of-memory, said with the batch size and backend (memory.ts). */
    const fitting = async <T>(batchSize: number, phase: string, work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (error) {
        throw batchDoesNotFit(error, { batchSize, backend, phase });
      }
    };
    const evalBatchSize = request.evalBatchSize ?? LANDSCAPE_DEFAULTS.evalBatchSize;
    const context = await openLandscapeContext(runDir, spec, {
      evalBatchSize: request.evalBatchSize,
      variance: what.includes('variance'),
      ...(device !== undefined && backend.adapter !== undefined ? { engine: { device, adapter: backend.adapter } } : {}),
    });
    if (device !== undefined && context.engine === undefined) {
      // A network the engine does not take (a one-channel stem): TensorFlow.js beside it computes the grid.
      backendName = tf.getBackend();
      env.stderr(`note: the plan engine takes 3-channel networks; this run's landscape is computed on TensorFlow.js ${backendName}\n`);
    }
    if (context.engine !== undefined) {
      env.stderr(`landscape on the plan engine (webgpu, ${backend.adapter?.name ?? 'WebGPU adapter'})${what.includes('variance') && !context.engine.variance ? '; the variance surface with BatchNorm in evaluation mode on TensorFlow.js wasm (the engine differentiates in training mode only)' : ''}\n`);
    }
    try {
      const started = performance.now();
      let lastReport = -Infinity;
      const interval = env.progressIntervalMs ?? 1000;
      let done = 0;
      let at: [number, number] | undefined;
      for (const task of tasks) {
        if (cancel.requested) break;
        if (at === undefined || at[0] !== task.i || at[1] !== task.j) {
          context.moveTo(coordinates[task.j]!, coordinates[task.i]!);
          at = [task.i, task.j];
        }
        let line: PointLine;
        if (task.q === 'loss') {
          const r = await fitting(evalBatchSize, 'the landscape\'s loss evaluation', () => context.loss());
          line = { q: 'loss', i: task.i, j: task.j, loss: finiteOrNull(r.loss), accuracy: finiteOrNull(r.accuracy) };
        } else {
          const r = await fitting(spec.varianceBatchSize, 'the landscape\'s gradient-variance probe', () => context.variance());
          line = { q: 'variance', i: task.i, j: task.j, variance: finiteOrNull(r.variance) };
        }
        // Written before the next point starts: a kill loses at most the point in progress.
        appendFileNoFollow(pointsPath, `${JSON.stringify(line)}\n`);
        done++;
        const now = performance.now();
        if (now - lastReport >= interval || done === tasks.length) {
          lastReport = now;
          const rate = done / ((now - started) / 1000);
          env.stdout(
            `${JSON.stringify({ type: 'landscape', runId: record.id, done: reused + done, total, pointsPerSecond: rate, etaSeconds: (tasks.length - done) / rate } satisfies LandscapeProgressLine)}\n`,
          );
        }
        // Lets a signal handler or the editor's cancel run between points.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return done;
    } finally {
      context.dispose();
    }
  }
}

/**
 * The plan engine for a landscape, when the run was trained on it (backend
 * `webgpu`, or `webgpu` asked for): the adapter as training chooses it (the
 * one the run trained on unless CELLSCOPE_WEBGPU_ADAPTER names another), with
 * TensorFlow.js wasm beside it for the directions. No adapter, or a network
 * the engine does not take: undefined, said on stderr (the grid is computed
 * on TensorFlow.js as before).
 */
async function planEngineFor(record: RunRecord, request: LandscapeRequest, env: LandscapeEnvironment): Promise<{ backend: BackendRecord; device: GpuDevice } | undefined> {
  const trained = record.backend !== null ? trainedBackend(record.backend) : record.config.backend;
  if ((request.backend ?? trained) !== 'webgpu') return undefined;
  const pinned = record.backend?.adapter !== undefined && !process.env.CELLSCOPE_WEBGPU_ADAPTER ? record.backend.adapter.name : undefined;
  try {
    const backend = await selectBackend('webgpu', pinned !== undefined ? { adapter: pinned } : {});
    if (backend.backend !== 'webgpu' || backend.adapter === undefined) return undefined;
    const { device } = await openPlanDevice({ allowSoftware: true, name: backend.adapter.name });
    return { backend, device };
  } catch (error) {
    env.stderr(`note: the plan engine is not available for the landscape (${(error as Error).message}); computing it on TensorFlow.js\n`);
    return undefined;
  }
}

/** A run's network with its checkpoint's weights and buffers, its dataset, and how a batch becomes the network's input. */
export interface TrainedRun {
  readonly record: RunRecord;
  readonly dataset: Dataset;
  readonly network: Network;
  /** Images as the network's input (grey images repeated on the stem's channels, as in training). */
  readonly toTensor: (b: Batch) => tf.Tensor4D;
  readonly genotype: Genotype;
}

/** Loads a run's network at its last checkpoint on the active backend (the landscape and Hessian probes' common start). */
export async function loadTrainedRun(runDir: string): Promise<TrainedRun> {
  const record = readRunRecord(runDir);
  const config = record.config;
  const checkpointPath = join(runDir, 'checkpoint.bin');
  const checkpoint = readCheckpoint<unknown>(checkpointPath);
  const dataset = await loadRunDataset(config);
  const genotype = findGenotype(analyze(record.genotype.text), record.genotype.name)?.genotype;
  if (genotype === undefined) throw new LandscapeError(`${runDir}/run.json: the recorded genotype text does not define '${record.genotype.name}'`);
  const network = buildNetwork(genotype, {
    channels: config.channels,
    layers: config.layers,
    classes: dataset.classes,
    inputSize: dataset.train.height,
    auxiliary: config.auxiliary,
    seed: config.seed,
  });
  try {
    tf.tidy(() => {
      for (const [group, vars] of [['param', network.params], ['buffer', network.buffers]] as const) {
        for (const [name, v] of vars) {
          const a = checkpoint.arrays.get(`${group}:${name}`);
          if (a === undefined) throw new LandscapeError(`${checkpointPath}: no ${group} ${name} (the network changed?)`);
          v.assign(tf.tensor(a.data, v.shape, 'float32'));
        }
      }
    });
  } catch (error) {
    network.dispose();
    throw error;
  }
  const stemChannels = network.params.get('stem.0.weight')?.shape[2] ?? 3;
  const toTensor = (b: Batch): tf.Tensor4D =>
    tf.tidy(() => {
      const x = tf.tensor4d(b.x, [b.size, dataset.train.height, dataset.train.width, dataset.train.channels], 'float32');
      return stemChannels === x.shape[3] ? x : tf.tile(x, [1, 1, 1, stemChannels]);
    });
  return { record, dataset, network, toTensor, genotype };
}

/** A run's network at its checkpoint with the landscape's directions and data, ready to evaluate points. */
export interface LandscapeContext {
  readonly network: Network;
  readonly weights: PerturbedWeights;
  readonly evalData: EvalBatches;
  /** With the plan engine: it computes the loss grid, and the variance surface when `variance` (BatchNorm in training mode). */
  readonly engine?: { readonly variance: boolean };
  /** Moves the weights the next `loss` and `variance` use to (α, β). */
  moveTo(alpha: number, beta: number): void;
  /** Test loss and accuracy at the current weights. */
  loss(): Promise<{ loss: number; accuracy: number }>;
  /** The gradient-variance probe at the current weights (needs `variance` when opened). */
  variance(): Promise<GradVarianceResult>;
  dispose(): void;
}

/**
 * Loads the run's data, network and checkpoint on the active backend and
 * draws the directions of `spec`. The caller selects the backend first.
 */
export async function openLandscapeContext(
  runDir: string,
  spec: LandscapeSpec,
  options: { readonly evalBatchSize?: number | undefined; readonly variance: boolean; readonly engine?: { readonly device: GpuDevice; readonly adapter: GpuAdapter } },
): Promise<LandscapeContext> {
  const { record, dataset, network, toTensor, genotype } = await loadTrainedRun(runDir);
  const config = record.config;
  const held: tf.Tensor[] = [];
  let weights: PerturbedWeights | undefined;
  let engine: LandscapeEngine | undefined;
  try {
    const arrays = await readWeightArrays(network);
    const first = randomDirection(arrays, spec.seed, 0);
    const second = randomDirection(arrays, spec.seed, 1);
    weights = new PerturbedWeights(network.params, first, second);
    const images = evaluationImages(dataset, spec.subset);
    const evalData: EvalBatches = { x: [], y: [], count: images.count };
    const evalBatches: Batch[] = [];
    for (const b of batches(images, dataset, { batchSize: options.evalBatchSize ?? LANDSCAPE_DEFAULTS.evalBatchSize, shuffle: false, augment: false, rng: new NumpyRandomState(0) })) {
      evalBatches.push(b);
      evalData.x.push(toTensor(b));
      evalData.y.push(tf.tensor1d(b.y, 'int32'));
    }
    held.push(...evalData.x, ...evalData.y);
    const probe: { x: tf.Tensor4D; y: tf.Tensor1D }[] = [];
    const probeBatches: Batch[] = [];
    const { varianceSplit, bnMode } = varianceSettings(spec);
    if (options.variance) {
      const rng = new NumpyRandomState(spec.seed);
      // The paper's variance is over the test images the loss uses; `train` draws from the training set.
      for (const b of batches(varianceSplit === 'test' ? images : dataset.train, dataset, { batchSize: spec.varianceBatchSize, shuffle: true, augment: false, rng, dropLast: true })) {
        probeBatches.push(b);
        probe.push({ x: toTensor(b), y: tf.tensor1d(b.y, 'int32') });
        if (probe.length === spec.varianceBatches) break;
      }
      if (probe.length < 2 || probe.length < spec.varianceBatches) {
        throw new LandscapeError(
          `the ${varianceSplit === 'test' ? 'test images' : 'training set'} give ${probe.length} full batches of ${spec.varianceBatchSize}; the variance probe needs at least 2 (and asks for ${spec.varianceBatches})`,
        );
      }
      for (const p of probe) held.push(p.x, p.y);
    }
    // The engine differentiates in training mode only, with the auxiliary weight its plans compile in.
    const engineVariance = options.variance && bnMode === 'train' && (!config.auxiliary || config.auxiliaryWeight === PLAN_AUX_WEIGHT);
    if (options.engine !== undefined && network.params.get('stem.0.weight')?.shape[2] === 3) {
      engine = await LandscapeEngine.open({
        device: options.engine.device,
        adapter: options.engine.adapter,
        genotype,
        network: { channels: config.channels, layers: config.layers, classes: dataset.classes, inputSize: dataset.train.height, auxiliary: config.auxiliary },
        initial: layoutOf(network),
        inputChannels: dataset.train.channels,
        first,
        second,
        evalBatches,
        probe: engineVariance ? probeBatches : [],
      });
    }
    const moved = weights;
    const onEngine = engine;
    // The TensorFlow.js weights are moved only when it computes something (lazily, before that).
    let wanted: [number, number] = [0, 0];
    let tfAt: [number, number] | undefined = [0, 0];
    const tfMoved = () => {
      if (tfAt === undefined || tfAt[0] !== wanted[0] || tfAt[1] !== wanted[1]) {
        moved.moveTo(wanted[0], wanted[1]);
        tfAt = wanted;
      }
    };
    return {
      network,
      weights: moved,
      evalData,
      ...(onEngine !== undefined ? { engine: { variance: engineVariance } } : {}),
      moveTo: (alpha, beta) => {
        wanted = [alpha, beta];
        onEngine?.moveTo(alpha, beta);
      },
      loss: () => {
        if (onEngine !== undefined) return onEngine.loss();
        tfMoved();
        return evaluateLoss(network, evalData);
      },
      variance: async () => {
        if (probe.length === 0) throw new LandscapeError('this landscape context was opened without the variance probe');
        if (onEngine !== undefined && engineVariance) return onEngine.variance();
        tfMoved();
        return gradientVariance(network.params, probe, (p) => probeObjective(network, p.x, p.y, config.auxiliaryWeight, bnMode));
      },
      dispose: () => {
        onEngine?.destroy();
        moved.dispose();
        tf.dispose(held);
        network.dispose();
      },
    };
  } catch (error) {
    engine?.destroy();
    weights?.dispose();
    tf.dispose(held);
    network.dispose();
    throw error;
  }
}

function imagesUsed(record: RunRecord, spec: LandscapeSpec): number {
  const test = record.dataset?.testSize ?? record.config.testSubset ?? 0;
  return spec.subset === null ? test : Math.min(spec.subset, test);
}

/** Where a run's landscape and its points log live. */
export function landscapePaths(runDir: string): { file: string; points: string } {
  return { file: join(runDir, LANDSCAPE_FILE), points: join(runDir, LANDSCAPE_POINTS_FILE) };
}
