/**
 * DepthwiseConv2dNative for the wasm backend where XNNPACK's is slow: filters
 * larger than 3×3 (sep_conv_5x5/7x7, dil_conv_5x5), with channels in blocks
 * of 16 and multiplier 1. XNNPACK ran a 7×7 one at about 0.5 GMAC/s (49 ms
 * for [64,16,16,32], 145 ms at stride 2 from 32×32: a fifth of an AmoebaNet
 * step); simd.ts's `dwConv` runs at the rate of the 3×3 case, where XNNPACK
 * is as fast or faster and keeps it (tried: 0.85× there).
 *
 * Per output row: the filter rows whose input row is inside the image; the
 * columns whose every tap is inside go to one dwConv call, the few at the
 * edges one call each with their own valid taps. Padding cells are never
 * read (they would add zeros). Every other case goes to the stock kernel.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './compose.js';
import { simdKernels } from './simd.js';
import { validRange } from './tapWindow.js';

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | backend_util.ExplicitPadding;
  dilations?: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dataFormat?: 'NHWC' | 'NCHW';
}

/** Filters with more taps than this go to dwConv. */
const MAX_XNNPACK_TAPS = 9;

let stockDepthwise: KernelFunc | undefined;

/** Keeps the wasm backend's own DepthwiseConv2dNative for the cases this one leaves to it. */
export function setStockDepthwise(kernel: KernelFunc | undefined): void {
  stockDepthwise = kernel;
}

/** Taps t < k whose input index o·s − pad + t·d lies in [0, size): [first, end). */
function validTaps(o: number, s: number, pad: number, d: number, k: number, size: number): [number, number] {
  const start = o * s - pad;
  let lo = 0;
  while (lo < k && start + lo * d < 0) lo++;
  let hi = k;
  while (hi > lo && start + (hi - 1) * d >= size) hi--;
  return [lo, hi];
}

export const depthwiseConv2dNative: KernelFunc = (args) => {
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const { strides, pad, dilations, dimRoundingMode, dataFormat } = args.attrs as unknown as Attrs;
  const [kh, kw, c, mult] = filter.shape as [number, number, number, number];
  const simd = kh * kw > MAX_XNNPACK_TAPS ? simdKernels(args.backend) : null;
  if (simd === null || mult !== 1 || c % 16 !== 0 || dataFormat === 'NCHW' || x.dtype !== 'float32' || filter.dtype !== 'float32') {
    if (stockDepthwise === undefined) throw new Error('DepthwiseConv2dNative (wasm): the stock kernel was not kept');
    return stockDepthwise(args);
  }
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number], strides, dilations ?? 1, pad, dimRoundingMode, true,
  );
  const wasm = args.backend as WasmBackendLike;
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const out = wasm.makeOutput([n, oh, ow, c], 'float32');
  // Views after the allocation: growing the heap detaches older ones.
  const dst = wasm.typedArrayFromHeap(out);
  const xOff = wasm.typedArrayFromHeap(x).byteOffset;
  const wOff = wasm.typedArrayFromHeap(filter).byteOffset;
  const nb = c / 16;
  // Output columns whose taps are all inside the image: the first tap's valid range ∩ the last tap's.
  const [firstLo, firstHi] = validRange(ow, sw, -left, w);
  const [lastLo, lastHi] = validRange(ow, sw, (kw - 1) * dw - left, w);
  const inLo = Math.max(firstLo, lastLo);
  const inHi = Math.max(inLo, Math.min(firstHi, lastHi));
  const B = 4 * c; // bytes per pixel
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      const rowOut = (b * oh + oy) * ow;
      const [iLo, iHi] = validTaps(oy, sh, top, dh, kh, h);
      if (iHi <= iLo) {
        dst.fill(0, rowOut * c, (rowOut + ow) * c);
        continue;
      }
      const y0 = oy * sh - top + iLo * dh;
      const pixels = (ox: number, count: number, jLo: number, jHi: number) => {
        const x0 = ox * sw - left + jLo * dw;
        simd.dwConv(
          xOff + ((b * h + y0) * w + x0) * B, sw * B, dh * w * B, dw * B, iHi - iLo, jHi - jLo,
          wOff + (iLo * kw + jLo) * B, kw * B, B, count, dst.byteOffset + (rowOut + ox) * B, B, nb,
        );
      };
      for (let ox = 0; ox < ow; ox++) {
        if (ox === inLo && inHi > inLo) {
          pixels(inLo, inHi - inLo, 0, kw);
          ox = inHi - 1;
          continue;
        }
        const [jLo, jHi] = validTaps(ox, sw, left, dw, kw, w);
        if (jHi > jLo) pixels(ox, 1, jLo, jHi);
        else dst.fill(0, (rowOut + ox) * c, (rowOut + ox + 1) * c);
      }
    }
  }
  return out;
};

export const depthwiseConv2dNativeConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNative',
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNative,
};
