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
 * - Conv2DBackpropFilter and DepthwiseConv2dNativeBackpropFilter: 94 % of a
 *   DARTS step's GPU time with the stock programs (bench/RESULTS.md); see
 *   convFilterGrad.ts and depthwiseFilterGrad.ts.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { convFilterGradKernel } from './convFilterGrad.js';
import { depthwiseFilterGradKernel } from './depthwiseFilterGrad.js';

interface WebGpuBackendLike {
  readonly device: { readonly limits: { readonly maxStorageBuffersPerShaderStage: number } };
  disposeData(dataId: object, force?: boolean): boolean;
}

const addNConfig: KernelConfig = {
  kernelName: 'AddN',
  backendName: 'webgpu',
  kernelFunc: (args) => {
    const inputs = args.inputs as unknown as TensorInfo[];
    const backend = args.backend as unknown as WebGpuBackendLike;
    const stockAddN = stockKernel('AddN');
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
        const sum = stockAddN({ ...args, inputs: chunk as unknown as typeof args.inputs }) as TensorInfo;
        temps.push(sum);
        partial.push(sum);
      }
      terms = partial;
    }
    const result = stockAddN({ ...args, inputs: terms as unknown as typeof args.inputs }) as TensorInfo;
    for (const t of temps) backend.disposeData(t.dataId);
    return result;
  },
};

/** TensorFlow.js's own kernels that WEBGPU_KERNELS replaced, by name. */
const stock = new Map<string, KernelFunc>();

function stockKernel(name: string): KernelFunc {
  const f = stock.get(name);
  if (f === undefined) throw new Error(`registerWebGpuKernels() has not run: no stock ${name}`);
  return f;
}

const convFilterGradConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'webgpu',
  kernelFunc: convFilterGradKernel(() => stockKernel('Conv2DBackpropFilter')),
};

const depthwiseFilterGradConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'webgpu',
  kernelFunc: depthwiseFilterGradKernel,
};

export const WEBGPU_KERNELS: readonly KernelConfig[] = [addNConfig, convFilterGradConfig, depthwiseFilterGradConfig];

/** The kernels whose stock versions the GPU bench compares against. */
export const FILTER_GRAD_KERNELS: readonly string[] = [convFilterGradConfig.kernelName, depthwiseFilterGradConfig.kernelName];

function replace(name: string, kernelFunc: KernelFunc): void {
  unregisterKernel(name, 'webgpu');
  registerKernel({ kernelName: name, backendName: 'webgpu', kernelFunc });
}

/**
 * Registers WEBGPU_KERNELS for the webgpu backend, replacing the stock ones
 * (kept to be called on the pieces, or where an override does not apply).
 * Idempotent; call it after importing @tensorflow/tfjs-backend-webgpu, whose
 * import registers its kernels.
 */
export function registerWebGpuKernels(): void {
  for (const config of WEBGPU_KERNELS) {
    const existing = getKernel(config.kernelName, 'webgpu');
    if (existing === undefined || existing.kernelFunc === config.kernelFunc) continue;
    if (!stock.has(config.kernelName)) stock.set(config.kernelName, existing.kernelFunc);
    replace(config.kernelName, config.kernelFunc);
  }
}

/** Whether kernel `name` of webgpu is this project's override (false: TensorFlow.js's own, or unknown). */
export function isWebGpuOverride(name: string): boolean {
  const config = WEBGPU_KERNELS.find((c) => c.kernelName === name);
  return config !== undefined && getKernel(name, 'webgpu')?.kernelFunc === config.kernelFunc;
}

/**
 * Puts TensorFlow.js's own kernel `name` back on webgpu (`useStock` true) or
 * this project's override (false): for benchmarks and tests that compare
 * the two. Needs registerWebGpuKernels() to have run.
 */
export function useStockWebGpuKernel(name: string, useStock: boolean): void {
  const config = WEBGPU_KERNELS.find((c) => c.kernelName === name);
  if (config === undefined) throw new Error(`no webgpu override named ${name}`);
  replace(name, useStock ? stockKernel(name) : config.kernelFunc);
}
