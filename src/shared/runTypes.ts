/**
 * The files of a training run (`runs/<id>/run.json`, `metrics.jsonl`) and the
 * progress lines the trainer prints on stdout: their types, and the pure
 * logic both the CLI and the editor apply to them. The field names are part
 * of the product's interface (README, "Training runs"): add fields, never
 * rename them.
 *
 * Pure: no TensorFlow, no node modules, no vscode (the extension and the
 * webviews read these too).
 */
import { BACKEND_NAMES, type BackendRecord } from './backendTypes.js';
import { DATASET_NAMES, type DatasetName } from './datasetTypes.js';
import {
  arrayOf,
  boolean,
  integer,
  literal,
  nullable,
  number,
  object,
  oneOf,
  optional,
  parseJsonLines,
  problemText,
  refinedString,
  shapeProblem,
  string,
  type JsonLines,
  type Shape,
} from './shape.js';
import type { RunSlurmJob } from './slurmTypes.js';
import { HESSIAN_EPOCHS_CONFIG_SHAPE, type HessianEpochsConfig } from './landscapeTypes.js';

/** Version of the run.json layout; bumped only for incompatible changes. */
export const RUN_FORMAT = 1;

export const RUN_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const PRESET_NAMES = ['quick', 'paper'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** Everything that determines what a run computes (with the genotype, seed and backend). */
export interface RunConfig {
  readonly dataset: DatasetName;
  /** Directory the dataset files were read from (null: the default location). */
  readonly dataDir: string | null;
  /** Whether missing dataset files may be downloaded. */
  readonly download: boolean;
  readonly preset: PresetName;
  readonly epochs: number;
  readonly batchSize: number;
  /** Initial learning rate of the cosine schedule. */
  readonly lr: number;
  /** Learning rate the cosine schedule ends at. */
  readonly lrMin: number;
  readonly momentum: number;
  readonly weightDecay: number;
  /** Maximum total gradient L2 norm (clip_grad_norm_). */
  readonly gradClip: number;
  readonly layers: number;
  /** Initial channel count C. */
  readonly channels: number;
  readonly auxiliary: boolean;
  readonly auxiliaryWeight: number;
  /** Random crop (padding 4) and horizontal flip of training images. */
  readonly augment: boolean;
  readonly cutout: boolean;
  readonly cutoutLength: number;
  /** Drop-path probability at the last epoch (scaled linearly by epoch/epochs). */
  readonly dropPath: number;
  readonly seed: number;
  /** Number of training / test images used (null: all). */
  readonly trainSubset: number | null;
  readonly testSubset: number | null;
  /** What was asked for ('auto' or a backend name); `RunRecord.backend` says what ran. */
  readonly backend: string;
  /** K, the number of mini-batch gradients of the gradient-variance probe (0: no probe). */
  readonly gradVarianceBatches: number;
  /**
   * The smoothness probe after every N-th epoch (`--hessian-every N`), written
   * to hessian-epochs.jsonl; absent (runs before it, and the default): off.
   */
  readonly hessianEpochs?: HessianEpochsConfig;
}

export interface CellShape {
  /** Width in units of c (the paper's definition). */
  readonly width: number;
  readonly depth: number;
}

export interface RunGenotype {
  readonly name: string;
  /** The genotype as printed by the core: what `resume` rebuilds the network from. */
  readonly text: string;
  /** The reference given on the command line (FILE#NAME, NAME, NAME~kind:seed). */
  readonly ref: string;
  /** A file path, or 'built-in'. */
  readonly origin: string;
  readonly variant?: { readonly kind: string; readonly seed: number; readonly of: string };
  readonly normal: CellShape;
  readonly reduce: CellShape;
}

export interface RunDatasetInfo {
  readonly name: DatasetName;
  readonly classes: number;
  readonly trainSize: number;
  readonly testSize: number;
  /** Image side and channels as the network sees them. */
  readonly inputSize: number;
  readonly inputChannels: number;
  /** Where the images came from (files read, or 'generated'). */
  readonly source: string;
}

export interface RunResume {
  readonly at: string;
  readonly pid: number;
  /** Epochs complete (and steps into the next one) when the run continued. */
  readonly fromEpoch: number;
  readonly fromStep: number;
  /** Set by `resume --from-scratch`: the run's folder its earlier metrics and checkpoint were moved into. */
  readonly setAside?: string;
}

export interface RunVersions {
  readonly cellscope: string;
  readonly node: string;
  readonly tfjs: string;
}

/** `runs/<id>/run.json`. */
export interface RunRecord {
  readonly format: typeof RUN_FORMAT;
  readonly id: string;
  readonly status: RunStatus;
  /** Why the run failed or was cancelled (present when status is failed). */
  readonly reason?: string;
  readonly genotype: RunGenotype;
  /** Trainable parameters of the network, auxiliary head excluded (as papers report). */
  readonly params: number;
  readonly config: RunConfig;
  readonly seed: number;
  /** The engine that computed the run; null until it has been chosen. */
  readonly backend: BackendRecord | null;
  /**
   * Training threads the trainer's steps are split over (data-parallel on
   * the wasm and cpu backends, 1 on the others); set with the backend, absent
   * in runs from before it was recorded (they trained on one).
   */
  readonly threads?: number;
  readonly dataset: RunDatasetInfo | null;
  readonly versions: RunVersions;
  /** The trainer process now (or last) working on the run. */
  readonly pid: number;
  readonly host: string;
  /**
   * When that process started, as the OS reports it (Linux: clock ticks after
   * boot from /proc/PID/stat), so a recycled pid is not mistaken for it.
   */
  readonly processStart?: string;
  /** The Slurm job the trainer runs (or last ran) in, when Slurm started it. */
  readonly slurm?: RunSlurmJob;
  /**
   * The device a multi-device executor gave the trainer (`gpu:1`: CUDA device
   * 1 alone visible; `webgpu:1`: WebGPU adapter 1), when one did.
   */
  readonly device?: string;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt?: string;
  /** Epochs whose metrics line is in metrics.jsonl. */
  readonly epochsCompleted: number;
  readonly resumes: readonly RunResume[];
}

/** One line of `runs/<id>/metrics.jsonl`, written after each epoch. Accuracies are fractions in [0, 1]. */
export interface MetricsLine {
  /** 1-based. */
  readonly epoch: number;
  readonly trainLoss: number;
  readonly trainAcc: number;
  readonly testLoss: number;
  readonly testAcc: number;
  /** (1/K) Σ‖g_k − ḡ‖² over all parameters at the end-of-epoch weights; null without the probe. */
  readonly gradVariance: number | null;
  /** gradVariance / ‖ḡ‖². */
  readonly gradVarianceRatio: number | null;
  /** ‖ḡ‖², the squared norm of the mean mini-batch gradient. */
  readonly gradMeanNormSq: number | null;
  /** Learning rate used during the epoch. */
  readonly lr: number;
  /** Drop-path probability used during the epoch. */
  readonly dropPath: number;
  /** Wall-clock seconds of the epoch (training, evaluation and probe). */
  readonly seconds: number;
  /** Training images per second. */
  readonly imagesPerSecond: number;
  readonly steps: number;
}

/** The fields of a metrics line that depend on timing rather than on the computation. */
export const METRICS_TIME_FIELDS = ['seconds', 'imagesPerSecond'] as const;

/** What `cellscope train` and `resume` print on stdout, one JSON object per line. */
export type ProgressLine =
  | {
      readonly type: 'start';
      readonly runId: string;
      readonly runDir: string;
      readonly epochs: number;
      readonly stepsPerEpoch: number;
      /** Epochs already complete (non-zero when resuming). */
      readonly startEpoch: number;
      readonly resumed: boolean;
      /** Training threads (data-parallel on the CPU backends; 1 elsewhere). */
      readonly threads?: number;
    }
  | {
      readonly type: 'step';
      readonly runId: string;
      /** 1-based epoch and step within it. */
      readonly epoch: number;
      readonly epochs: number;
      readonly step: number;
      readonly steps: number;
      /** Mean training loss of the epoch so far. */
      readonly loss: number;
      readonly imagesPerSecond: number;
      /** Estimated seconds until the run finishes (null before there is a rate). */
      readonly etaSeconds: number | null;
    }
  | { readonly type: 'epoch'; readonly runId: string; readonly epochs: number; readonly metrics: MetricsLine; readonly etaSeconds: number | null }
  /**
   * A probe the trainer runs between epochs has started (`--hessian-every N`:
   * the smoothness probe on the weights after 1-based epoch `epoch`); the
   * epoch's line follows when it is done. Without it a watcher sees no line
   * for as long as the probe takes.
   */
  | ProbeProgressLine
  | { readonly type: 'end'; readonly runId: string; readonly status: RunStatus; readonly reason?: string };

/** The probes a trainer announces with a `probe` progress line. */
export const PROGRESS_PROBES = ['hessian'] as const;

export interface ProbeProgressLine {
  readonly type: 'probe';
  readonly runId: string;
  readonly probe: (typeof PROGRESS_PROBES)[number];
  readonly epoch: number;
  readonly epochs: number;
}

const PROBE_PROGRESS_SHAPE: Shape = object({
  type: literal('probe'),
  runId: string,
  probe: oneOf(PROGRESS_PROBES),
  epoch: integer(1),
  epochs: integer(1),
});

/**
 * Which runs' trainers are inside a probe between epochs, from their progress
 * lines as they arrive (the editor reads them from the launch logs): a
 * `probe` line starts one, any later line of that run ends it. `feed` says
 * whether anything changed.
 */
export class ProbeActivity {
  private readonly probing = new Map<string, ProbeProgressLine>();

  feed(lines: readonly string[]): boolean {
    let changed = false;
    for (const text of lines) {
      const line = parseProgressLine(text);
      if (line === undefined) continue;
      if (line.type === 'probe') {
        this.probing.set(line.runId, line);
        changed = true;
      } else if (this.probing.delete(line.runId)) {
        changed = true;
      }
    }
    return changed;
  }

  /** `smoothness probe, epoch 2/3` while run `runId`'s probe runs; undefined otherwise. */
  activity(runId: string): string | undefined {
    const line = this.probing.get(runId);
    return line === undefined ? undefined : progressActivity(line);
  }

  forget(runId: string): void {
    this.probing.delete(runId);
  }
}

/**
 * What a trainer is doing, in the editor's words, from its latest progress
 * line (the experiment notification and the training notification print
 * it): `epoch 2/3, step 5/9`, `smoothness probe, epoch 2/3`; undefined for
 * the lines that say nothing of the kind.
 */
export function progressActivity(line: ProgressLine): string | undefined {
  switch (line.type) {
    case 'step':
      return `epoch ${line.epoch}/${line.epochs}, step ${line.step}/${line.steps}`;
    case 'probe':
      return `smoothness probe, epoch ${line.epoch}/${line.epochs}`;
    default:
      return undefined;
  }
}

function isRecordObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses one stdout line of the trainer; undefined for anything that is not a progress line. */
export function parseProgressLine(line: string): ProgressLine | undefined {
  const text = line.trim();
  if (!text.startsWith('{')) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecordObject(value) || typeof value['runId'] !== 'string') return undefined;
  switch (value['type']) {
    case 'start':
    case 'step':
    case 'end':
      return value as unknown as ProgressLine;
    case 'epoch':
      return isMetricsLine(value['metrics']) ? (value as unknown as ProgressLine) : undefined;
    case 'probe':
      // Printed in the editor's notifications: every field checked, an epoch that is not one refused.
      return shapeProblem(PROBE_PROGRESS_SHAPE, value) === undefined && (value['epoch'] as number) <= (value['epochs'] as number) ? (value as unknown as ProbeProgressLine) : undefined;
    default:
      return undefined;
  }
}

/**
 * What is wrong with a run id as the name of a folder inside a runs folder,
 * or undefined when nothing is: one path component of letters, digits, `_`,
 * `.` and `-`, not starting with `.` (so never `.` or `..`), at most 200
 * characters. Ids made by the trainer always pass; an id read from a file
 * (experiment.json, queue.json, run.json) that does not is refused rather
 * than joined to a path.
 */
export function runIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'a run id cannot be empty';
  if (id.length > 200) return `the run id is ${id.length} characters long (at most 200)`;
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(id)) {
    return `${JSON.stringify(id.slice(0, 60))} is not a run id (one folder name of letters, digits, '_', '.', '-', not starting with '.')`;
  }
  return undefined;
}

export const RUN_ID_SHAPE: Shape = refinedString(runIdProblem);

const nullableNumber = nullable(number);
const CELL_SHAPE = object({ width: number, depth: integer(0) });

/** The shape of RunConfig: everything `resume` reads back to continue a run. */
export const RUN_CONFIG_SHAPE: Shape = object({
  dataset: oneOf(DATASET_NAMES),
  dataDir: nullable(string),
  download: boolean,
  preset: oneOf(PRESET_NAMES),
  epochs: integer(0),
  batchSize: integer(1),
  lr: number,
  lrMin: number,
  momentum: number,
  weightDecay: number,
  gradClip: number,
  layers: integer(1),
  channels: integer(1),
  auxiliary: boolean,
  auxiliaryWeight: number,
  augment: boolean,
  cutout: boolean,
  cutoutLength: integer(0),
  dropPath: number,
  seed: integer(0),
  trainSubset: nullable(integer(1)),
  testSubset: nullable(integer(1)),
  backend: string,
  gradVarianceBatches: integer(0),
  hessianEpochs: optional(HESSIAN_EPOCHS_CONFIG_SHAPE),
});

const SLURM_ID_SHAPE: Shape = refinedString((v) => (/^\d+$/.test(v) ? undefined : 'a Slurm job id (digits)'));

/** The shape of run.json (RunRecord): what `runs`, `report`, `resume` and the Runs view rely on. */
export const RUN_RECORD_SHAPE: Shape = object({
  format: literal(RUN_FORMAT),
  id: RUN_ID_SHAPE,
  status: oneOf(RUN_STATUSES),
  reason: optional(string),
  genotype: object({
    name: string,
    text: string,
    ref: string,
    origin: string,
    variant: optional(object({ kind: string, seed: integer(0), of: string })),
    normal: CELL_SHAPE,
    reduce: CELL_SHAPE,
  }),
  params: integer(0),
  config: RUN_CONFIG_SHAPE,
  seed: integer(0),
  backend: nullable(
    object({
      backend: oneOf(BACKEND_NAMES),
      package: string,
      device: oneOf(['gpu', 'cpu']),
      skipped: arrayOf(string),
      // Which copy of a native TensorFlow package ran (node_modules or `cellscope gpu install`'s folder).
      native: optional(object({ location: string, version: string, libtensorflow: optional(string), source: oneOf(['node_modules', 'cellscope-install']) })),
      // The plan engine's figures (backend `webgpu` since the engine took the name).
      plan: optional(object({ dispatchesPerStep: integer(0), planBytes: integer(0), encodeMsPerStep: number })),
    }),
  ),
  threads: optional(integer(1)),
  dataset: nullable(
    object({
      name: oneOf(DATASET_NAMES),
      classes: integer(1),
      trainSize: integer(0),
      testSize: integer(0),
      inputSize: integer(1),
      inputChannels: integer(1),
      source: string,
    }),
  ),
  versions: object({ cellscope: string, node: string, tfjs: string }),
  // A pid is a positive number: 0 and negative numbers name process groups to kill(2).
  pid: integer(1),
  host: string,
  processStart: optional(string),
  // Job ids go to scancel's command line: digits only.
  slurm: optional(
    object({
      jobId: SLURM_ID_SHAPE,
      arrayJobId: optional(SLURM_ID_SHAPE),
      taskId: optional(integer(0)),
      script: optional(string),
      cluster: optional(string),
      node: optional(string),
    }),
  ),
  device: optional(string),
  startedAt: string,
  updatedAt: string,
  finishedAt: optional(string),
  epochsCompleted: integer(0),
  resumes: arrayOf(object({ at: string, pid: integer(1), fromEpoch: integer(0), fromStep: integer(0), setAside: optional(string) })),
});

/**
 * The shape of a metrics line. Losses and rates may be null (a NaN written by
 * JSON.stringify); the fields added after the first version are checked when
 * present.
 */
export const METRICS_LINE_SHAPE: Shape = object({
  epoch: integer(1),
  trainLoss: nullableNumber,
  trainAcc: nullableNumber,
  testLoss: nullableNumber,
  testAcc: nullableNumber,
  gradVariance: nullableNumber,
  gradVarianceRatio: optional(nullableNumber),
  gradMeanNormSq: optional(nullableNumber),
  lr: nullableNumber,
  dropPath: optional(nullableNumber),
  seconds: nullableNumber,
  imagesPerSecond: nullableNumber,
  steps: optional(integer(0)),
});

/** What is wrong with a parsed metrics line, or undefined when it is one. */
export function metricsLineProblem(value: unknown): string | undefined {
  return shapeProblem(METRICS_LINE_SHAPE, value);
}

/** Whether a parsed JSON value has the fields of a metrics line (NaN losses are written as null). */
export function isMetricsLine(value: unknown): value is MetricsLine {
  return metricsLineProblem(value) === undefined;
}

/** metrics.jsonl read: the lines that fit, and what was wrong with those that did not ('line 3: …'). */
export type MetricsText = JsonLines<MetricsLine>;

/** Reads metrics.jsonl text (see parseJsonLines for what is left out and named). */
export function parseMetricsText(text: string): MetricsText {
  return parseJsonLines<MetricsLine>(text, metricsLineProblem);
}

/** Reads metrics.jsonl text; lines that do not parse or fit are skipped (see parseMetricsText). */
export function parseMetricsLines(text: string): MetricsLine[] {
  return parseMetricsText(text).lines;
}

/** What is wrong with a parsed run.json, as `field X: expected …, found …`; undefined when it is a run record. */
export function runRecordProblem(value: unknown): string | undefined {
  const problem = RUN_RECORD_SHAPE(value, '');
  if (problem === undefined) return undefined;
  if (problem.path === 'format' && typeof value === 'object' && value !== null && 'format' in value) {
    return `format ${JSON.stringify((value as Record<string, unknown>)['format'])} is not one this version reads (${RUN_FORMAT})`;
  }
  return problemText(problem);
}

/** Whether a run.json object is a run record this version understands. */
export function isRunRecord(value: unknown): value is RunRecord {
  return runRecordProblem(value) === undefined;
}

/**
 * Whether the process recorded in a run is still the trainer working on it:
 * true or false when that can be told, undefined when it cannot (another
 * host, or no way to ask).
 */
export type TrainerAliveCheck = (run: Pick<RunRecord, 'pid' | 'host' | 'processStart'>) => boolean | undefined;

export interface EffectiveStatus {
  readonly status: RunStatus;
  readonly reason?: string;
  /** True when the file says running but its process is gone. */
  readonly orphaned: boolean;
}

/** The reason given to a run whose trainer died without recording an outcome. */
export function orphanReason(epochsCompleted: number): string {
  return `trainer process exited without finishing (${epochsCompleted > 0 ? `last epoch ${epochsCompleted}` : 'no epoch completed'})`;
}

/**
 * The status to report for a run: what run.json says, except that a run
 * still marked running whose process is gone (killed, crashed, machine
 * rebooted) is failed. Pure; the file is left as it is.
 */
export function effectiveStatus(run: RunRecord, alive: TrainerAliveCheck): EffectiveStatus {
  if (run.status !== 'running') {
    return run.reason !== undefined ? { status: run.status, reason: run.reason, orphaned: false } : { status: run.status, orphaned: false };
  }
  if (alive(run) === false) return { status: 'failed', reason: orphanReason(run.epochsCompleted), orphaned: true };
  return { status: 'running', orphaned: false };
}
