/**
 * DepthwiseConv2dNativeBackpropFilter on webgpu, replacing TensorFlow.js's
 * program (one invocation per filter element, each summing over all N·H·W
 * output positions: 41 % of a DARTS step's GPU time on an H200). Here each
 * chunk of output rows writes its partial sums [chunks, kh·kw·C·multiplier]
 * (chunks× the invocations, chunks× shorter loops), then one program adds
 * them up. Takes any stride, padding and dilation (the stock program
 * ignores dilation; TensorFlow.js's depthwise gradient refuses it, the
 * network's own dilated gradient does not).
 */
import { backend_util, type DepthwiseConv2dNativeBackpropFilterAttrs, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { planRowChunks, sumPartials } from './partialSums.js';
import { flatProgram, type WebGpuKernelBackend } from './program.js';

function depthwiseFilterGrad(backend: WebGpuKernelBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const multiplier = info.outChannels / info.inChannels;
  const filterSize = info.filterHeight * info.filterWidth * info.outChannels;
  const { rowsPerChunk, chunks } = planRowChunks(info.batchSize * info.outHeight, info.outWidth, filterSize);
  const program = flatProgram({
    outputShape: [chunks, filterSize],
    shaderKey: 'cellscope_depthwise_filter_partials',
    variableNames: ['x', 'dy'],
    uniforms: 'pads : vec2<i32>, strides : vec2<i32>, dilations : vec2<i32>, filterWidth : i32, multiplier : i32, rowsPerChunk : i32,',
    // Neighbouring invocations take neighbouring channels: x and dy reads are contiguous.
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
  let d2 = f % cOut;
  let d1 = d2 / uniforms.multiplier;
  let tap = f / cOut;
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
      acc += x[(xRow + xC) * cIn + d1] * dy[(dyRow + xo) * cOut + d2];
    }
  }
  setOutputAtIndex(index, acc);`,
  });
  const partials = backend.runWebGPUProgram(program, [x, dy], 'float32', [
    { type: 'int32', data: [info.padInfo.top, info.padInfo.left] },
    { type: 'int32', data: [info.strideHeight, info.strideWidth] },
    { type: 'int32', data: [info.dilationHeight, info.dilationWidth] },
    { type: 'int32', data: [info.filterWidth] },
    { type: 'int32', data: [multiplier] },
    { type: 'int32', data: [rowsPerChunk] },
  ]);
  const result = sumPartials(backend, partials, [info.filterHeight, info.filterWidth, info.inChannels, multiplier]);
  backend.disposeData(partials.dataId);
  return result;
}

/** The override (NHWC is the only layout TensorFlow.js's depthwise gradient has). */
export const depthwiseFilterGradKernel: KernelFunc = (args) => {
  const { x, dy } = args.inputs as unknown as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as DepthwiseConv2dNativeBackpropFilterAttrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    attrs.filterShape,
    attrs.strides,
    attrs.dilations,
    attrs.pad,
    attrs.dimRoundingMode,
    true,
  );
  return depthwiseFilterGrad(args.backend as unknown as WebGpuKernelBackend, x, dy, info);
};
