/**
 * Conv2DBackpropFilter on webgpu, replacing TensorFlow.js's program (one
 * invocation per filter element, each summing over all N·H·W output
 * positions: 53 % of a DARTS step's GPU time on an H200).
 *
 * - 1×1, stride 1, no padding (the ReLU-Conv-BN preprocessing and the
 *   pointwise halves of sep_conv and dil_conv: nearly every call in DARTS),
 *   Cin·Cout ≥ POINTWISE_MATMUL_MIN_CHANNELS:
 *   dW = xᵀ·dy over the N·H·W positions, as a batched matrix product over
 *   chunks of positions, x [chunks, L, Cin]ᵀ · dy [chunks, L, Cout] →
 *   [chunks, Cin, Cout] (TensorFlow.js's tiled matmul then runs chunks× the
 *   workgroups), then a sum over chunks.
 * - Any other NHWC convolution (k×k, strided, padded: the stem,
 *   FactorizedReduce, conv_7x1_1x7, the auxiliary head): a direct program
 *   writing each chunk of output rows' partial sums [chunks, kh·kw·Cin·Cout],
 *   then a sum over chunks.
 * - NCHW: the stock kernel.
 */
import { backend_util, type Conv2DBackpropFilterAttrs, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { filterGradByRowChunks, sumPartials, MAX_PARTIAL_ELEMENTS } from './partialSums.js';
import { callKernel, type WebGpuKernelBackend } from './program.js';

export type ConvFilterGradPath = 'matmul' | 'direct' | 'stock';

/**
 * Below this Cin·Cout a pointwise gradient takes the direct program: the
 * matmul's 32×32 tiles would be mostly idle lanes (on lavapipe, 4→4 and
 * 12→8 ran 3–10× slower as matmuls than directly; 32→16 and up faster).
 */
export const POINTWISE_MATMUL_MIN_CHANNELS = 512;

let forcedPointwisePath: 'matmul' | 'direct' | undefined;

/**
 * Makes every pointwise gradient take `path` (undefined: back to choosing by
 * POINTWISE_MATMUL_MIN_CHANNELS): for the GPU bench, which times both.
 */
export function forcePointwisePath(path: 'matmul' | 'direct' | undefined): void {
  forcedPointwisePath = path;
}

/** Whether a convolution is 1×1, stride 1, unpadded: dW = xᵀ·dy over positions. */
export function isPointwise(info: backend_util.Conv2DInfo): boolean {
  return (
    info.filterHeight === 1 && info.filterWidth === 1 && info.strideHeight === 1 && info.strideWidth === 1 &&
    info.padInfo.top === 0 && info.padInfo.left === 0 && info.outHeight === info.inHeight && info.outWidth === info.inWidth
  );
}

/** Which computation the override uses for a convolution. */
export function convFilterGradPath(info: backend_util.Conv2DInfo): ConvFilterGradPath {
  if (info.dataFormat !== 'channelsLast') return 'stock';
  if (!isPointwise(info)) return 'direct';
  return forcedPointwisePath ?? (info.inChannels * info.outChannels >= POINTWISE_MATMUL_MIN_CHANNELS ? 'matmul' : 'direct');
}

/** Tiles of TensorFlow.js's packed matmul are 32×32 outputs; about this many workgroups keep a large GPU busy. */
const TARGET_WORKGROUPS = 2048;
/** Shortest chunk of positions worth a matrix product of its own. */
const MIN_CHUNK = 64;

/**
 * Chunks of the `positions` rows for the pointwise product: enough for
 * TARGET_WORKGROUPS tiles, chunks of at least MIN_CHUNK rows, at most
 * MAX_PARTIAL_ELEMENTS partial sums; the chunk length divides `positions`
 * (the chunks are a reshape, no copy).
 */
export function planPointwiseChunks(positions: number, cIn: number, cOut: number): { readonly chunks: number; readonly length: number } {
  const tiles = Math.ceil(cIn / 32) * Math.ceil(cOut / 32);
  const wanted = Math.max(1, Math.min(Math.ceil(TARGET_WORKGROUPS / tiles), Math.floor(positions / MIN_CHUNK), Math.floor(MAX_PARTIAL_ELEMENTS / (cIn * cOut))));
  let length = Math.ceil(positions / wanted);
  while (positions % length !== 0) length++;
  return { chunks: positions / length, length };
}

function pointwise(backend: WebGpuKernelBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const positions = info.batchSize * info.inHeight * info.inWidth;
  const { chunks, length } = planPointwiseChunks(positions, info.inChannels, info.outChannels);
  const x3 = callKernel('Reshape', backend, { x }, { shape: [chunks, length, info.inChannels] });
  const dy3 = callKernel('Reshape', backend, { x: dy }, { shape: [chunks, length, info.outChannels] });
  const products = callKernel('BatchMatMul', backend, { a: x3, b: dy3 }, { transposeA: true, transposeB: false });
  const partials = callKernel('Reshape', backend, { x: products }, { shape: [chunks, info.inChannels * info.outChannels] });
  const result = sumPartials(backend, partials, [1, 1, info.inChannels, info.outChannels]);
  for (const t of [x3, dy3, products, partials]) backend.disposeData(t.dataId);
  return result;
}

function direct(backend: WebGpuKernelBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  return filterGradByRowChunks(backend, x, dy, info, {
    shaderKey: 'cellscope_conv2d_filter_partials',
    filterSize: info.filterHeight * info.filterWidth * info.inChannels * info.outChannels,
    outputShape: [info.filterHeight, info.filterWidth, info.inChannels, info.outChannels],
    // Filter layout [kh, kw, Cin, Cout].
    decode: `
  let dyChannel = f % cOut;
  let rest = f / cOut;
  let xChannel = rest % cIn;
  let tap = rest / cIn;`,
  });
}

/** The override; `stock` is TensorFlow.js's kernel, used for NCHW. */
export function convFilterGradKernel(stock: () => KernelFunc): KernelFunc {
  return (args) => {
    const { x, dy } = args.inputs as unknown as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as Conv2DBackpropFilterAttrs;
    const backend = args.backend as unknown as WebGpuKernelBackend;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      attrs.filterShape,
      attrs.strides,
      1,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      backend_util.convertConv2DDataFormat(attrs.dataFormat),
    );
    switch (convFilterGradPath(info)) {
      case 'matmul':
        return pointwise(backend, x, dy, info);
      case 'direct':
        return direct(backend, x, dy, info);
      case 'stock':
        return stock()(args) as TensorInfo;
    }
  };
}
