/**
 * The two depthwise-convolution gradients the wasm backend lacks, composed
 * from kernels it has.
 *
 * Filter gradient (filter [kh, kw, C, mult], dy channel c·mult + m):
 *   dW[i, j, c, m] = Σ_{n, oh, ow} x_pad[n, oh·s + i·d, ow·s + j·d, c] · dy[n, oh, ow, c·mult + m]
 * evaluated by a loop over the wasm heap: for each tap, the output rows whose
 * input row is inside the image, over the valid columns only (no per-pixel
 * bounds checks), eight channels at a time in independent local
 * accumulators (V8 keeps them in registers; one accumulator array entry per
 * channel serialises on its add latency and ran 3–4× slower). Each row's
 * partial sums go to float64 totals. Composed from wasm kernels instead
 * (a window copy, Multiply and a column sum per tap) it took 2–5× as long:
 * the wasm backend's reductions over a leading axis transpose first.
 * Sixteen channels at a time the loop is simd.ts's `depthwise` instead (four
 * float32x4 accumulators, one call per tap and image, whose float32 sums go
 * to the float64 totals): 5–10× faster than the JavaScript loop on the
 * network's shapes (bench/RESULTS.md).
 *
 * Input gradient: the transposed convolution. Spread dy onto the stride grid
 * (zeros between samples) and correlate it at stride 1, padded by (k−1)·d −
 * pad on the leading side, with the spatially flipped filter, dilation kept:
 *   dx[i] = Σ_k dy_up[i + pad − k·d] · w[k] = Σ_k' dy_pad[i + k'·d] · w[K−1−k'].
 * With mult > 1 each multiplier slice is one depthwise correlation, summed.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { KernelScope, type WasmBackendLike } from './compose.js';
import { flipFilter, transposedConvInput } from './convBackpropInput.js';
import { simdKernels } from './simd.js';
import { validRange } from './tapWindow.js';

type Pad = 'valid' | 'same' | number | backend_util.ExplicitPadding;
type Pair = [number, number] | number;

interface FilterAttrs {
  strides: Pair;
  dilations: Pair;
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

interface InputAttrs {
  strides: Pair;
  dilations: Pair;
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/**
 * Adds Σ_p x[xBase + p·xStep + ch] · g[gBase + p·gStep + ch] over p < count
 * to acc[accBase + ch], for every ch < c.
 */
function accumulateRow(
  x: Float32Array, xBase: number, xStep: number, g: Float32Array, gBase: number, gStep: number,
  count: number, c: number, acc: Float64Array, accBase: number,
): void {
  let ch = 0;
  for (; ch + 8 <= c; ch += 8) {
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0, a6 = 0, a7 = 0;
    let xi = xBase + ch;
    let gi = gBase + ch;
    for (let p = 0; p < count; p++, xi += xStep, gi += gStep) {
      a0 += x[xi]! * g[gi]!;
      a1 += x[xi + 1]! * g[gi + 1]!;
      a2 += x[xi + 2]! * g[gi + 2]!;
      a3 += x[xi + 3]! * g[gi + 3]!;
      a4 += x[xi + 4]! * g[gi + 4]!;
      a5 += x[xi + 5]! * g[gi + 5]!;
      a6 += x[xi + 6]! * g[gi + 6]!;
      a7 += x[xi + 7]! * g[gi + 7]!;
    }
    const a = accBase + ch;
    acc[a] += a0; acc[a + 1] += a1; acc[a + 2] += a2; acc[a + 3] += a3;
    acc[a + 4] += a4; acc[a + 5] += a5; acc[a + 6] += a6; acc[a + 7] += a7;
  }
  for (; ch < c; ch++) {
    let a0 = 0;
    for (let p = 0, xi = xBase + ch, gi = gBase + ch; p < count; p++, xi += xStep, gi += gStep) a0 += x[xi]! * g[gi]!;
    acc[accBase + ch] += a0;
  }
}

export const depthwiseConv2dNativeBackpropFilter: KernelFunc = ({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, filterShape } = attrs as unknown as FilterAttrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, dilations, pad, dimRoundingMode, true,
  );
  const wasm = backend as WasmBackendLike;
  const [kh, kw, c, mult] = filterShape;
  const { batchSize: n, inHeight: h, inWidth: w, outHeight: oh, outWidth: ow } = info;
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  // Allocate first: growing the heap detaches views taken before.
  const out = wasm.makeOutput(filterShape, 'float32');
  const simd = mult === 1 ? simdKernels(backend) : null;
  const blocks = simd === null ? 0 : Math.floor(c / 16);
  const partial = blocks > 0 ? wasm.makeOutput([blocks * 16], 'float32') : undefined;
  const xv = wasm.typedArrayFromHeap(x) as Float32Array;
  const g = wasm.typedArrayFromHeap(dy) as Float32Array;
  const p = partial === undefined ? undefined : wasm.typedArrayFromHeap(partial);
  const cm = c * mult;
  const acc = new Float64Array(kh * kw * cm);
  for (let i = 0; i < kh; i++) {
    const offY = i * dh - top;
    const [yLo, yHi] = validRange(oh, sh, offY, h);
    for (let j = 0; j < kw; j++) {
      const offX = j * dw - left;
      const [xLo, xHi] = validRange(ow, sw, offX, w);
      if (xHi <= xLo) continue;
      const tapBase = (i * kw + j) * cm;
      for (let b = 0; b < n; b++) {
        if (p !== undefined && yHi > yLo) {
          // This image's rows at once, 16 channels per block, summed in float32 (≤ OH·OW terms).
          const xFirst = ((b * h + yLo * sh + offY) * w + xLo * sw + offX) * c;
          const gFirst = ((b * oh + yLo) * ow + xLo) * cm;
          simd!.depthwise(xv.byteOffset + 4 * xFirst, 4 * sw * c, 4 * sh * w * c, g.byteOffset + 4 * gFirst, 4 * cm, 4 * ow * cm,
            xHi - xLo, yHi - yLo, blocks, p.byteOffset);
          for (let ch = 0; ch < 16 * blocks; ch++) acc[tapBase + ch] += p[ch]!;
        }
        for (let y = yLo; y < yHi; y++) {
          const xBase = ((b * h + y * sh + offY) * w + xLo * sw + offX) * c;
          const gBase = ((b * oh + y) * ow + xLo) * cm;
          if (mult === 1) {
            // The channels the SIMD blocks left (all of them without SIMD).
            const done = 16 * blocks;
            if (done < c) accumulateRow(xv, xBase + done, sw * c, g, gBase + done, cm, xHi - xLo, c - done, acc, tapBase + done);
          } else {
            // Channel multipliers (unused by DARTS): x channel ch pairs with dy channels ch·mult + m.
            for (let p = 0; p < xHi - xLo; p++) {
              for (let ch = 0; ch < c; ch++) {
                const xval = xv[xBase + p * sw * c + ch]!;
                for (let m = 0; m < mult; m++) acc[tapBase + ch * mult + m] += xval * g[gBase + p * cm + ch * mult + m]!;
              }
            }
          }
        }
      }
    }
  }
  wasm.typedArrayFromHeap(out).set(acc);
  if (partial !== undefined) wasm.disposeData(partial.dataId);
  return out;
};

export const depthwiseConv2dNativeBackpropInput: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, filter } = inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, dilations, pad, dimRoundingMode, inputShape } = attrs as unknown as InputAttrs;
  const filterShape = filter.shape as [number, number, number, number];
  const info = backend_util.computeConv2DInfo(inputShape, filterShape, strides, dilations, pad, dimRoundingMode, true);
  const scope = new KernelScope(backend as WasmBackendLike);
  const [kh, kw, c, mult] = filterShape;
  const n = inputShape[0];
  const up = transposedConvInput(scope, dy, info);
  const flipped = scope.track(flipFilter(scope.backend, filter, false));
  const correlate = (input: TensorInfo, f: TensorInfo): TensorInfo =>
    scope.run('DepthwiseConv2dNative', { x: input, filter: f }, {
      strides: [1, 1], pad: up.pad, dilations: [info.dilationHeight, info.dilationWidth], dataFormat: 'NHWC',
    });
  if (mult === 1) return scope.finish(correlate(up.x, flipped));

  const [, hp, wp] = up.x.shape as [number, number, number, number];
  const dy5 = scope.reshape(up.x, [n, hp, wp, c, mult]);
  let sum: TensorInfo | undefined;
  for (let k = 0; k < mult; k++) {
    const part = scope.reshape(scope.stridedSlice(dy5, [0, 0, 0, 0, k], [n, hp, wp, c, 1], [1, 1, 1, 1, 1]), [n, hp, wp, c]);
    const fk = scope.stridedSlice(flipped, [0, 0, 0, k], [kh, kw, c, 1], [1, 1, 1, 1]);
    const term = correlate(part, fk);
    sum = sum === undefined ? term : scope.add(sum, term);
  }
  return scope.finish(sum!);
};

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropFilter,
};

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: depthwiseConv2dNativeBackpropInput,
};
