/**
 * AvgPoolGrad for the wasm backend, replacing its own, which took 20–50 ms
 * per call at batch 64 (a tenth of an AmoebaNet step; avg_pool_3x3 is in
 * many genotypes). An average pool is a depthwise convolution whose filter
 * is 1/(fh·fw) in every tap and channel (TensorFlow.js divides by the whole
 * window, padding included, as the cpu backend's gradient does), so its
 * gradient is that convolution's input gradient: depthwiseBackprop.ts's
 * transposed convolution, on XNNPACK's depthwise kernel. The same products
 * dy · 1/(fh·fw), summed in another order.
 */
import { backend_util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './compose.js';
import { depthwiseConv2dNativeBackpropInput } from './depthwiseBackprop.js';
import type { PoolGradAttrs } from './maxPoolGrad.js';

export const avgPoolGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, input } = inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as PoolGradAttrs;
  const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const wasm = backend as WasmBackendLike;
  const { filterHeight: fh, filterWidth: fw, inChannels: c } = info;
  const filter = wasm.makeOutput([fh, fw, c, 1], 'float32');
  wasm.typedArrayFromHeap(filter).fill(1 / (fh * fw));
  try {
    return depthwiseConv2dNativeBackpropInput({
      inputs: { dy, filter },
      backend,
      attrs: { strides, pad, dilations: 1, dimRoundingMode, inputShape: input.shape } as never,
    });
  } finally {
    wasm.disposeData(filter.dataId);
  }
};

export const avgPoolGradConfig: KernelConfig = {
  kernelName: 'AvgPoolGrad',
  backendName: 'wasm',
  kernelFunc: avgPoolGrad,
};
