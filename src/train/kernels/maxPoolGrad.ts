/**
 * MaxPoolGrad for the wasm backend, replacing its own.
 *
 * tfjs-backend-wasm 4.22's MaxPoolGrad starts each window's running maximum
 * at the smallest positive float instead of −∞, so a window whose values are
 * all ≤ 0 routes its gradient to the wrong cell (or nowhere): 5–10 % gradient
 * error inside a DARTS network, where pools read BatchNorm outputs.
 *
 * This one follows the cpu backend exactly: the gradient of each output goes
 * to the first maximum of its window in row-major order, padding cells never
 * win. It reads and writes the wasm heap directly: per output pixel, the
 * window's cells in row-major order, each a contiguous run of channels
 * compared against per-channel running maxima (channel-innermost, so the
 * reads are sequential; channel-outermost took 3× as long). With a multiple
 * of 4 channels the window loop is simd.ts's, branch-free.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './compose.js';
import { simdKernels } from './simd.js';

/** The attributes of TensorFlow.js's MaxPoolGrad and AvgPoolGrad kernels (the same for both). */
export interface PoolGradAttrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export const maxPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as PoolGradAttrs;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const wasm = backend as WasmBackendLike;
  // Allocate first: growing the heap detaches views taken before.
  const out = wasm.makeOutput(input.shape, 'float32');
  const dx = wasm.typedArrayFromHeap(out);
  const x = wasm.typedArrayFromHeap(input);
  const g = wasm.typedArrayFromHeap(dy);
  dx.fill(0);

  const { batchSize, inHeight, inWidth, inChannels: c, outHeight, outWidth, strideHeight, strideWidth } = info;
  const { dilationHeight, dilationWidth, effectiveFilterHeight, effectiveFilterWidth } = info;
  const { top, left } = info.padInfo;
  const simd = c % 4 === 0 && c > 0 ? simdKernels(backend) : null;
  if (simd !== null) {
    // Per output pixel, its window's valid cells to simd.ts's loop (x and dx share the layout: delta is their distance).
    const delta = dx.byteOffset - x.byteOffset;
    for (let b = 0; b < batchSize; b++) {
      for (let oy = 0; oy < outHeight; oy++) {
        const yCorner = oy * strideHeight - top;
        let yMin = yCorner;
        while (yMin < 0) yMin += dilationHeight;
        const rows = Math.ceil((Math.min(inHeight, yCorner + effectiveFilterHeight) - yMin) / dilationHeight);
        if (rows <= 0) continue;
        for (let ox = 0; ox < outWidth; ox++) {
          const xCorner = ox * strideWidth - left;
          let xMin = xCorner;
          while (xMin < 0) xMin += dilationWidth;
          const cols = Math.ceil((Math.min(inWidth, xCorner + effectiveFilterWidth) - xMin) / dilationWidth);
          if (cols <= 0) continue;
          simd.maxPoolGrad(x.byteOffset + 4 * (((b * inHeight + yMin) * inWidth + xMin) * c), 4 * dilationHeight * inWidth * c, 4 * dilationWidth * c,
            rows, cols, g.byteOffset + 4 * (((b * outHeight + oy) * outWidth + ox) * c), delta, c / 4);
        }
      }
    }
    return out;
  }
  const best = new Float32Array(c);
  const at = new Int32Array(c);
  for (let b = 0; b < batchSize; b++) {
    const xBatch = b * inHeight * inWidth * c;
    for (let oy = 0; oy < outHeight; oy++) {
      const yCorner = oy * strideHeight - top;
      let yMin = yCorner;
      while (yMin < 0) yMin += dilationHeight;
      const yMax = Math.min(inHeight, yCorner + effectiveFilterHeight);
      for (let ox = 0; ox < outWidth; ox++) {
        const xCorner = ox * strideWidth - left;
        let xMin = xCorner;
        while (xMin < 0) xMin += dilationWidth;
        const xMax = Math.min(inWidth, xCorner + effectiveFilterWidth);
        best.fill(Number.NEGATIVE_INFINITY);
        at.fill(-1);
        for (let y = yMin; y < yMax; y += dilationHeight) {
          for (let xx = xMin; xx < xMax; xx += dilationWidth) {
            const base = xBatch + (y * inWidth + xx) * c;
            for (let d = 0; d < c; d++) {
              const v = x[base + d]!;
              // Strictly greater: the first maximum in row-major order wins.
              if (v > best[d]!) {
                best[d] = v;
                at[d] = base + d;
              }
            }
          }
        }
        const gBase = ((b * outHeight + oy) * outWidth + ox) * c;
        for (let d = 0; d < c; d++) {
          const idx = at[d]!;
          if (idx >= 0) dx[idx] = dx[idx]! + g[gBase + d]!;
        }
      }
    }
  }
  return out;
};

export const maxPoolGradConfig: KernelConfig = {
  kernelName: 'MaxPoolGrad',
  backendName: 'wasm',
  kernelFunc: maxPoolGrad,
};
