/**
 * Conv2DBackpropFilter for the wasm backend (it has none), composed from
 * Transpose, BatchMatMul and copies on the heap.
 *
 * dW[i, j, :, :] = Σ_{n, oh, ow} win_ij[n, oh, ow, :]ᵀ · dy[n, oh, ow, :]
 *
 * where win_ij is the input window of filter tap (i, j) (tapWindow.ts). With
 * the M = N·OH·OW positions as the inner dimension, each tap is one matrix
 * product dyᵀ [Cout, M] × win_ij [M, Cin] → [Cout, Cin]: dy is transposed
 * once for all taps (XNNPACK's products need the summed axis innermost in the
 * left operand; BatchMatMul's transposeA path is ~8× slower), and the small
 * [taps, Cout, Cin] result is transposed to the filter layout at the end. A
 * 1×1 stride-1 unpadded filter (most of a DARTS cell) reads x itself.
 *
 * Where the SIMD module loads (simd.ts), the products are instead its
 * gemmTN loop, reading each window and dy in place, in their NHWC layout:
 * no transpose of dy and no packing of the window, which were most of
 * BatchMatMul's time, as XNNPACK packs the window afresh on every call (2–4×
 * faster on the network's shapes, bench/RESULTS.md). Channel counts that are
 * not multiples of 4 (input) and 8 (output), such as the stem's 3, are
 * zero-padded copies. It sums FOLD_ROWS positions at a time in float32,
 * those sums in float64.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope, type WasmBackendLike } from './compose.js';
import { simdKernels, type SimdKernels } from './simd.js';
import { tapWindow } from './tapWindow.js';

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
  dilations?: [number, number] | number;
}

/** Whether tap (0, 0) of this convolution reads x itself (1×1, stride 1, no padding). */
function readsInputAsIs(info: backend_util.Conv2DInfo): boolean {
  const { top, bottom, left, right } = info.padInfo;
  return info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
    top === 0 && bottom === 0 && left === 0 && right === 0;
}

/** Positions summed in float32 before a float64 total. */
const FOLD_ROWS = 512;

/**
 * `rows` rows of c values as rows of cPad (zeros after the c), for the SIMD
 * loop's blocks of 4 input and 8 output channels (the 3-channel stem).
 */
function padChannels(simd: SimdKernels, wasm: WasmBackendLike, t: TensorInfo, rows: number, c: number, cPad: number): TensorInfo {
  if (cPad === c) return t;
  const out = wasm.makeOutput([rows, cPad], 'float32');
  const dst = wasm.typedArrayFromHeap(out);
  dst.fill(0);
  if (rows > 0) simd.copyRuns(wasm.typedArrayFromHeap(t).byteOffset, 4 * c, dst.byteOffset, 4 * cPad, 4 * c, rows);
  return out;
}

/** The SIMD path: dW[tap, ci, co] = Σ_r win_tap[r, ci] · dy[r, co], in place on the heap. */
function filterBySimd(simd: SimdKernels, scope: KernelScope, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo, filterShape: number[]): TensorInfo {
  const wasm = scope.backend;
  const [kh, kw, cIn, cOut] = filterShape as [number, number, number, number];
  const [cInP, cOutP] = [Math.ceil(cIn / 4) * 4, Math.ceil(cOut / 8) * 8];
  const m = info.batchSize * info.outHeight * info.outWidth;
  const out = wasm.makeOutput(filterShape, 'float32');
  const acc = new Float64Array(kh * kw * cIn * cOut);
  if (m === 0) {
    wasm.typedArrayFromHeap(out).fill(0);
    return scope.finish(out);
  }
  const partial = scope.track(wasm.makeOutput([cInP * cOutP], 'float32'));
  const g = padChannels(simd, wasm, dy, m, cOut, cOutP);
  if (g !== dy) scope.track(g);
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      // Each window is released once summed (not all kept to the end).
      const win = readsInputAsIs(info) ? x : tapWindow(wasm, x, info, i, j);
      const winP = padChannels(simd, wasm, win, m, cIn, cInP);
      // Views after the allocations: growing the heap detaches older ones.
      const xOff = wasm.typedArrayFromHeap(winP).byteOffset;
      const gOff = wasm.typedArrayFromHeap(g).byteOffset;
      const p = wasm.typedArrayFromHeap(partial);
      const tap = (i * kw + j) * cIn * cOut;
      for (let f0 = 0; f0 < m; f0 += FOLD_ROWS) {
        p.fill(0);
        simd.gemmTN(xOff + f0 * cInP * 4, cInP * 4, gOff + f0 * cOutP * 4, cOutP * 4, p.byteOffset, cOutP * 4, Math.min(FOLD_ROWS, m - f0), cInP / 4, cOutP / 8);
        for (let ci = 0; ci < cIn; ci++) {
          for (let co = 0; co < cOut; co++) acc[tap + ci * cOut + co] += p[ci * cOutP + co]!;
        }
      }
      if (winP !== win) wasm.disposeData(winP.dataId);
      if (win !== x) wasm.disposeData(win.dataId);
    }
  }
  wasm.typedArrayFromHeap(out).set(acc);
  return scope.finish(out);
}

export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape, dilations } = attrs as unknown as Conv2DBackpropFilterAttrs;
  if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter (wasm): only NHWC is supported');
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, dilations ?? 1, pad, dimRoundingMode, false,
  );
  const scope = new KernelScope(backend as WasmBackendLike);
  const [kh, kw, cIn, cOut] = filterShape;
  const simd = simdKernels(backend);
  if (simd !== null && cIn > 0 && cOut > 0) return filterBySimd(simd, scope, x, dy, info, filterShape);
  const m = info.batchSize * info.outHeight * info.outWidth;
  const dyT = scope.run('Transpose', { x: scope.reshape(dy, [m, cOut]) }, { perm: [1, 0] });
  const perTap: TensorInfo[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const win = readsInputAsIs(info) ? x : scope.track(tapWindow(scope.backend, x, info, i, j));
      perTap.push(scope.run('BatchMatMul', { a: dyT, b: scope.reshape(win, [m, cIn]) }, { transposeA: false, transposeB: false }));
    }
  }
  const all = scope.reshape(scope.concat(perTap, 0), [kh * kw, cOut, cIn]);
  const filter = scope.run('Transpose', { x: all }, { perm: [0, 2, 1] });
  return scope.finish(scope.reshape(filter, [kh, kw, cIn, cOut]));
};

export const conv2DBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: conv2DBackpropFilter,
};
