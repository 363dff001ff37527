/**
 * Kernels this project registers on the webgpu backend, replacing
 * TensorFlow.js's own.
 *
 * - AddN: the stock kernel binds every input to one shader, and WebGPU
 *   allows only `maxStorageBuffersPerShaderStage` storage buffers per
 *   shader (8 by default, 16 on lavapipe): clip_grad_norm_ sums one term per
 *   parameter (hundreds in DARTS), and the pipeline fails validation. This
 *   one sums in groups that fit, then sums the partial sums. (Concat already
 *   splits its inputs this way.)
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

interface WebGpuBackendLike {
  readonly device: { readonly limits: { readonly maxStorageBuffersPerShaderStage: number } };
  disposeData(dataId: object, force?: boolean): boolean;
}

let stockAddN: KernelFunc | undefined;

const addNConfig: KernelConfig = {
  kernelName: 'AddN',
  backendName: 'webgpu',
  kernelFunc: (args) => {
    const inputs = args.inputs as unknown as TensorInfo[];
    const backend = args.backend as unknown as WebGpuBackendLike;
    const stock = stockAddN!;
    // One binding is the output.
    const group = Math.max(2, backend.device.limits.maxStorageBuffersPerShaderStage - 1);
    let terms = inputs;
    const temps: TensorInfo[] = [];
    while (terms.length > group) {
      const partial: TensorInfo[] = [];
      for (let i = 0; i < terms.length; i += group) {
        const chunk = terms.slice(i, i + group);
        if (chunk.length === 1) {
          partial.push(chunk[0]!);
          continue;
        }
        const sum = stock({ ...args, inputs: chunk as unknown as typeof args.inputs }) as TensorInfo;
        temps.push(sum);
        partial.push(sum);
      }
      terms = partial;
    }
    const result = stock({ ...args, inputs: terms as unknown as typeof args.inputs }) as TensorInfo;
    for (const t of temps) backend.disposeData(t.dataId);
    return result;
  },
};

export const WEBGPU_KERNELS: readonly KernelConfig[] = [addNConfig];

/**
 * Registers WEBGPU_KERNELS for the webgpu backend, replacing the stock ones
 * (kept to be called on the pieces). Idempotent; call it after importing
 * @tensorflow/tfjs-backend-webgpu, whose import registers its kernels.
 */
export function registerWebGpuKernels(): void {
  const existing = getKernel('AddN', 'webgpu');
  if (existing === undefined || existing.kernelFunc === addNConfig.kernelFunc) return;
  stockAddN = existing.kernelFunc;
  unregisterKernel('AddN', 'webgpu');
  registerKernel(addNConfig);
}
