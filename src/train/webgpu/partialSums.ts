/**
 * Filter gradients as partial sums: TensorFlow.js's webgpu programs for the
 * filter gradients give one invocation per filter element, each summing
 * serially over every output position of the batch (tens of thousands of
 * positions for a few thousand invocations: far too few threads for a GPU,
 * 94 % of a DARTS step's GPU time on an H200, bench/RESULTS.md). Here the
 * output positions are cut into chunks, each chunk's sums are written as a
 * row of partial sums [chunks, filter size] (chunks× the invocations,
 * chunks× shorter loops), and one more program adds the rows up.
 */
import type { backend_util, TensorInfo } from '@tensorflow/tfjs-core';
import { flatProgram, type UniformData, type WebGpuKernelBackend } from './program.js';

/** Partial sums kept at most (elements): bounds the extra memory to 16 MiB per call. */
export const MAX_PARTIAL_ELEMENTS = 1 << 22;

export interface RowChunks {
  /** Output rows (one image's one output row each) per chunk. */
  readonly rowsPerChunk: number;
  readonly chunks: number;
}

/**
 * How to cut `rows` output rows of `width` positions, for a gradient of
 * `filterSize` elements: about √(positions) positions per chunk, so the
 * chunk loop and the final sum over chunks are both short; never more than
 * MAX_PARTIAL_ELEMENTS partial sums.
 */
export function planRowChunks(rows: number, width: number, filterSize: number): RowChunks {
  const positions = rows * width;
  const target = Math.min(1024, Math.max(64, Math.round(Math.sqrt(positions))));
  let rowsPerChunk = Math.max(1, Math.round(target / width));
  const maxChunks = Math.max(1, Math.floor(MAX_PARTIAL_ELEMENTS / filterSize));
  if (Math.ceil(rows / rowsPerChunk) > maxChunks) rowsPerChunk = Math.ceil(rows / maxChunks);
  rowsPerChunk = Math.min(rowsPerChunk, rows);
  return { rowsPerChunk, chunks: Math.ceil(rows / rowsPerChunk) };
}

/**
 * Sums partial sums [chunks, F] over chunks into a tensor of `outputShape`
 * (F elements): one invocation per element, reading down a column
 * (neighbouring invocations read neighbouring addresses).
 */
export function sumPartials(backend: WebGpuKernelBackend, partials: TensorInfo, outputShape: number[]): TensorInfo {
  const program = flatProgram({
    outputShape,
    shaderKey: 'cellscope_sum_partials',
    variableNames: ['partials'],
    body: `
  let chunks = uniforms.partialsShape[0];
  let width = uniforms.partialsShape[1];
  var acc = 0.0;
  for (var p = 0; p < chunks; p++) {
    acc += partials[p * width + index];
  }
  setOutputAtIndex(index, acc);`,
  });
  return backend.runWebGPUProgram(program, [partials], 'float32');
}

/** What tells one filter gradient's partial-sums program from another's. */
export interface FilterPartials {
  readonly shaderKey: string;
  /** Elements of the gradient: the width of the partial sums. */
  readonly filterSize: number;
  /** The gradient's shape (filterSize elements), after the sum over chunks. */
  readonly outputShape: number[];
  /**
   * WGSL turning the filter element `f` into the `tap` (kernel row·width +
   * column) and the channels it multiplies, `xChannel` and `dyChannel`;
   * the shapes inH, inW, cIn, outH, outW, cOut are in scope.
   */
  readonly decode: string;
  /** Uniforms of `decode` beyond the shared ones, declared in WGSL with their int32 values. */
  readonly uniforms?: ReadonlyArray<{ readonly declaration: string; readonly value: number }>;
}

/**
 * A filter gradient (NHWC, any stride, padding and dilation) as partial sums
 * over chunks of output rows, then their sum: each invocation takes one
 * filter element of one chunk and sums x·dy over the chunk's rows at its tap.
 * The convolution and depthwise gradients differ only in `decode`.
 */
export function filterGradByRowChunks(backend: WebGpuKernelBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo, spec: FilterPartials): TensorInfo {
  const { rowsPerChunk, chunks } = planRowChunks(info.batchSize * info.outHeight, info.outWidth, spec.filterSize);
  const extra = spec.uniforms ?? [];
  const program = flatProgram({
    outputShape: [chunks, spec.filterSize],
    shaderKey: spec.shaderKey,
    variableNames: ['x', 'dy'],
    uniforms: `pads : vec2<i32>, strides : vec2<i32>, dilations : vec2<i32>, filterWidth : i32, rowsPerChunk : i32,${extra.map((u) => ` ${u.declaration},`).join('')}`,
    // Neighbouring invocations take neighbouring output channels: dy reads are contiguous.
    body: `
  let filterSize = uniforms.outShape[1];
  let chunk = index / filterSize;
  let f = index - chunk * filterSize;
  let inH = uniforms.xShape[1];
  let inW = uniforms.xShape[2];
  let cIn = uniforms.xShape[3];
  let outH = uniforms.dyShape[1];
  let outW = uniforms.dyShape[2];
  let cOut = uniforms.dyShape[3];
${spec.decode}
  let wC = tap % uniforms.filterWidth;
  let wR = tap / uniforms.filterWidth;
  let rowStart = chunk * uniforms.rowsPerChunk;
  let rowEnd = min(uniforms.dyShape[0] * outH, rowStart + uniforms.rowsPerChunk);
  var acc = 0.0;
  for (var r = rowStart; r < rowEnd; r++) {
    let n = r / outH;
    let xR = (r - n * outH) * uniforms.strides.x + wR * uniforms.dilations.x - uniforms.pads.x;
    if (xR < 0 || xR >= inH) {
      continue;
    }
    let xRow = (n * inH + xR) * inW;
    let dyRow = r * outW;
    for (var xo = 0; xo < outW; xo++) {
      let xC = xo * uniforms.strides.y + wC * uniforms.dilations.y - uniforms.pads.y;
      if (xC < 0 || xC >= inW) {
        continue;
      }
      acc += x[(xRow + xC) * cIn + xChannel] * dy[(dyRow + xo) * cOut + dyChannel];
    }
  }
  setOutputAtIndex(index, acc);`,
  });
  const partials = backend.runWebGPUProgram(program, [x, dy], 'float32', [
    { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [info.dilationHeight, info.dilationWidth] },
    { type: 'int32', data: [info.filterWidth] },
    { type: 'int32', data: [rowsPerChunk] },
    ...extra.map((u): UniformData => ({ type: 'int32', data: [u.value] })),
  ]);
  const result = sumPartials(backend, partials, spec.outputShape);
  backend.disposeData(partials.dataId);
  return result;
}
