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

export const LANDSCAPE_FILE = 'landscape.json';
/** The append-only log of computed grid points that makes the job resumable. */
export const LANDSCAPE_POINTS_FILE = 'landscape.points.jsonl';

export const LANDSCAPE_QUANTITIES = ['loss', 'variance'] as const;
/** `loss` also yields accuracy; `variance` is the gradient-variance surface. */
export type LandscapeQuantity = (typeof LANDSCAPE_QUANTITIES)[number];

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
    a.varianceBatchSize === b.varianceBatchSize
  );
}

/** The row and column of the centre, when the grid has one (odd grids). */
export function landscapeCentre(file: Pick<LandscapeFile, 'grid'>): number | undefined {
  return file.grid % 2 === 1 ? (file.grid - 1) / 2 : undefined;
}

/**
 * The 1D slices through the trained weights: loss along the first direction
 * (the centre row, β = 0) and along the second (the centre column, α = 0).
 */
export function centreSlices(file: Pick<LandscapeFile, 'grid' | 'loss'>): { first: (number | null)[]; second: (number | null)[] } | undefined {
  const c = landscapeCentre(file);
  if (c === undefined) return undefined;
  return { first: [...file.loss[c]!], second: file.loss.map((row) => row[c]!) };
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
