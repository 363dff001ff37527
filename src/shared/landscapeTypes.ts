/**
 * `runs/<id>/landscape.json`: the loss landscape (and gradient-variance
 * surface) of a trained run over a 2D grid of filter-normalised directions
 * (src/train/probes/landscape.ts), and the pure helpers the renderers, the
 * report and the editor apply to it. Field names are part of the product's
 * interface: add fields, never rename them.
 *
 * Grids are indexed [row][column]: the row walks the second direction (β,
 * bottom to top in a plot), the column the first (α, left to right); both
 * run over `coordinates`, from −range to +range. With an odd grid the centre
 * cell is the trained weights.
 *
 * Pure: no TensorFlow, no node modules, no vscode.
 */
import { boolean, integer, literal, nullable, number, object, optional, parseJsonLines, shapeProblem, string, type JsonLines, type Shape } from './shape.js';

export const LANDSCAPE_FILE = 'landscape.json';
/** The append-only log of computed grid points that makes the job resumable. */
export const LANDSCAPE_POINTS_FILE = 'landscape.points.jsonl';

export const LANDSCAPE_QUANTITIES = ['loss', 'variance'] as const;
/** `loss` also yields accuracy; `variance` is the gradient-variance surface. */
export type LandscapeQuantity = (typeof LANDSCAPE_QUANTITIES)[number];

/** The data the variance surface's mini-batch gradients come from: the paper's Fig. 22 uses the test set. */
export const VARIANCE_SPLITS = ['test', 'train'] as const;
export type VarianceSplit = (typeof VARIANCE_SPLITS)[number];
/**
 * BatchNorm while the variance probe takes its gradients: `eval` (running
 * statistics, as the loss grid is evaluated: the paper's setting) or `train`
 * (batch statistics, the running ones left untouched).
 */
export const BN_MODES = ['eval', 'train'] as const;
export type BnMode = (typeof BN_MODES)[number];

/** The paper's settings (Shu, Wang & Cai Fig. 22; the authors' scripts): a 51×51 grid, variance on the test set, BN as for the loss. */
export const PAPER_LANDSCAPE = { grid: 51, range: 1, varianceSplit: 'test', bnMode: 'eval' } as const satisfies {
  grid: number;
  range: number;
  varianceSplit: VarianceSplit;
  bnMode: BnMode;
};

/**
 * What files written before `varianceSplit` / `bnMode` existed measured:
 * training batches in training-mode BatchNorm. A file without the fields
 * is read as that, so its caption stays true.
 */
export const LEGACY_VARIANCE = { varianceSplit: 'train', bnMode: 'train' } as const;

/** A grid of values; null where the value was not a finite number (diverged far from the centre). */
export type LandscapeGrid = (number | null)[][];

/** What determines a landscape's numbers (besides the run's weights and data). */
export interface LandscapeSpec {
  /** Points per side. */
  readonly grid: number;
  /** The grid spans [−range, range] along both directions. */
  readonly range: number;
  /** Seed of the two random directions. */
  readonly seed: number;
  /** Test images the loss was evaluated on (a class-balanced subset); null: the run's whole test set. */
  readonly subset: number | null;
  /** K, the mini-batch gradients per point of the variance surface. */
  readonly varianceBatches: number;
  /** Mini-batch size of the variance probe (the run's training batch size). */
  readonly varianceBatchSize: number;
  /** Where the variance probe's batches come from (absent in files before it existed: `train`). */
  readonly varianceSplit?: VarianceSplit;
  /** BatchNorm mode of the variance probe (absent in files before it existed: `train`). */
  readonly bnMode?: BnMode;
}

/** The variance settings a spec or file stands for, the legacy ones where the fields are missing. */
export function varianceSettings(spec: Pick<LandscapeSpec, 'varianceSplit' | 'bnMode'>): { varianceSplit: VarianceSplit; bnMode: BnMode } {
  return { varianceSplit: spec.varianceSplit ?? LEGACY_VARIANCE.varianceSplit, bnMode: spec.bnMode ?? LEGACY_VARIANCE.bnMode };
}

/** How the variance surface was measured, in words for captions: `K = 4 batches of 80 test images, BatchNorm in evaluation mode`. */
export function varianceCaption(spec: Pick<LandscapeSpec, 'varianceSplit' | 'bnMode' | 'varianceBatches' | 'varianceBatchSize'>): string {
  const v = varianceSettings(spec);
  return `K = ${spec.varianceBatches} mini-batches of ${spec.varianceBatchSize} ${v.varianceSplit === 'test' ? 'test' : 'training'} images, BatchNorm in ${v.bnMode === 'eval' ? 'evaluation mode (running statistics, as for the loss)' : 'training mode (batch statistics)'}`;
}

export interface LandscapeFile extends LandscapeSpec {
  readonly format: 1;
  readonly runId: string;
  /** Epochs of training behind the centre weights. */
  readonly epoch: number;
  /** Direction kind: filter-normalised Gaussian, biases and BatchNorm excluded. */
  readonly directions: 'filter-normalized';
  /** Test images actually used. */
  readonly images: number;
  /** The grid's coordinates along each direction, −range … range. */
  readonly coordinates: number[];
  readonly loss: LandscapeGrid;
  /** Fractions in [0, 1]. */
  readonly accuracy: LandscapeGrid;
  readonly variance?: LandscapeGrid;
  readonly backend: string;
  readonly createdAt: string;
}

/** `grid` evenly spaced numbers from −range to range (0 exactly at the centre of an odd grid). */
export function landscapeCoordinates(grid: number, range: number): number[] {
  if (grid === 1) return [0];
  const half = (grid - 1) / 2;
  // Symmetric by construction, so the centre of an odd grid is exactly 0.
  return Array.from({ length: grid }, (_, k) => ((k - half) / half) * range);
}

export function sameLandscapeSpec(a: LandscapeSpec, b: LandscapeSpec): boolean {
  return (
    a.grid === b.grid &&
    a.range === b.range &&
    a.seed === b.seed &&
    a.subset === b.subset &&
    a.varianceBatches === b.varianceBatches &&
    a.varianceBatchSize === b.varianceBatchSize &&
    varianceSettings(a).varianceSplit === varianceSettings(b).varianceSplit &&
    varianceSettings(a).bnMode === varianceSettings(b).bnMode
  );
}

/** The row and column of the centre, when the grid has one (odd grids). */
export function landscapeCentre(file: Pick<LandscapeFile, 'grid'>): number | undefined {
  return file.grid % 2 === 1 ? (file.grid - 1) / 2 : undefined;
}

/**
 * The 1D slices through the trained weights (the authors' fork's 1D plots:
 * loss and accuracy along one filter-normalised direction): along the first
 * direction (the centre row, β = 0) and along the second (the centre
 * column, α = 0).
 */
export function centreSlices(
  file: Pick<LandscapeFile, 'grid' | 'loss' | 'accuracy'>,
): { first: (number | null)[]; second: (number | null)[]; firstAccuracy: (number | null)[]; secondAccuracy: (number | null)[] } | undefined {
  const c = landscapeCentre(file);
  if (c === undefined) return undefined;
  return {
    first: [...file.loss[c]!],
    second: file.loss.map((row) => row[c]!),
    firstAccuracy: [...file.accuracy[c]!],
    secondAccuracy: file.accuracy.map((row) => row[c]!),
  };
}

/** Whether a parsed value has the shape of a landscape file this version reads. */
export function isLandscapeFile(value: unknown): value is LandscapeFile {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const grid = v['grid'];
  const isGrid = (g: unknown) => Array.isArray(g) && g.length === grid && g.every((row) => Array.isArray(row) && row.length === grid);
  return (
    typeof grid === 'number' &&
    typeof v['range'] === 'number' &&
    typeof v['seed'] === 'number' &&
    isGrid(v['loss']) &&
    isGrid(v['accuracy']) &&
    (v['variance'] === undefined || isGrid(v['variance']))
  );
}

// ---- the smoothness probe (Section 4.3) -----------------------------------------

/** `runs/<id>/hessian.json`: the smoothness of the training loss at the trained weights (src/train/probes/hessian.ts). */
export const HESSIAN_FILE = 'hessian.json';

export interface HessianFile {
  readonly format: 1;
  readonly runId: string;
  /** Epochs of training behind the weights. */
  readonly epoch: number;
  /** Largest-magnitude eigenvalue of the training loss's Hessian (power iteration): the local smoothness constant. */
  readonly topEigenvalue: number;
  readonly iterations: number;
  readonly converged: boolean;
  /** The power iteration's estimate after each step. */
  readonly history: readonly number[];
  /** Hutchinson's estimate of the Hessian's trace and its standard error (null when no samples were asked for). */
  readonly trace: number | null;
  readonly traceStandardError: number | null;
  readonly traceSamples: number;
  /** The loss: K fixed training mini-batches of this size, BatchNorm in training mode (running statistics untouched), as in training. */
  readonly batches: number;
  readonly batchSize: number;
  /** How Hv is computed: central differences of exact gradients, (∇L(w+εv) − ∇L(w−εv)) / 2ε, ε‖v‖ = stepRelative·‖w‖. */
  readonly method: 'gradient-central-difference';
  readonly stepRelative: number;
  /** Trainable parameters the Hessian is over. */
  readonly parameters: number;
  readonly seed: number;
  readonly backend: string;
  readonly createdAt: string;
}

/**
 * The shape of hessian.json: what the report and the results panel read. A
 * file that does not fit is named with its first wrong field, never plotted.
 */
export const HESSIAN_FILE_SHAPE: Shape = object({
  format: literal(1),
  runId: string,
  epoch: integer(0),
  topEigenvalue: number,
  iterations: integer(0),
  converged: boolean,
  trace: nullable(number),
  traceStandardError: optional(nullable(number)),
  traceSamples: integer(0),
  batches: integer(1),
  batchSize: integer(1),
});

/** What is wrong with a parsed hessian.json (`field topEigenvalue: expected a number, found null`); undefined when it fits. */
export function hessianFileProblem(value: unknown): string | undefined {
  return shapeProblem(HESSIAN_FILE_SHAPE, value);
}

export function isHessianFile(value: unknown): value is HessianFile {
  return hessianFileProblem(value) === undefined;
}

// ---- the smoothness probe during training -----------------------------------------

/**
 * `runs/<id>/hessian-epochs.jsonl`: the smoothness probe run by the trainer
 * after every N-th epoch (`cellscope train --hessian-every N`), one line per
 * probed epoch. Appended before the epoch's metrics line and checkpoint, and
 * cut back to the checkpoint's epoch on resume, as metrics.jsonl is.
 */
export const HESSIAN_EPOCHS_FILE = 'hessian-epochs.jsonl';

/** `config.hessianEpochs` of run.json: the per-epoch probe's settings (absent: no per-epoch probe). */
export interface HessianEpochsConfig {
  /** Probe after epochs every, 2·every, …, and after the last epoch. */
  readonly every: number;
  /** Power iterations at most. */
  readonly iterations: number;
  /** Rademacher vectors of the trace (0: no trace). */
  readonly traceSamples: number;
  /** K fixed training batches of the loss. */
  readonly batches: number;
}

/**
 * Small on purpose: each Hessian-vector product costs two gradients over K
 * batches, and this runs inside training. `cellscope hessian` at the end is
 * the precise measurement (20 iterations, 10 trace samples).
 */
export const HESSIAN_EPOCH_DEFAULTS = { iterations: 10, traceSamples: 2, batches: 2 } as const;

export const HESSIAN_EPOCHS_CONFIG_SHAPE: Shape = object({
  every: integer(1),
  iterations: integer(1),
  traceSamples: integer(0),
  batches: integer(1),
});

/** Whether the per-epoch probe runs after 1-based epoch `epoch` of `epochs`. */
export function hessianDue(config: Pick<HessianEpochsConfig, 'every'> | undefined, epoch: number, epochs: number): boolean {
  return config !== undefined && (epoch % config.every === 0 || epoch === epochs);
}

/** One line of hessian-epochs.jsonl. */
export interface HessianEpochLine {
  /** 1-based: the probe ran on the weights after this epoch. */
  readonly epoch: number;
  readonly topEigenvalue: number;
  readonly iterations: number;
  readonly converged: boolean;
  readonly trace: number | null;
  readonly traceStandardError: number | null;
  readonly traceSamples: number;
  readonly batches: number;
  readonly batchSize: number;
  /** Wall-clock seconds of the probe (the only field that depends on timing). */
  readonly seconds: number;
}

export const HESSIAN_EPOCH_LINE_SHAPE: Shape = object({
  epoch: integer(1),
  topEigenvalue: number,
  iterations: integer(0),
  converged: boolean,
  trace: nullable(number),
  traceStandardError: nullable(number),
  traceSamples: integer(0),
  batches: integer(1),
  batchSize: integer(1),
  seconds: number,
});

/** hessian-epochs.jsonl text: the lines that fit, and what was wrong with the others (`line 2: field topEigenvalue: …`; see parseJsonLines). */
export function parseHessianEpochsText(text: string): JsonLines<HessianEpochLine> {
  return parseJsonLines<HessianEpochLine>(text, (value) => shapeProblem(HESSIAN_EPOCH_LINE_SHAPE, value));
}

/** The paper's claim the probe tests, said beside its numbers. */
export const SMOOTHNESS_CLAIM =
  'Section 4.3: for cells of linear operations, the Lipschitz smoothness constant of the deepest (chain) cell exceeds that of the widest cell ' +
  'by a factor that grows with the product of the other operations\' weight norms, so wide, shallow cells have the smoother landscape and converge faster.';
