/**
 * The training loop behind `cellscope train` and `cellscope resume`: the DARTS
 * recipe (SGD with momentum, cosine annealing per epoch, gradient clipping,
 * cross-entropy + auxiliary loss, drop path) on a genotype's evaluation
 * network, with per-epoch evaluation and gradient-variance probe, all of it
 * recorded in a run directory (runStore.ts).
 *
 * Reproducibility. Every random draw comes from seeded generators whose state
 * is checkpointed: the data stream (order, crop, flip, cutout), the drop-path
 * masks; the probe's batches are drawn once from the seed. A checkpoint is
 * written atomically after each epoch and, on SIGTERM/SIGINT, at the step
 * where the signal is seen; it holds the data generator's state at the start
 * of the epoch and the number of steps done, so `resume` replays the epoch's
 * batch stream up to that step and continues with the saved weights. On the
 * same backend the metrics of an interrupted and resumed run equal those of
 * an uninterrupted one (time fields apart).
 *
 * Crash safety: a metrics line is appended before its epoch's checkpoint;
 * `resume` drops lines past the checkpoint, so a kill between the two costs
 * the epoch, never a duplicate or a gap.
 *
 * Reads from the device are asynchronous (`await t.data()`), as the WebGPU
 * backend requires in Node; a step's reads (loss, predictions, gradient
 * norm) are issued together, once per step. Tensors that must outlive a
 * `tf.tidy` across an await are disposed explicitly, on every path.
 */
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, hostname } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core registers no gradients by itself.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { cellMetrics, networkCost } from '../genotype/metrics.js';
import type { Genotype } from '../genotype/model.js';
import { NumpyRandomState, type NumpyRandomStateSnapshot } from '../genotype/numpyRandom.js';
import { printGenotype } from '../genotype/printer.js';
import {
  RUN_FORMAT,
  type MetricsLine,
  type RunConfig,
  type RunDatasetInfo,
  type RunGenotype,
  type RunStatus,
} from '../shared/runTypes.js';
import { selectBackend, trainedBackend, type BackendChoice, type BackendName } from './backend.js';
import { readCheckpoint, writeCheckpoint, type Checkpoint } from './checkpoint.js';
import { batchCount, batches, DATASET_INFO, loadRunDataset, type Batch, type Dataset, type DownloadProgress } from './data/index.js';
import { randomDouble } from './data/random.js';
import { buildNetwork, type Network } from './network/network.js';
import { EngineTrainer } from './engineTrainer.js';
import { layoutOf } from './gpuplan/layout.js';
import { batchDoesNotFit } from './memory.js';
import { cosineLr, countMatches, crossEntropy, objective, scaleToNorm, SgdMomentum, sumOfSquares, type NamedArray } from './optim.js';
import { ParallelPool } from './parallel/pool.js';
import { gradientVariance } from './probes/gradVariance.js';
import { ProgressReporter } from './progress.js';
import { HESSIAN_EPOCHS_FILE, HESSIAN_FILE, hessianDue, LANDSCAPE_FILE, LANDSCAPE_POINTS_FILE, type HessianEpochLine } from '../shared/landscapeTypes.js';
import { flatLossOf, HESSIAN_DEFAULTS, measureSmoothness } from './probes/hessian.js';
import {
  CHECKPOINT_FILE,
  createRun,
  METRICS_FILE,
  openRun,
  processStartOf,
  RunBusyError,
  takeRunWriter,
  trainerAlive,
  type RunHandle,
} from '../runs/runStore.js';
import { placementOfEnv } from '../runs/slurm/jobEnv.js';

/** The genotype a run trains, as the CLI resolved it. */
export interface TrainGenotype {
  readonly name: string;
  readonly genotype: Genotype;
  readonly ref: string;
  readonly origin: string;
  readonly variant?: { readonly kind: string; readonly seed: number; readonly of: string };
}

/** Where the trainer reports, and how it is stopped. */
export interface TrainEnvironment {
  /** Progress JSON lines (stdout of the CLI). */
  readonly stdout: (text: string) => void;
  /** Human-readable messages (stderr of the CLI). */
  readonly stderr: (text: string) => void;
  /** Listen for SIGTERM/SIGINT and stop with a checkpoint (default true). */
  readonly handleSignals?: boolean;
  /** Set `requested` to stop at the next step, as a signal would (tests, the editor in-process). */
  readonly cancel?: { requested: boolean };
  readonly progressIntervalMs?: number;
  /** Called after every training step with that step's own loss (the progress lines carry the epoch's running mean). */
  readonly onStep?: (step: StepReport) => void;
  /**
   * Training threads on the CPU backends (wasm, cpu): data-parallel worker
   * threads besides the trainer's own (src/train/parallel). Default: the
   * count a resumed run recorded (1 for runs from before threads were
   * recorded), else every core (os.availableParallelism()). GPU and native
   * backends always train on 1.
   */
  readonly threads?: number;
  /** Tests: the training threads' barrier time limit, and a thread made to fail. */
  readonly parallel?: {
    readonly timeoutMs?: number;
    readonly failWorker?: { readonly rank: number; readonly step: number; readonly how: 'throw' | 'exit' };
  };
}

/** Backends whose training steps data-parallel threads split (the others run on a GPU or are multi-threaded natively). */
const THREADED_BACKENDS: readonly BackendName[] = ['wasm', 'cpu'];

/**
 * Forward multiply-accumulates a thread's shard must hold for a second
 * thread to pay: each thread meets the others at every batch norm (twice a
 * step), so a shard needs enough work between those barriers. Measured
 * (bench/RESULTS.md, "Data-parallel training threads"): DARTS_V2 C=16, 8
 * cells, batch 64 (1.4 G a shard of two) gains 1.6–1.8× on 2 cores; C=8,
 * 4 cells, batch 32 (0.07 G) and C=16 at batch 16 (0.35 G) lose or break even.
 */
export const MIN_SHARD_MACS = 0.5e9;

/**
 * The thread count a run trains with: asked for, else the run's recorded one
 * (resume), else every core the step's work fills (`stepMacs`: forward
 * multiply-accumulates of one batch; MIN_SHARD_MACS a thread), at least 1;
 * 1 off the CPU backends.
 */
export function trainingThreads(backend: BackendName, requested: number | undefined, recorded: number | undefined, resuming: boolean, stepMacs?: number): number {
  if (requested !== undefined && !(Number.isInteger(requested) && requested >= 1)) throw new Error(`threads must be a whole number of at least 1, not ${requested}`);
  if (!THREADED_BACKENDS.includes(backend)) return 1;
  if (requested !== undefined) return requested;
  if (resuming) return recorded ?? 1;
  const cores = availableParallelism();
  return stepMacs === undefined ? cores : Math.max(1, Math.min(cores, Math.floor(stepMacs / MIN_SHARD_MACS)));
}

/** One training step, as `TrainEnvironment.onStep` sees it. */
export interface StepReport {
  /** 1-based epoch and step within it. */
  readonly epoch: number;
  readonly step: number;
  /** The step's objective (cross-entropy plus the weighted auxiliary loss). */
  readonly loss: number;
  /** Images of the batch and how many of them the main head classified correctly. */
  readonly size: number;
  readonly correct: number;
}

export interface TrainOutcome {
  readonly runId: string;
  readonly dir: string;
  readonly status: RunStatus;
  readonly reason?: string;
}

/** Thrown when the training loss stops being a finite number. */
export class DivergedError extends Error {}

/** What a checkpoint's header holds besides the arrays. */
interface CheckpointMeta {
  readonly runId: string;
  /** Epochs complete. */
  readonly epoch: number;
  /** Steps complete of epoch `epoch` (0-based), 0 at an epoch boundary. */
  readonly step: number;
  /** The data generator at the start of epoch `epoch`. */
  readonly dataRng: NumpyRandomStateSnapshot;
  readonly dropPathRng: NumpyRandomStateSnapshot;
  /** The epoch's running sums up to `step`. */
  readonly partial: EpochSums;
  readonly backend: BackendName;
}

interface EpochSums {
  lossSum: number;
  correct: number;
  seen: number;
  /** Seconds spent on the epoch by earlier processes (time fields only). */
  seconds: number;
  trainSeconds: number;
}

const VERSION: string = (require('../../package.json') as { version: string }).version;

/** Independent seeds for the run's random streams, all derived from its one seed. */
function streamSeed(seed: number, stream: number): number {
  return (seed + Math.imul(stream, 0x9e3779b9)) >>> 0;
}
const DATA_STREAM = 1;
const DROP_PATH_STREAM = 2;
const PROBE_STREAM = 3;
/** The per-epoch smoothness probe's batches and vectors: a stream of its own, so switching it on moves no other draw. */
const HESSIAN_STREAM = 4;

export function describeGenotype(g: TrainGenotype): RunGenotype {
  const normal = cellMetrics(g.genotype.normal);
  const reduce = cellMetrics(g.genotype.reduce);
  return {
    name: g.name,
    text: printGenotype(g.name, g.genotype),
    ref: g.ref,
    origin: g.origin,
    ...(g.variant ? { variant: g.variant } : {}),
    normal: { width: normal.width, depth: normal.depth },
    reduce: { width: reduce.width, depth: reduce.depth },
  };
}

function formatNumber(x: number, digits = 4): string {
  return Number.isFinite(x) ? x.toPrecision(digits) : String(x);
}

/** Starts a new run in `runsDir` and trains it to the end (or until stopped). */
export async function startTraining(genotype: TrainGenotype, config: RunConfig, runsDir: string, env: TrainEnvironment): Promise<TrainOutcome> {
  const shape = DATASET_INFO[config.dataset];
  // Until the network is built: the count for the dataset's shape.
  const estimate = networkCost(genotype.genotype, { channels: config.channels, layers: config.layers, classes: shape.classes, inputSize: shape.height });
  const now = new Date().toISOString();
  const processStart = processStartOf('self');
  const run = createRun(runsDir, genotype.name, (id) => ({
    format: RUN_FORMAT,
    id,
    status: 'running',
    genotype: describeGenotype(genotype),
    params: estimate.params,
    config,
    seed: config.seed,
    backend: null,
    dataset: null,
    versions: { cellscope: VERSION, node: process.version, tfjs: tf.version_core },
    pid: process.pid,
    host: hostname(),
    ...(processStart !== undefined ? { processStart } : {}),
    ...placementOfEnv(),
    startedAt: now,
    updatedAt: now,
    epochsCompleted: 0,
    resumes: [],
  }));
  // Taken at once: nothing awaits between creating the folder and this, and a
  // resume that came in between finds run.json naming this live process.
  const writer = takeRunWriter(run.dir);
  try {
    run.log(`run ${run.id}: ${genotype.name} (${genotype.ref}) on ${config.dataset}, preset ${config.preset}, seed ${config.seed}`);
    env.stderr(`run ${run.id} in ${run.dir}\n`);
    return await train(run, genotype.genotype, config.backend as BackendChoice, env, false);
  } finally {
    writer.release();
  }
}

export class ResumeError extends Error {}

export interface ResumeOptions {
  /**
   * Start the run again from epoch 0 in the same folder, deliberately: its
   * metrics, checkpoint and landscape are moved into a `set-aside-<time>/`
   * folder of the run first, not deleted.
   */
  readonly fromScratch?: boolean;
}

/** The files of a run computed from its weights: what a restart from scratch sets aside. */
const COMPUTED_FILES = [METRICS_FILE, CHECKPOINT_FILE, LANDSCAPE_FILE, LANDSCAPE_POINTS_FILE, HESSIAN_FILE, HESSIAN_EPOCHS_FILE];

/** Moves the run's computed files into a new `set-aside-<time>/` of the run; returns its name. */
function setAsideComputedFiles(run: RunHandle): string {
  const name = `set-aside-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  mkdirSync(join(run.dir, name));
  for (const file of COMPUTED_FILES) {
    if (existsSync(join(run.dir, file))) renameSync(join(run.dir, file), join(run.dir, name, file));
  }
  return name;
}

/**
 * Where a resumed run continues: its checkpoint, or nothing when it has none
 * and nothing was recorded yet (stopped before its first checkpoint: starting
 * again loses nothing). A missing checkpoint of a run that has epochs, or one
 * that cannot be read or is another run's, is refused with the file named:
 * training from epoch 0 over the recorded epochs would silently replace them.
 */
function resumePoint(run: RunHandle, fromScratch: boolean): { checkpoint?: Checkpoint<CheckpointMeta> } {
  if (fromScratch) return {};
  const path = run.checkpointPath;
  const restart = `restart it from epoch 0 with 'cellscope resume ${run.id} --from-scratch' (its metrics and checkpoint are kept aside, not deleted)`;
  if (!existsSync(path)) {
    const recorded = Math.max(run.record.epochsCompleted, run.readMetrics().length);
    if (recorded === 0) return {};
    throw new ResumeError(`${path}: missing, but run ${run.id} has ${recorded} epoch${recorded === 1 ? '' : 's'} recorded, so it cannot continue where it stopped; ${restart}`);
  }
  let checkpoint: Checkpoint<CheckpointMeta>;
  try {
    checkpoint = readCheckpoint<CheckpointMeta>(path);
  } catch (error) {
    throw new ResumeError(`${(error as Error).message}; ${restart}`);
  }
  const meta = checkpoint.meta as Partial<CheckpointMeta> | null;
  if (meta?.runId !== run.id) throw new ResumeError(`${path}: a checkpoint of ${typeof meta?.runId === 'string' ? `run ${meta.runId}` : 'an unknown run'}, not of run ${run.id}; ${restart}`);
  const epochs = run.record.config.epochs;
  if (!(Number.isSafeInteger(meta.epoch) && meta.epoch! >= 0 && meta.epoch! <= epochs && Number.isSafeInteger(meta.step) && meta.step! >= 0)) {
    throw new ResumeError(`${path}: its position (epoch ${String(meta.epoch)}, step ${String(meta.step)}) is not one of this run's ${epochs} epochs; ${restart}`);
  }
  return { checkpoint };
}

/**
 * Continues the run in `dir` from its last checkpoint (or from the start when
 * it has done nothing yet), on the backend it was trained on, as the run's
 * one writer: a run another live process trains is refused (RunBusyError)
 * with nothing changed, and so is a run whose checkpoint is missing or
 * unreadable (ResumeError) unless `fromScratch` restarts it deliberately.
 */
export async function resumeTraining(dir: string, genotype: Genotype, env: TrainEnvironment, options: ResumeOptions = {}): Promise<TrainOutcome> {
  const writer = takeRunWriter(dir);
  try {
    // Read under the lock: the previous writer may have changed it until it let go.
    const run = openRun(dir);
    const record = run.record;
    if (record.status === 'completed') throw new ResumeError(`run ${record.id} has already completed`);
    // A trainer of a version without the lock, or one that created the run an instant ago.
    if (record.status === 'running' && record.pid !== process.pid && trainerAlive(record) !== false) {
      throw new RunBusyError(record.id, { pid: record.pid, host: record.host, at: record.updatedAt });
    }
    const fromScratch = options.fromScratch ?? false;
    const start = resumePoint(run, fromScratch);
    const setAside = fromScratch ? setAsideComputedFiles(run) : undefined;
    // An old record's `webgpu` is TensorFlow.js's WebGPU backend, now `tfjs-webgpu`.
    const backend: BackendChoice = record.backend !== null ? trainedBackend(record.backend) : (record.config.backend as BackendChoice);
    const processStart = processStartOf('self');
    run.update({
      status: 'running',
      reason: undefined,
      finishedAt: undefined,
      pid: process.pid,
      host: hostname(),
      processStart,
      // A resumed run may train in another Slurm job or on another device: record this one's.
      slurm: undefined,
      device: undefined,
      ...placementOfEnv(),
      ...(setAside !== undefined ? { epochsCompleted: 0 } : {}),
    });
    run.log(`resumed by process ${process.pid}`);
    if (setAside !== undefined) {
      run.log(`restarting from scratch; the previous metrics, checkpoint and landscape are in ${setAside}/`);
      env.stderr(`restarting run ${record.id} from scratch; its previous files are in ${join(run.dir, setAside)}\n`);
    }
    env.stderr(`resuming run ${record.id} in ${run.dir}\n`);
    return await train(run, genotype, backend, env, true, { ...start, ...(setAside !== undefined ? { setAside } : {}) });
  } finally {
    writer.release();
  }
}

/** The network's trainable parameters, BN buffers and momentum as checkpoint arrays (in that order). */
async function snapshotArrays(network: Network, optimizer: SgdMomentum): Promise<Map<string, NamedArray>> {
  const variables = [
    ...[...network.params].map(([name, v]) => [`param:${name}`, v] as const),
    ...[...network.buffers].map(([name, v]) => [`buffer:${name}`, v] as const),
  ];
  // All reads issued together: one wait for the device, not one per variable.
  const [values, state] = await Promise.all([Promise.all(variables.map(([, v]) => v.data())), optimizer.getState()]);
  const arrays = new Map<string, NamedArray>();
  variables.forEach(([key, v], i) => arrays.set(key, { shape: v.shape, data: (values[i] as Float32Array).slice() }));
  for (const [name, a] of state.buffers) arrays.set(`momentum:${name}`, a);
  return arrays;
}

function restoreArrays(network: Network, optimizer: SgdMomentum, arrays: ReadonlyMap<string, NamedArray>, file: string): void {
  const assign = (group: string, vars: ReadonlyMap<string, tf.Variable>) => {
    for (const [name, v] of vars) {
      const a = arrays.get(`${group}:${name}`);
      if (a === undefined) throw new ResumeError(`${file}: no ${group} ${name} (the network changed?)`);
      if (a.shape.length !== v.shape.length || a.shape.some((d, i) => d !== v.shape[i])) {
        throw new ResumeError(`${file}: ${group} ${name} has shape [${a.shape.join(', ')}], the network [${v.shape.join(', ')}]`);
      }
      v.assign(tf.tensor(a.data, v.shape, 'float32'));
    }
  };
  tf.tidy(() => {
    assign('param', network.params);
    assign('buffer', network.buffers);
  });
  const momentum = new Map<string, NamedArray>();
  for (const [key, a] of arrays) if (key.startsWith('momentum:')) momentum.set(key.slice('momentum:'.length), a);
  optimizer.setState({ buffers: momentum });
}

function datasetInfo(dataset: Dataset): RunDatasetInfo {
  return {
    name: dataset.name,
    classes: dataset.classes,
    trainSize: dataset.train.count,
    testSize: dataset.test.count,
    inputSize: dataset.train.height,
    inputChannels: dataset.train.channels,
    source: dataset.source,
  };
}

function batchTensor(batch: Batch, dataset: Dataset): tf.Tensor4D {
  const { height, width, channels } = dataset.train;
  return tf.tensor4d(batch.x, [batch.size, height, width, channels], 'float32');
}

/** Mean loss and accuracy of the network in evaluation mode. */
async function evaluate(network: Network, dataset: Dataset, batchSize: number, toTensor: (b: Batch) => tf.Tensor4D): Promise<{ loss: number; acc: number }> {
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  const stream = batches(dataset.test, dataset, { batchSize, shuffle: false, augment: false, rng: new NumpyRandomState(0) });
  for (const batch of stream) {
    const [loss, predicted] = tf.tidy(() => {
      const logits = network.forward(toTensor(batch), { training: false }).logits;
      return [crossEntropy(logits, tf.tensor1d(batch.y, 'int32')), tf.argMax(logits, -1)];
    });
    try {
      const [lossValues, classes] = await Promise.all([loss.data(), predicted.data()]);
      lossSum += lossValues[0]! * batch.size;
      correct += countMatches(classes, batch.y);
    } finally {
      tf.dispose([loss, predicted]);
    }
    seen += batch.size;
  }
  return { loss: lossSum / seen, acc: correct / seen };
}

/** Steps the engine may have queued before the loop reads its metrics (and so waits for them). */
const ENGINE_MAX_PENDING = 32;

/** Tests: a smaller binding limit for the plan engine, to make its plan not fit at plan time. */
export const engineTestHooks: { maxBindingBytes?: number; opened?: (engine: EngineTrainer) => void; cpuAugment?: boolean } = {};

function yieldToEvents(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Where a resumed run starts: the checkpoint read (none: epoch 0), and the folder set aside by a restart from scratch. */
interface StartPoint {
  readonly checkpoint?: Checkpoint<CheckpointMeta>;
  readonly setAside?: string;
}

async function train(run: RunHandle, genotype: Genotype, backendChoice: BackendChoice, env: TrainEnvironment, resuming: boolean, startPoint: StartPoint = {}): Promise<TrainOutcome> {
  const cancel = env.cancel ?? { requested: false };
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    cancel.requested = true;
    run.log(`${signal} received: stopping at the next step`);
    // A second signal means now: no new checkpoint; resume continues from the last one.
    if (signals > 1) {
      run.update({ status: 'cancelled', reason: `${signal} received twice: stopped at once (resume continues from the last checkpoint)`, finishedAt: new Date().toISOString() });
      process.exit(143);
    }
  };
  const handleSignals = env.handleSignals ?? true;
  if (handleSignals) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
  let network: Network | undefined;
  let optimizer: SgdMomentum | undefined;
  let pool: ParallelPool | undefined;
  let engine: EngineTrainer | undefined;
  const finish = (status: RunStatus, reason?: string): TrainOutcome => {
    run.update({ status, reason, finishedAt: new Date().toISOString() });
    run.log(reason !== undefined ? `${status}: ${reason}` : status);
    return reason !== undefined ? { runId: run.id, dir: run.dir, status, reason } : { runId: run.id, dir: run.dir, status };
  };
  let progress: ProgressReporter | undefined;
  try {
    const outcome = await trainInner();
    progress?.end(outcome.status, outcome.reason);
    return outcome;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    const outcome = finish('failed', reason);
    if (!(error instanceof DivergedError) && error instanceof Error && error.stack) run.log(error.stack);
    env.stderr(`run ${run.id} failed: ${reason}\n`);
    if (progress !== undefined) progress.end('failed', reason);
    else env.stdout(`${JSON.stringify({ type: 'end', runId: run.id, status: 'failed', reason })}\n`);
    return outcome;
  } finally {
    if (handleSignals) {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
    await pool?.close();
    optimizer?.dispose();
    network?.dispose();
    engine?.destroy();
  }

  async function trainInner(): Promise<TrainOutcome> {
    const config = run.record.config;
    // A resumed WebGPU run continues on the adapter it was trained on, unless the environment names another.
    const recorded = resuming ? run.record.backend : null;
    const pinned = recorded?.adapter !== undefined && !process.env.CELLSCOPE_WEBGPU_ADAPTER ? recorded.adapter.name : undefined;
    const backend = await selectBackend(backendChoice, pinned !== undefined ? { adapter: pinned } : {});
    if (resuming && run.record.backend !== null && trainedBackend(run.record.backend) !== backend.backend) {
      throw new ResumeError(`run trained on ${trainedBackend(run.record.backend)}, resumed on ${backend.backend}`);
    }
    const shape = DATASET_INFO[config.dataset];
    const stepMacs = networkCost(genotype, { channels: config.channels, layers: config.layers, classes: shape.classes, inputSize: shape.height }).macs * config.batchSize;
    const threads = trainingThreads(backend.backend, env.threads, run.record.threads, resuming, stepMacs);
    run.update({ backend, threads });
    run.log(`backend ${backend.backend} (${backend.package}, ${backend.device}), ${threads} training thread${threads === 1 ? '' : 's'}${backend.skipped.length ? `; skipped: ${backend.skipped.join('; ')}` : ''}`);
    env.stderr(`training on ${backend.backend} with ${threads} thread${threads === 1 ? '' : 's'}\n`);
    if (threads > availableParallelism()) {
      env.stderr(`note: ${threads} training threads on ${availableParallelism()} cores: each step waits for threads that share a core (slower than ${availableParallelism()})\n`);
    }
    if (env.threads !== undefined && env.threads > 1 && threads === 1) {
      run.log(`${env.threads} threads asked for: ${backend.backend} trains on 1 (threads split steps on the wasm and cpu backends only)`);
      env.stderr(`note: --threads applies to the wasm and cpu backends; ${backend.backend} trains on 1\n`);
    }

    const dataset = await loadRunDataset(config, (p: DownloadProgress) => env.stderr(`downloading ${p.file}: ${p.received}${p.total ? ` of ${p.total}` : ''} bytes\r`));
    run.update({ dataset: datasetInfo(dataset) });
    run.log(`data ${dataset.name}: ${dataset.train.count} training, ${dataset.test.count} test images from ${dataset.source}`);

    const networkOptions = {
      channels: config.channels,
      layers: config.layers,
      classes: dataset.classes,
      inputSize: dataset.train.height,
      inputChannels: dataset.train.channels,
      auxiliary: config.auxiliary,
      seed: config.seed,
    };
    network = buildNetwork(genotype, networkOptions);
    const net = network;
    // A network whose stem takes 3 channels gets grey images repeated on each.
    const stemChannels = net.params.get('stem.0.weight')?.shape[2] ?? 3;
    if (stemChannels !== dataset.train.channels && dataset.train.channels !== 1) {
      throw new Error(`the network takes ${stemChannels}-channel images, ${dataset.name} has ${dataset.train.channels}`);
    }
    const toTensor = (batch: Batch): tf.Tensor4D => {
      const x = batchTensor(batch, dataset);
      return stemChannels === x.shape[3] ? x : tf.tile(x, [1, 1, 1, stemChannels]);
    };
    run.update({ params: net.paramCount(false) });
    if (threads > 1) {
      pool = await ParallelPool.start({
        threads,
        backend: backend.backend,
        genotype,
        networkOptions,
        net,
        auxiliaryWeight: config.auxiliaryWeight,
        ...(env.parallel?.timeoutMs !== undefined ? { timeoutMs: env.parallel.timeoutMs } : {}),
        ...(env.parallel?.failWorker !== undefined ? { failWorker: env.parallel.failWorker } : {}),
      });
    }
    const threadPool = pool;
    optimizer = new SgdMomentum(net.params, { momentum: config.momentum, weightDecay: config.weightDecay });
    const opt = optimizer;
    // Backend `webgpu`: the compiled plan engine trains; the TensorFlow.js network (on wasm or cpu beside it)
    // gives the initial weights and runs the probes on the engine's weights.
    const initial = backend.backend === 'webgpu' ? layoutOf(net) : undefined;
    if (initial !== undefined) {
      if (stemChannels !== 3) throw new Error(`the plan engine (backend webgpu) takes 3-channel images; this network's stem takes ${stemChannels} (use backend tfjs-webgpu or wasm)`);
      engine = await EngineTrainer.open({
        genotype,
        network: { channels: config.channels, layers: config.layers, classes: dataset.classes, inputSize: dataset.train.height, auxiliary: config.auxiliary },
        batchSize: config.batchSize,
        dropPath: config.dropPath > 0,
        auxiliaryWeight: config.auxiliaryWeight,
        sgd: { momentum: config.momentum, weightDecay: config.weightDecay, maxNorm: config.gradClip },
        initial,
        inputChannels: dataset.train.channels,
        // Training batches go up as bytes and the CPU's draws; the first dispatch crops, flips, normalises and cuts out.
        ...(engineTestHooks.cpuAugment ? {} : { augmentation: { mean: dataset.mean, std: dataset.std, cutout: config.cutout ? config.cutoutLength : 0 } }),
        ...(backend.adapter !== undefined ? { adapter: backend.adapter } : {}),
        ...(engineTestHooks.maxBindingBytes !== undefined ? { maxBindingBytes: engineTestHooks.maxBindingBytes } : {}),
      });
      engineTestHooks.opened?.(engine);
      run.update({ backend: { ...backend, plan: engine.plan } });
      run.log('the gradient-variance and Hessian probes run on the engine (gradients of steps at learning rate 0, the trained state restored after)');
      run.log(`plan engine on ${backend.adapter?.name ?? 'the WebGPU adapter'}: ${engine.plan.dispatchesPerStep} dispatches per step, ${engine.plan.planBytes} bytes, ${engine.plan.encodeMsPerStep.toFixed(3)} ms to encode a step`);
    }
    const gpu = engine;
    const trainable = [...net.params.values()];
    // tf.variableGrads answers by tf.Variable name; the optimiser works by parameter name.
    const nameOf = new Map([...net.params].map(([name, v]) => [v.name, name]));

    const dataRng = new NumpyRandomState(streamSeed(config.seed, DATA_STREAM));
    const dropRng = new NumpyRandomState(streamSeed(config.seed, DROP_PATH_STREAM));
    const dropRandom = () => randomDouble(dropRng);
    // With the engine augmenting on the GPU its training plan takes bytes: the probes' batches carry them too.
    const raw = engine !== undefined && !engineTestHooks.cpuAugment ? { raw: 'also' as const } : {};
    const probeBatches: Batch[] = [];
    if (config.gradVarianceBatches > 0) {
      const probeRng = new NumpyRandomState(streamSeed(config.seed, PROBE_STREAM));
      for (const batch of batches(dataset.train, dataset, { batchSize: config.batchSize, shuffle: true, augment: false, rng: probeRng, dropLast: true, ...raw })) {
        probeBatches.push(batch);
        if (probeBatches.length === config.gradVarianceBatches) break;
      }
    }

    // The per-epoch smoothness probe's K fixed training batches, drawn once from their own stream (as the variance probe's).
    const hessianConfig = config.hessianEpochs;
    const hessianSeed = streamSeed(config.seed, HESSIAN_STREAM);
    const hessianBatches: Batch[] = [];
    if (hessianConfig !== undefined) {
      const hessianRng = new NumpyRandomState(hessianSeed);
      for (const batch of batches(dataset.train, dataset, { batchSize: config.batchSize, shuffle: true, augment: false, rng: hessianRng, dropLast: true, ...raw })) {
        hessianBatches.push(batch);
        if (hessianBatches.length === hessianConfig.batches) break;
      }
      if (hessianBatches.length === 0) throw new Error(`the training set has no full batch of ${config.batchSize} for the per-epoch Hessian probe (--hessian-every)`);
    }

    const epochs = config.epochs;
    const steps = batchCount(dataset.train.count, config.batchSize);
    let startEpoch = 0;
    let startStep = 0;
    let partial: EpochSums = { lossSum: 0, correct: 0, seen: 0, seconds: 0, trainSeconds: 0 };
    if (resuming) {
      const checkpoint = startPoint.checkpoint;
      if (checkpoint !== undefined) {
        if (gpu !== undefined) await gpu.restore(checkpoint.arrays, run.checkpointPath);
        else restoreArrays(net, opt, checkpoint.arrays, run.checkpointPath);
        const meta = checkpoint.meta;
        dataRng.setState(meta.dataRng);
        dropRng.setState(meta.dropPathRng);
        startEpoch = meta.epoch;
        startStep = meta.step;
        partial = { ...meta.partial };
      }
      const kept = run.truncateMetrics(startEpoch);
      run.truncateHessianEpochs(startEpoch);
      run.update({
        epochsCompleted: kept.length,
        resumes: [
          ...run.record.resumes,
          { at: new Date().toISOString(), pid: process.pid, fromEpoch: startEpoch, fromStep: startStep, ...(startPoint.setAside !== undefined ? { setAside: startPoint.setAside } : {}) },
        ],
      });
      run.log(`continuing at epoch ${startEpoch + 1}, step ${startStep}`);
    }

    progress = new ProgressReporter(env.stdout, run.id, epochs, steps, env.progressIntervalMs !== undefined ? { minIntervalMs: env.progressIntervalMs } : {});
    progress.start(run.dir, startEpoch, startStep, resuming, threads);

    const saveCheckpoint = async (epoch: number, step: number, epochStartRng: NumpyRandomStateSnapshot, sums: EpochSums) => {
      const meta: CheckpointMeta = {
        runId: run.id,
        epoch,
        step,
        dataRng: epochStartRng,
        dropPathRng: dropRng.getState(),
        partial: sums,
        backend: backend.backend,
      };
      writeCheckpoint(run.checkpointPath, { meta, arrays: gpu !== undefined ? await gpu.snapshot() : await snapshotArrays(net, opt) });
    };

    /** Runs `work`, turning an engine's out-of-memory error into one that names the batch and the backend. */
    const fitting = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
      try {
        return await work();
      } catch (error) {
        throw batchDoesNotFit(error, { batchSize: config.batchSize, backend, phase });
      }
    };

    for (let e = startEpoch; e < epochs; e++) {
      const epochStart = performance.now();
      const lr = cosineLr(e, epochs, config.lr, config.lrMin);
      const dropProb = (config.dropPath * e) / epochs;
      const epochStartRng = dataRng.getState();
      const skip = e === startEpoch ? startStep : 0;
      const sums: EpochSums = e === startEpoch ? { ...partial } : { lossSum: 0, correct: 0, seen: 0, seconds: 0, trainSeconds: 0 };
      let trainedHere = 0;
      let s = 0;
      const stream = batches(dataset.train, dataset, {
        batchSize: config.batchSize,
        shuffle: true,
        augment: config.augment,
        cutout: config.cutout ? config.cutoutLength : 0,
        rng: dataRng,
        ...(raw.raw !== undefined ? { raw: 'only' as const } : {}),
      });
      let lastRead = performance.now();
      /** The engine's sums since its last read into the epoch's (one small read: per interval, not per step). */
      const absorb = async () => {
        if (gpu === undefined || gpu.pending === 0) return;
        const got = await fitting('training', () => gpu.flush());
        lastRead = performance.now();
        const loss = got.lossSum / got.seen;
        // With onStep (tests, in-process callers) the engine is read every step: the report is that step's.
        env.onStep?.({ epoch: e + 1, step: s, loss, size: got.seen, correct: got.correct });
        if (!Number.isFinite(loss)) throw new DivergedError(`diverged at epoch ${e + 1}, by step ${s} (loss ${loss})`);
        sums.lossSum += got.lossSum;
        sums.correct += got.correct;
        sums.seen += got.seen;
        progress!.step(e + 1, s, sums.lossSum / sums.seen, trainedHere / ((performance.now() - epochStart) / 1000));
      };
      for (const batch of stream) {
        s++;
        // Replaying the stream up to a mid-epoch checkpoint: the draws matter, the images do not.
        if (s <= skip) continue;
        if (gpu !== undefined) {
          await fitting('training', () => gpu.step(batch, lr, dropProb, dropRandom));
          trainedHere += batch.size;
          if (env.onStep !== undefined || s === steps || gpu.pending >= ENGINE_MAX_PENDING || performance.now() - lastRead >= (env.progressIntervalMs ?? 1000)) await absorb();
        } else {
          const loss = await fitting('training', () => trainStep(batch));
          env.onStep?.({ epoch: e + 1, step: s, loss: loss.value, size: batch.size, correct: loss.correct });
          if (!Number.isFinite(loss.value)) throw new DivergedError(`diverged at epoch ${e + 1}, step ${s} (loss ${loss.value})`);
          sums.lossSum += loss.value * batch.size;
          sums.correct += loss.correct;
          sums.seen += batch.size;
          trainedHere += batch.size;
          const trainSeconds = (performance.now() - epochStart) / 1000;
          progress.step(e + 1, s, sums.lossSum / sums.seen, trainedHere / trainSeconds);
        }
        await yieldToEvents();
        if (cancel.requested && s < steps) {
          await absorb();
          const seconds = (performance.now() - epochStart) / 1000;
          await saveCheckpoint(e, s, epochStartRng, { ...sums, seconds: sums.seconds + seconds, trainSeconds: sums.trainSeconds + seconds });
          env.stderr(`run ${run.id} cancelled at epoch ${e + 1}, step ${s}; continue with: cellscope resume ${run.id}\n`);
          return finish('cancelled', `cancelled at epoch ${e + 1}, step ${s}`);
        }
      }
      await absorb();
      const trainSecondsHere = (performance.now() - epochStart) / 1000;
      const test = await fitting('evaluation', () => (gpu !== undefined ? gpu.evaluate(dataset, config.batchSize) : evaluate(net, dataset, config.batchSize, toTensor)));
      const hessianNow = hessianConfig !== undefined && hessianDue(hessianConfig, e + 1, epochs);
      if (!Number.isFinite(test.loss)) throw new DivergedError(`diverged at epoch ${e + 1}, step ${steps} (test loss ${test.loss})`);
      const probe =
        probeBatches.length > 0
          ? await fitting('the gradient-variance probe', () =>
              gpu !== undefined ? gpu.gradientVariance(probeBatches) : gradientVariance(net.params, probeBatches, (batch) =>
                objective(net.forward(toTensor(batch), { training: true, updateStats: false }), tf.tensor1d(batch.y, 'int32'), config.auxiliaryWeight),
              ),
            )
          : undefined;
      // Before the metrics line and the checkpoint: a kill in between makes resume train the epoch and probe it again.
      if (hessianNow) {
        progress.probe(e + 1);
        const smoothness = await fitting('the Hessian probe', () => probeSmoothness(e + 1));
        run.appendHessianEpoch(smoothness);
        run.log(`epoch ${e + 1}: Hessian λ_max ${formatNumber(smoothness.topEigenvalue)}${smoothness.trace !== null ? `, trace ${formatNumber(smoothness.trace)}` : ''} (${smoothness.seconds.toFixed(1)} s)`);
      }
      const seconds = sums.seconds + (performance.now() - epochStart) / 1000;
      const line: MetricsLine = {
        epoch: e + 1,
        trainLoss: sums.lossSum / sums.seen,
        trainAcc: sums.correct / sums.seen,
        testLoss: test.loss,
        testAcc: test.acc,
        gradVariance: probe?.variance ?? null,
        gradVarianceRatio: probe !== undefined && Number.isFinite(probe.ratio) ? probe.ratio : null,
        gradMeanNormSq: probe?.meanGradNormSq ?? null,
        lr,
        dropPath: dropProb,
        seconds,
        imagesPerSecond: sums.seen / (sums.trainSeconds + trainSecondsHere),
        steps,
      };
      run.appendMetrics(line);
      await saveCheckpoint(e + 1, 0, dataRng.getState(), { lossSum: 0, correct: 0, seen: 0, seconds: 0, trainSeconds: 0 });
      run.update({ epochsCompleted: e + 1 });
      run.log(
        `epoch ${e + 1}/${epochs}: train loss ${formatNumber(line.trainLoss)} acc ${formatNumber(line.trainAcc * 100, 3)}%, ` +
          `test loss ${formatNumber(line.testLoss)} acc ${formatNumber(line.testAcc * 100, 3)}%, lr ${formatNumber(lr)}, ` +
          `grad variance ${line.gradVariance === null ? '-' : formatNumber(line.gradVariance)} (ratio ${line.gradVarianceRatio === null ? '-' : formatNumber(line.gradVarianceRatio)}), ` +
          `${seconds.toFixed(1)} s, ${line.imagesPerSecond.toFixed(1)} images/s`,
      );
      env.stderr(`epoch ${e + 1}/${epochs}: test acc ${(line.testAcc * 100).toFixed(2)}%, train loss ${formatNumber(line.trainLoss)}, ${seconds.toFixed(1)} s\n`);
      progress.epoch(line);
      if (cancel.requested && e + 1 < epochs) {
        env.stderr(`run ${run.id} cancelled after epoch ${e + 1}; continue with: cellscope resume ${run.id}\n`);
        return finish('cancelled', `cancelled after epoch ${e + 1}`);
      }

      /**
       * The smoothness probe on the weights after epoch `epoch`. It moves the
       * weights along its vectors and assigns the kept copies back (exactly),
       * leaves BatchNorm's running statistics, the optimiser's momentum and
       * the data and drop-path generators alone, and draws from its own seed:
       * a run trains the same with it as without it.
       */
      async function probeSmoothness(epoch: number): Promise<HessianEpochLine> {
        const started = performance.now();
        const options = { iterations: hessianConfig!.iterations, traceSamples: hessianConfig!.traceSamples, seed: hessianSeed, stepRelative: HESSIAN_DEFAULTS.stepRelative };
        const line = (power: { eigenvalue: number; iterations: number; converged: boolean }, trace: { trace: number | null; standardError: number | null; samples: number }): HessianEpochLine => ({
          epoch,
          topEigenvalue: power.eigenvalue,
          iterations: power.iterations,
          converged: power.converged,
          trace: trace.trace,
          traceStandardError: trace.standardError,
          traceSamples: trace.samples,
          batches: hessianBatches.length,
          batchSize: config.batchSize,
          seconds: (performance.now() - started) / 1000,
        });
        // The engine: losses and gradients of the weights moved along the probe's vectors, on the GPU.
        if (gpu !== undefined) {
          const { power, trace } = await gpu.withFlatLoss(hessianBatches, (loss) => measureSmoothness(loss, options));
          return line(power, trace);
        }
        const probe = hessianBatches.map((b) => ({ x: toTensor(b), y: tf.tensor1d(b.y, 'int32') }));
        try {
          const loss = await flatLossOf(net, probe, config.auxiliaryWeight);
          try {
            const { power, trace } = await measureSmoothness(loss, options);
            return line(power, trace);
          } finally {
            loss.dispose();
          }
        } finally {
          tf.dispose(probe.flatMap((p) => [p.x, p.y]));
        }
      }

      /**
       * One SGD step. The loss, the predicted classes and the gradients'
       * squared norm (clip_grad_norm_'s total) are computed in one tidy and
       * read together; the clipped update follows on the device. The
       * gradients outlive the tidy across the read, so they are disposed
       * here on every path.
       */
      async function trainStep(batch: Batch): Promise<{ value: number; correct: number }> {
        if (threadPool !== undefined) return parallelStep(threadPool, batch);
        // Parameter names in the order of the gradients (tidy keeps the tensors of arrays, not of maps).
        const names: string[] = [];
        const { value, grads, predicted, squares } = tf.tidy(() => {
          const x = toTensor(batch);
          const y = tf.tensor1d(batch.y, 'int32');
          let logits: tf.Tensor2D | undefined;
          const result = tf.variableGrads(() => {
            const out = net.forward(x, { training: true, dropPathProb: dropProb, random: dropRandom });
            logits = tf.keep(out.logits);
            return objective(out, y, config.auxiliaryWeight);
          }, trainable);
          const classes = tf.argMax(logits!, -1);
          logits!.dispose();
          const list: tf.Tensor[] = [];
          for (const [varName, g] of Object.entries(result.grads)) {
            if (g == null) continue;
            names.push(nameOf.get(varName)!);
            list.push(g);
          }
          return { value: result.value, grads: list, predicted: classes, squares: sumOfSquares(new Map(names.map((n, i) => [n, list[i]!]))) };
        });
        try {
          const [lossValues, classes, squareValues] = await Promise.all([value.data(), predicted.data(), squares.data()]);
          const lossValue = lossValues[0]!;
          const correct = countMatches(classes, batch.y);
          if (!Number.isFinite(lossValue)) return { value: lossValue, correct };
          const named = new Map(names.map((n, i) => [n, grads[i]!]));
          tf.tidy(() => opt.step(scaleToNorm(named, Math.sqrt(squareValues[0]!), config.gradClip), lr));
          return { value: lossValue, correct };
        } finally {
          tf.dispose([value, predicted, squares, ...grads]);
        }
      }

      /** The same step with the batch split over the training threads; the update is the same. */
      async function parallelStep(threadPool: ParallelPool, batch: Batch): Promise<{ value: number; correct: number }> {
        const { height, width, channels } = dataset.train;
        let x = batch.x;
        let shape: [number, number, number, number] = [batch.size, height, width, channels];
        if (stemChannels !== channels) {
          const t = tf.tidy(() => toTensor(batch));
          x = t.dataSync() as Float32Array;
          shape = [batch.size, height, width, stemChannels];
          t.dispose();
        }
        const result = threadPool.step({ x, shape, labels: batch.y }, dropProb, dropRandom);
        const grads = result.grads;
        try {
          if (!Number.isFinite(result.loss)) return { value: result.loss, correct: result.correct };
          const squares = sumOfSquares(grads);
          let total: number;
          try {
            total = Math.sqrt((await squares.data())[0]!);
          } finally {
            squares.dispose();
          }
          tf.tidy(() => opt.step(scaleToNorm(grads, total, config.gradClip), lr));
          return { value: result.loss, correct: result.correct };
        } finally {
          tf.dispose([...grads.values()]);
        }
      }
    }
    env.stderr(`run ${run.id} completed\n`);
    return finish('completed');
  }
}
