/**
 * Composing a missing wasm kernel from kernels the wasm backend has.
 *
 * Inside a kernel function tfjs ops must not be used (they would create
 * tensors the engine tracks separately from the kernel's output); instead the
 * registered wasm kernel functions are called directly on TensorInfos, as the
 * backends themselves do. Every intermediate is tracked here and released
 * when the composed kernel returns, except the one it hands back.
 */
import { getKernel, type KernelBackend, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

/** The parts of tfjs-backend-wasm's BackendWasm that composed kernels use. */
export interface WasmBackendLike extends KernelBackend {
  makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array;
  disposeData(dataId: object, force?: boolean): boolean;
}

export class KernelScope {
  private readonly temps: TensorInfo[] = [];

  constructor(readonly backend: WasmBackendLike) {}

  /** Runs the wasm kernel `name`; its output is released by `finish`. */
  run(name: string, inputs: Record<string, TensorInfo> | TensorInfo[], attrs: object = {}): TensorInfo {
    const config = getKernel(name, 'wasm');
    if (config === undefined) throw new Error(`wasm kernel ${name} is not registered`);
    // Concat and AddN take an array of inputs, as the engine passes them.
    const out = config.kernelFunc({ inputs: inputs as Record<string, TensorInfo>, attrs: attrs as NamedAttrMap, backend: this.backend });
    if (Array.isArray(out)) throw new Error(`wasm kernel ${name} returned several outputs`);
    this.temps.push(out as TensorInfo);
    return out as TensorInfo;
  }

  /** Takes over an intermediate made outside `run` (e.g. written on the heap directly). */
  track(t: TensorInfo): TensorInfo {
    this.temps.push(t);
    return t;
  }

  reshape(x: TensorInfo, shape: number[]): TensorInfo {
    return this.run('Reshape', { x }, { shape });
  }

  /** Zero (or `value`) padding; negative amounts crop instead. */
  pad(x: TensorInfo, paddings: Array<[number, number]>, value = 0): TensorInfo {
    let out = x;
    if (paddings.some(([a, b]) => a > 0 || b > 0)) {
      out = this.run('PadV2', { x: out }, { paddings: paddings.map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)]), constantValue: value });
    }
    if (paddings.some(([a, b]) => a < 0 || b < 0)) {
      const begin = paddings.map(([a]) => Math.max(-a, 0));
      const size = out.shape.map((n, i) => n - begin[i]! - Math.max(-paddings[i]![1], 0));
      out = this.run('Slice', { x: out }, { begin, size });
    }
    return out;
  }

  /** x[begin : begin + (count-1)·stride + 1 : stride] along every axis. */
  stridedSlice(x: TensorInfo, begin: number[], count: number[], strides: number[]): TensorInfo {
    const end = begin.map((b, i) => b + (count[i]! - 1) * strides[i]! + 1);
    return this.run('StridedSlice', { x }, {
      begin, end, strides, beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
    });
  }

  concat(parts: TensorInfo[], axis: number): TensorInfo {
    return parts.length === 1 ? parts[0]! : this.run('Concat', parts, { axis });
  }

  add(a: TensorInfo, b: TensorInfo): TensorInfo {
    return this.run('Add', { a, b });
  }

  /**
   * Releases every intermediate except `result`, which the engine takes over.
   * A result that shares its data with an intermediate (a reshape) keeps that
   * data alive through the backend's reference count.
   */
  finish(result: TensorInfo): TensorInfo {
    for (const t of this.temps) if (t !== result) this.backend.disposeData(t.dataId);
    return result;
  }
}
