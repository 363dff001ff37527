/**
 * What this project's own WGSL programs and kernel overrides need from
 * TensorFlow.js's webgpu backend, which exports neither its program
 * interface nor its kernel helpers: the shape of a program that
 * `runWebGPUProgram` compiles (it prepends the bindings, a `Uniforms` struct
 * with every input's shape and strides, `outShape`, `size` and the
 * program's own uniforms, and `setOutputAtIndex`), and calls into the
 * backend's registered kernels without going through the engine (no tape,
 * no profile entry of their own: the calling kernel's time covers them).
 */
import { getKernel, util, type DataType, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

/** A compute program as the webgpu backend runs it (its WebGPUProgram interface). */
export interface WgslProgram {
  outputShape: number[];
  /** Identifies the compiled pipeline together with the input and output ranks and dtypes. */
  shaderKey: string;
  /** Output axes mapped to dispatch dimensions; only x: `main(index)` receives a flat index. */
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  /** Input bindings, in the order of the inputs passed to runWebGPUProgram. */
  variableNames: string[];
  /** WGSL struct members appended to Uniforms, in the order of the uniform data. */
  uniforms?: string;
  workgroupSize: [number, number, number];
  /** Adds `size` (the output's element count) to Uniforms. */
  size: boolean;
  getUserCode(): string;
}

export interface UniformData {
  readonly type: 'int32' | 'float32' | 'uint32';
  readonly data: number[];
}

/** The webgpu backend as the kernels here use it. */
export interface WebGpuKernelBackend {
  runWebGPUProgram(program: WgslProgram, inputs: TensorInfo[], outputDtype: DataType, uniforms?: UniformData[]): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
}

/** A flat program: one invocation per output element, `main(index)` guarded by `index < uniforms.size`. */
export function flatProgram(fields: {
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly variableNames: string[];
  readonly uniforms?: string;
  readonly body: string;
}): WgslProgram {
  const workgroupSize: [number, number, number] = [64, 1, 1];
  return {
    outputShape: fields.outputShape,
    shaderKey: fields.shaderKey,
    dispatchLayout: { x: fields.outputShape.map((_, i) => i) },
    // runWebGPUProgram folds an x beyond maxComputeWorkgroupsPerDimension into y and z.
    dispatch: [Math.ceil(util.sizeFromShape(fields.outputShape) / workgroupSize[0]), 1, 1],
    variableNames: fields.variableNames,
    ...(fields.uniforms === undefined ? {} : { uniforms: fields.uniforms }),
    workgroupSize,
    size: true,
    getUserCode: () => `
fn main(index : i32) {
  if (index >= uniforms.size) {
    return;
  }
${fields.body}
}
`,
  };
}

/** A kernel of the webgpu backend as currently registered (the stock one unless this project replaced it). */
export function webgpuKernel(name: string): KernelFunc {
  const config = getKernel(name, 'webgpu');
  if (config === undefined) throw new Error(`the webgpu backend has no kernel ${name}`);
  return config.kernelFunc;
}

/** Calls kernel `name` of the webgpu backend directly; the caller disposes the result when it is an intermediate. */
export function callKernel(name: string, backend: WebGpuKernelBackend, inputs: Record<string, TensorInfo>, attrs: object = {}): TensorInfo {
  return webgpuKernel(name)({
    inputs: inputs as never,
    backend: backend as never,
    attrs: attrs as unknown as NamedAttrMap,
  }) as TensorInfo;
}
