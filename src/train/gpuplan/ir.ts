/**
 * The plan's intermediate representation: logical tensors, views into them,
 * and primitive operations (one entry of one kernel) with what they read and
 * write. The builder (build.ts) emits primitive operations; the scheduler
 * (schedule.ts) batches conflict-free ones of the same kernel into one
 * dispatch and places tensors in memory; encode.ts turns views into the u32
 * records the WGSL kernels (wgsl.ts) read.
 *
 * Activations are NCHW (per sample, channel-major), so a concat is a set of
 * channel slices of one tensor and a node writes its slice directly. The
 * input image is NHWC as the data pipeline delivers it: views carry strides,
 * so kernels read either layout.
 */

/** Where a tensor lives: a planned arena (lifetime-managed) or the persistent state buffer. */
export type Space = 'arena' | 'state';

export interface Tensor {
  readonly id: number;
  readonly name: string;
  readonly space: Space;
  /** N, C, H, W. */
  readonly dims: readonly [number, number, number, number];
  readonly layout: 'nchw' | 'nhwc';
  /** Placement, filled by the memory plan: slot (buffer binding) and element offset. */
  slot?: number;
  offset?: number;
  /** First and last dispatch that touch it (arena tensors), filled by the scheduler. */
  first?: number;
  last?: number;
}

/** A window of a tensor: channels [c0, c0+c), rows [y0, y0+h), columns [x0, x0+w), all samples. */
export interface View {
  readonly t: Tensor;
  readonly c0: number;
  readonly c: number;
  readonly y0: number;
  readonly h: number;
  readonly x0: number;
  readonly w: number;
}

export function fullView(t: Tensor): View {
  return { t, c0: 0, c: t.dims[1], y0: 0, h: t.dims[2], x0: 0, w: t.dims[3] };
}

export function channelSlice(t: Tensor, c0: number, c: number): View {
  return { t, c0, c, y0: 0, h: t.dims[2], x0: 0, w: t.dims[3] };
}

/** What an operation touches: a tensor's channel range (dependencies are tracked at this grain). */
export interface Access {
  readonly t: Tensor;
  readonly c0: number;
  readonly c: number;
}

export function accessOf(v: View): Access {
  return { t: v.t, c0: v.c0, c: v.c };
}

/** The kernels; each has one WGSL shader (wgsl.ts) and one record layout (encode.ts). */
export const KERNELS = [
  'augment',
  'conv',
  'convTile',
  'convBackData',
  'convBackDataTile',
  'convBackFilter',
  'convBackFilterTile',
  'gradReduce',
  'bnPartial',
  'bnFinalize',
  'bnBackPartial',
  'bnBackFinalize',
  'combine',
  'termBack',
  'head',
  'headBack',
  'sumSquares',
  'sgd',
] as const;
export type KernelKind = (typeof KERNELS)[number];

/** Kernels whose workgroups each reduce one channel / weight element (256 threads); the rest are one thread per output element (64 per workgroup). */
export const REDUCING: ReadonlySet<KernelKind> = new Set(['convTile', 'convBackDataTile', 'convBackFilter', 'convBackFilterTile', 'bnPartial', 'bnBackPartial', 'head', 'sumSquares', 'sgd']);

/** A value in an entry record: a number, a view (10 u32), a float (bit-cast), or the element offset of a state tensor. */
export type Field = number | View | { readonly f32: number } | { readonly at: Tensor; readonly plus?: number };

export interface PrimOp {
  readonly kind: KernelKind;
  /** Human-readable origin, e.g. `cells.3._ops.0.op.2 (pointwise)`. */
  readonly label: string;
  readonly reads: readonly Access[];
  readonly writes: readonly Access[];
  /** Threads (elementwise kernels) or workgroups (reducing kernels) this entry needs. */
  readonly size: number;
  /** The record's fields in order (see encode.ts for each kernel's layout). */
  readonly fields: readonly Field[];
}

/** No offset (e.g. no drop-path mask). */
export const NONE = 0xffffffff;

export const TERM = { none: 0, bn: 1, copy: 2, max: 3, avg: 4 } as const;
