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
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope, type WasmBackendLike } from './compose.js';
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

export const conv2DBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape, dilations } = attrs as unknown as Conv2DBackpropFilterAttrs;
  if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter (wasm): only NHWC is supported');
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, dilations ?? 1, pad, dimRoundingMode, false,
  );
  const scope = new KernelScope(backend as WasmBackendLike);
  const [kh, kw, cIn, cOut] = filterShape;
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
