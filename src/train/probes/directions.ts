/**
 * Random directions in weight space with filter normalisation (Li et al.,
 * "Visualizing the Loss Landscape of Neural Nets", 2018), as Shu, Wang & Cai
 * used them for their loss contours.
 *
 * A direction has one array per parameter. For every weight tensor it is
 * Gaussian noise whose every *filter* is rescaled to the norm of the matching
 * filter of the trained weights: d_f ← d_f · ‖w_f‖ / ‖d_f‖. A filter is what
 * PyTorch's `d[i]` is for the first axis of the weight, i.e. one output
 * channel of a convolution, one channel of a depthwise convolution, one
 * output unit of a linear layer. Vectors (biases, BatchNorm γ and β) get a
 * zero direction: they stay at their trained values (the authors' `ignore =
 * 'biasbn'`). BatchNorm running statistics are buffers, not parameters, and
 * are never moved.
 *
 * Seeding. Each parameter's noise comes from its own generator, seeded with
 * the direction seed, the direction index and the parameter's name, so the
 * same seed gives two runs of the same architecture the same directions
 * whatever order their parameters were created in.
 *
 * Pure: typed arrays only, no TensorFlow.
 */
import { mulberry32 } from '../../shared/mulberry32.js';
import type { ParamLayout } from '../network/params.js';

/** A parameter's trained values in the network's (tfjs) layout. */
export interface WeightArray {
  readonly shape: readonly number[];
  readonly layout: ParamLayout;
  readonly data: Float32Array;
}

/** One array per parameter name, in the parameter's own layout; all zeros for excluded parameters. */
export type Direction = Map<string, Float32Array>;

/**
 * The axis that indexes filters in the tfjs layout (params.ts): conv
 * [kh, kw, Cin, Cout] → 3, depthwise [kh, kw, C, 1] → 2, linear [in, out] →
 * 1; undefined for vectors, which are excluded.
 */
export function filterAxis(layout: ParamLayout): number | undefined {
  switch (layout) {
    case 'conv':
      return 3;
    case 'depthwise':
      return 2;
    case 'linear':
      return 1;
    case 'vector':
    case 'activation':
      return undefined;
  }
}

/** Filter index of every element of a row-major array of `shape`, for filters along `axis`. */
function filterIndexer(shape: readonly number[], axis: number): { count: number; of: (i: number) => number } {
  const count = shape[axis]!;
  let stride = 1;
  for (let k = axis + 1; k < shape.length; k++) stride *= shape[k]!;
  return { count, of: (i) => Math.floor(i / stride) % count };
}

/** Euclidean norm of each filter of `data` (float64 sums). */
export function filterNorms(data: Float32Array, shape: readonly number[], axis: number): Float64Array {
  const { count, of } = filterIndexer(shape, axis);
  const sums = new Float64Array(count);
  for (let i = 0; i < data.length; i++) sums[of(i)] += data[i]! * data[i]!;
  return sums.map(Math.sqrt);
}

/**
 * Rescales each filter of `direction` in place to the norm of the matching
 * filter of `weight`. The small constant keeps an all-zero noise filter
 * finite, as in Li et al.'s code.
 */
export function normalizeFilters(direction: Float32Array, weight: Float32Array, shape: readonly number[], axis: number): void {
  if (direction.length !== weight.length) throw new Error('direction and weight differ in size');
  const { of } = filterIndexer(shape, axis);
  const dNorms = filterNorms(direction, shape, axis);
  const wNorms = filterNorms(weight, shape, axis);
  const scale = wNorms.map((w, f) => w / (dNorms[f]! + 1e-10));
  for (let i = 0; i < direction.length; i++) direction[i] = direction[i]! * scale[of(i)]!;
}

/** FNV-1a of a string: a stable per-name contribution to the seed. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Standard normal numbers (Box–Muller over mulberry32). */
function gaussian(seed: number): () => number {
  const uniform = mulberry32(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    let u = 0;
    while (u === 0) u = uniform();
    const v = uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * Direction number `index` (0 for the first axis of the plot, 1 for the
 * second) for `weights`, filter-normalised; vectors get zeros.
 */
export function randomDirection(weights: ReadonlyMap<string, WeightArray>, seed: number, index: number): Direction {
  const out: Direction = new Map();
  for (const [name, w] of weights) {
    const axis = filterAxis(w.layout);
    const d = new Float32Array(w.data.length);
    if (axis !== undefined && w.shape.length > axis) {
      const next = gaussian((Math.imul(seed >>> 0, 0x9e3779b9) ^ Math.imul(index + 1, 0x85ebca6b) ^ hashName(name)) >>> 0);
      for (let i = 0; i < d.length; i++) d[i] = next();
      normalizeFilters(d, w.data, w.shape, axis);
    }
    out.set(name, d);
  }
  return out;
}

/** Whether the direction leaves this parameter where it is. */
export function isExcluded(layout: ParamLayout): boolean {
  return filterAxis(layout) === undefined;
}
