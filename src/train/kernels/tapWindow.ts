/**
 * The input window of one filter tap: for a convolution described by `info`
 * and filter offset (i, j), the [N, OH, OW, C] tensor
 *
 *   win[n, oy, ox, c] = x[n, oy·sh + i·dh − top, ox·sw + j·dw − left, c]
 *
 * with zeros where that position lies in the padding. Both filter gradients
 * are sums over these windows times dy, so they are built on it.
 *
 * Built by copying from heap to heap: at stride 1 each output row is one
 * contiguous run of the input row (a memcpy), at larger strides one run of C
 * per pixel. The wasm backend's own StridedSlice and Pad compute an index
 * per element and are 5–20× slower for the same result.
 */
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './compose.js';
import { copyRun } from './heapCopy.js';

/** First and one-past-last output index whose input index o·s + off lies in [0, size). */
export function validRange(outSize: number, stride: number, off: number, size: number): [number, number] {
  const lo = Math.min(outSize, off >= 0 ? 0 : Math.ceil(-off / stride));
  const hi = Math.min(outSize, Math.floor((size - 1 - off) / stride) + 1);
  return [lo, Math.max(lo, hi)];
}

export function tapWindow(wasm: WasmBackendLike, x: TensorInfo, info: backend_util.Conv2DInfo, i: number, j: number): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const c = x.shape[3]!;
  const offY = i * dh - info.padInfo.top;
  const offX = j * dw - info.padInfo.left;
  const out = wasm.makeOutput([n, oh, ow, c], 'float32');
  // Views after the allocation: growing the heap detaches older ones.
  const src = wasm.typedArrayFromHeap(x) as Float32Array;
  const dst = wasm.typedArrayFromHeap(out) as Float32Array;
  const [yLo, yHi] = validRange(oh, sh, offY, h);
  const [xLo, xHi] = validRange(ow, sw, offX, w);
  const rowLen = ow * c;
  for (let b = 0; b < n; b++) {
    const outImage = b * oh * rowLen;
    // Rows entirely in the padding.
    dst.fill(0, outImage, outImage + yLo * rowLen);
    dst.fill(0, outImage + yHi * rowLen, outImage + oh * rowLen);
    for (let y = yLo; y < yHi; y++) {
      const o = outImage + y * rowLen;
      const inRow = ((b * h + y * sh + offY) * w) * c;
      dst.fill(0, o, o + xLo * c);
      dst.fill(0, o + xHi * c, o + rowLen);
      if (xHi <= xLo) continue;
      if (sw === 1) {
        copyRun(dst, o + xLo * c, src, inRow + (xLo + offX) * c, (xHi - xLo) * c);
      } else {
        for (let xo = xLo; xo < xHi; xo++) copyRun(dst, o + xo * c, src, inRow + (xo * sw + offX) * c, c);
      }
    }
  }
  return out;
}
