/**
 * Training batch norm's passes on the wasm backend, in SIMD (simd.ts) over
 * the backend's memory: TensorFlow.js composes them from Mean, Sub, Square,
 * Rsqrt, Mul, Add and Sum kernels, about five full passes over the
 * activation forward and six backward; here
 *
 * - `bnMoments`: per-channel mean then M2 = Σ(x − mean)², two reads of x;
 * - `CellscopeBnApply`: x̂ = (x − μ)·s and y = x̂·γ + β in one pass, writing
 *   both (x̂ is kept for the backward pass);
 * - `bnGradSums`: Σdy and Σdy·x̂ in one pass;
 * - `CellscopeBnDx`: dx = a·((dy − mdy) − x̂·mdx) in one pass
 *
 * (network/batchNorm.ts puts them together, with the statistics in float64
 * between the passes). The tensors are NHWC, channels innermost; the loops
 * run over rows of a period of L = lcm(C, 16) values, 16 lanes per block, so
 * that any channel count works (lane j is channel j mod C); the values after
 * the last whole row (fewer than L) are done here in JavaScript.
 *
 * Sums are float32 within a chunk of CHUNK rows and float64 across chunks.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './compose.js';
import { simdKernels, type SimdKernels } from './simd.js';

export const BN_APPLY = 'CellscopeBnApply';
export const BN_DX = 'CellscopeBnDx';

/** Rows per SIMD reduction call (float32 sums within, float64 across). */
const CHUNK = 256;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** The period: L = lcm(channels, 16) values, nb = L / 16 blocks, and whole rows. */
export function bnLayout(size: number, channels: number): { period: number; nb: number; rows: number } {
  const period = (channels * 16) / gcd(channels, 16);
  return { period, nb: period / 16, rows: Math.floor(size / period) };
}

/** Adds lane sums (period L) into per-channel float64 sums. */
function fold(lanes: Float64Array, channels: number): Float64Array {
  const out = new Float64Array(channels);
  for (let j = 0; j < lanes.length; j++) out[j % channels] += lanes[j]!;
  return out;
}

/**
 * Runs a column-sum kernel over x's whole rows in chunks; returns `width`
 * float64 lane sums per lane group (out of the kernel: width·L floats).
 */
function chunked(
  backend: WasmBackendLike, size: number, channels: number, width: number, extra: Float32Array | undefined,
  call: (views: { scratch: Float32Array; byteOffset: (t: TensorInfo) => number }, start: number, rows: number, out: number) => void,
  inputs: TensorInfo[],
): Float64Array {
  const { period, rows } = bnLayout(size, channels);
  const lanes = new Float64Array(width * period);
  if (rows === 0) return lanes;
  const extraLen = extra?.length ?? 0;
  const scratchInfo = backend.makeOutput([extraLen + width * period], 'float32');
  try {
    // Views after the allocation: growing the heap detaches older ones.
    const scratch = backend.typedArrayFromHeap(scratchInfo);
    if (extra !== undefined) scratch.set(extra);
    const offsets = new Map(inputs.map((t) => [t, backend.typedArrayFromHeap(t).byteOffset]));
    const views = { scratch, byteOffset: (t: TensorInfo) => offsets.get(t)! };
    const out = scratch.byteOffset + 4 * extraLen;
    for (let start = 0; start < rows; start += CHUNK) {
      call(views, start, Math.min(CHUNK, rows - start), out);
      for (let j = 0; j < lanes.length; j++) lanes[j] += scratch[extraLen + j]!;
    }
  } finally {
    backend.disposeData(scratchInfo.dataId);
  }
  return lanes;
}

/** Per-channel count, mean and M2 = Σ(x − mean)² of an NHWC float32 tensor, in float64. */
export function bnMoments(backend: WasmBackendLike, simd: SimdKernels, x: TensorInfo): { count: number; mean: Float64Array; m2: Float64Array } {
  const channels = x.shape[x.shape.length - 1]!;
  const size = x.shape.reduce((a, b) => a * b, 1);
  const count = size / channels;
  const { period, nb, rows } = bnLayout(size, channels);
  const rowBytes = 4 * period;
  const sumLanes = chunked(backend, size, channels, 1, undefined, (v, start, n, out) => {
    simd.bnSum(v.byteOffset(x) + start * rowBytes, n, nb, rowBytes, out);
  }, [x]);
  const xs = backend.typedArrayFromHeap(x);
  for (let i = rows * period; i < size; i++) sumLanes[i - rows * period] += xs[i]!;
  const mean = fold(sumLanes, channels);
  for (let c = 0; c < channels; c++) mean[c] = mean[c]! / count;
  // Σ(x − μ')² about μ' = fround(mean), then less count·(mean − μ')² (exact in float64).
  const mu = Float32Array.from({ length: period }, (_, j) => mean[j % channels]!);
  const m2Lanes = chunked(backend, size, channels, 1, mu, (v, start, n, out) => {
    simd.bnM2(v.byteOffset(x) + start * rowBytes, n, nb, rowBytes, v.scratch.byteOffset, out);
  }, [x]);
  const xt = backend.typedArrayFromHeap(x);
  for (let i = rows * period; i < size; i++) {
    const d = Math.fround(xt[i]! - mu[i - rows * period]!);
    m2Lanes[i - rows * period] += d * d;
  }
  const m2 = fold(m2Lanes, channels);
  for (let c = 0; c < channels; c++) {
    const d = mean[c]! - Math.fround(mean[c]!);
    m2[c] = Math.max(m2[c]! - count * d * d, 0);
  }
  return { count, mean, m2 };
}

/** Σdy and Σdy·x̂ per channel (float64) of two NHWC float32 tensors of one shape. */
export function bnGradSums(backend: WasmBackendLike, simd: SimdKernels, dy: TensorInfo, xh: TensorInfo): { sumDy: Float64Array; sumDyXHat: Float64Array } {
  const channels = dy.shape[dy.shape.length - 1]!;
  const size = dy.shape.reduce((a, b) => a * b, 1);
  const { period, nb, rows } = bnLayout(size, channels);
  const rowBytes = 4 * period;
  const lanes = chunked(backend, size, channels, 2, undefined, (v, start, n, out) => {
    simd.bnGradSums(v.byteOffset(dy) + start * rowBytes, v.byteOffset(xh) + start * rowBytes, n, nb, rowBytes, out);
  }, [dy, xh]);
  const g = backend.typedArrayFromHeap(dy);
  const h = backend.typedArrayFromHeap(xh);
  for (let i = rows * period; i < size; i++) {
    const j = i - rows * period;
    lanes[j] += g[i]!;
    lanes[period + j] += Math.fround(g[i]! * h[i]!);
  }
  return { sumDy: fold(lanes.subarray(0, period), channels), sumDyXHat: fold(lanes.subarray(period), channels) };
}

/**
 * Per-channel parameters laid out for the SIMD loops: per block of 16
 * lanes, each vector's 16 values in turn (lane j is channel j mod C).
 */
export function bnParams(channels: number, vectors: ArrayLike<number>[]): Float32Array {
  const { period, nb } = bnLayout(0, channels);
  const k = vectors.length;
  const p = new Float32Array(nb * 16 * k);
  for (let j = 0; j < period; j++) {
    const base = (j >> 4) * 16 * k + (j & 15);
    for (let v = 0; v < k; v++) p[base + 16 * v] = vectors[v]![j % channels]!;
  }
  return p;
}

/** Inputs x and p = bnParams(C, [μ, s, γ, β]); outputs [x̂, y]. */
const bnApply: KernelFunc = ({ inputs, backend }) => {
  const { x, p } = inputs as { x: TensorInfo; p: TensorInfo };
  const wasm = backend as WasmBackendLike;
  const channels = x.shape[x.shape.length - 1]!;
  const xhInfo = wasm.makeOutput([...x.shape], 'float32');
  const yInfo = wasm.makeOutput([...x.shape], 'float32');
  const xs = wasm.typedArrayFromHeap(x);
  const xh = wasm.typedArrayFromHeap(xhInfo);
  const y = wasm.typedArrayFromHeap(yInfo);
  const ps = wasm.typedArrayFromHeap(p);
  const { period, nb, rows } = bnLayout(xs.length, channels);
  const simd = simdKernels(backend)!;
  if (rows > 0) simd.bnApply(xs.byteOffset, xh.byteOffset, y.byteOffset, rows, nb, ps.byteOffset);
  for (let i = rows * period; i < xs.length; i++) {
    const j = i - rows * period;
    const q = (j >> 4) * 64 + (j & 15);
    const v = Math.fround(Math.fround(xs[i]! - ps[q]!) * ps[q + 16]!);
    xh[i] = v;
    y[i] = Math.fround(v * ps[q + 32]!) + ps[q + 48]!;
  }
  return [xhInfo, yInfo];
};

/** Inputs dy, xh and p = bnParams(C, [a, mdy, mdx]); output dx = a·((dy − mdy) − x̂·mdx). */
const bnDx: KernelFunc = ({ inputs, backend }) => {
  const { dy, xh, p } = inputs as { dy: TensorInfo; xh: TensorInfo; p: TensorInfo };
  const wasm = backend as WasmBackendLike;
  const channels = dy.shape[dy.shape.length - 1]!;
  const dxInfo = wasm.makeOutput([...dy.shape], 'float32');
  const g = wasm.typedArrayFromHeap(dy);
  const h = wasm.typedArrayFromHeap(xh);
  const dx = wasm.typedArrayFromHeap(dxInfo);
  const ps = wasm.typedArrayFromHeap(p);
  const { period, nb, rows } = bnLayout(g.length, channels);
  const simd = simdKernels(backend)!;
  if (rows > 0) simd.bnDx(g.byteOffset, h.byteOffset, dx.byteOffset, rows, nb, ps.byteOffset);
  for (let i = rows * period; i < g.length; i++) {
    const j = i - rows * period;
    const q = (j >> 4) * 48 + (j & 15);
    dx[i] = ps[q]! * Math.fround(Math.fround(g[i]! - ps[q + 16]!) - Math.fround(h[i]! * ps[q + 32]!));
  }
  return dxInfo;
};

export const bnApplyConfig: KernelConfig = { kernelName: BN_APPLY, backendName: 'wasm', kernelFunc: bnApply };
export const bnDxConfig: KernelConfig = { kernelName: BN_DX, backendName: 'wasm', kernelFunc: bnDx };
