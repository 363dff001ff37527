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
import { filterGradByRowChunks } from './partialSums.js';
import type { WebGpuKernelBackend } from './program.js';

function depthwiseFilterGrad(backend: WebGpuKernelBackend, x: TensorInfo, dy: TensorInfo, info: backend_util.Conv2DInfo): TensorInfo {
  const multiplier = info.outChannels / info.inChannels;
  return filterGradByRowChunks(backend, x, dy, info, {
    shaderKey: 'cellscope_depthwise_filter_partials',
    filterSize: info.filterHeight * info.filterWidth * info.outChannels,
    outputShape: [info.filterHeight, info.filterWidth, info.inChannels, multiplier],
    // Filter layout [kh, kw, C, multiplier]: output channel d2 reads input channel d2 / multiplier.
    decode: `
  let dyChannel = f % cOut;
  let xChannel = dyChannel / uniforms.multiplier;
  let tap = f / cOut;`,
    uniforms: [{ declaration: 'multiplier : i32', value: multiplier }],
  });
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
