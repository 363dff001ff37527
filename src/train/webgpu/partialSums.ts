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
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { flatProgram, type WebGpuKernelBackend } from './program.js';

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
