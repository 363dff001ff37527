/**
 * TensorFlow.js's WebGPU backend over a chosen Dawn adapter.
 *
 * The package's own registration asks `navigator.gpu` for the default
 * adapter; here the backend is registered with a factory that opens the
 * adapter the trainer chose, with its largest buffer limits (so a batch is
 * bounded by the GPU, not by WebGPU's 128 MiB default binding size), and
 * that watches the device for errors: Dawn reports out-of-memory and
 * validation failures asynchronously, which TensorFlow.js ignores (the run
 * would go on with garbage), so every read from the GPU re-throws them as a
 * WebGpuDeviceError that says what to do.
 *
 * In Node, `dataSync()` cannot work on this backend (TensorFlow.js reads
 * synchronously through an OffscreenCanvas, which Node lacks); it throws an
 * error that names the fix (`await tensor.data()`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GpuAdapter } from '../../shared/adapters.js';
import type { Dawn } from './dawn.js';
import { registerWebGpuKernels } from './kernels.js';
import { describeAdapter, requestAddressed, type AdapterAddress } from './probe.js';
import type { WgpuAdapter, WgpuDevice, WgpuError, WgpuLimits } from './types.js';

export const WEBGPU_BACKEND = 'webgpu';

/** Thrown by reads after the GPU reported an error, or when the device is lost. */
export class WebGpuDeviceError extends Error {
  constructor(
    message: string,
    /** 'out-of-memory' when the GPU ran out of memory or a tensor exceeded a buffer limit. */
    readonly kind: 'out-of-memory' | 'validation' | 'internal' | 'lost',
  ) {
    super(message);
    this.name = 'WebGpuDeviceError';
  }
}

/** The device's limits the backend is opened with: the adapter's maxima. */
function requiredLimits(limits: WgpuLimits): Partial<Record<keyof WgpuLimits, number>> {
  return {
    maxBufferSize: limits.maxBufferSize,
    maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
    maxComputeWorkgroupStorageSize: limits.maxComputeWorkgroupStorageSize,
    maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
    maxComputeWorkgroupSizeX: limits.maxComputeWorkgroupSizeX,
    maxComputeInvocationsPerWorkgroup: limits.maxComputeInvocationsPerWorkgroup,
    maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
  };
}

/**
 * Dawn's error text → what the user should do. Out-of-memory covers both a
 * real allocation failure and a tensor larger than one buffer may be
 * (Dawn reports that as a validation error naming the limit).
 */
export function explainDeviceError(error: { readonly message: string; readonly type: string }, adapterName: string): WebGpuDeviceError {
  const text = error.message.split('\n')[0]!.trim().replace(/\.$/, '');
  const tooBig = /maxBufferSize|maxStorageBufferBindingSize|binding size|exceeds the max|larger than the max/i.test(error.message);
  if (error.type === 'GPUOutOfMemoryError' || /out of memory/i.test(error.message) || tooBig) {
    return new WebGpuDeviceError(
      `the batch does not fit on ${adapterName}: ${text}. Lower the batch size (or the channel count); ` +
        'tensor sizes grow with batch × height × width × channels',
      'out-of-memory',
    );
  }
  if (error.type === 'GPUValidationError') return new WebGpuDeviceError(`WebGPU validation error on ${adapterName}: ${text}`, 'validation');
  return new WebGpuDeviceError(`WebGPU error on ${adapterName}: ${text}`, 'internal');
}

/** What TensorFlow.js's backend object offers that this module uses. */
interface TfjsWebGpuBackend extends tf.KernelBackend {
  read(dataId: object): Promise<tf.backend_util.BackendValues>;
  readSync(dataId: object): tf.backend_util.BackendValues;
  submitQueue(): void;
  endComputePassEncoder(): void;
  commandEncoder: object | null;
  bufferManager: {
    freeBuffers: Map<string, Array<{ size: number; destroy(): void }>>;
    numFreeBuffers: number;
    numBytesAllocated: number;
    numBytesUsed: number;
  };
}

export interface WebGpuSession {
  readonly adapter: GpuAdapter;
  readonly device: WgpuDevice;
  /** The first error the device reported since the last check, if any, cleared. */
  takeError(): WebGpuDeviceError | undefined;
}

let session: WebGpuSession | undefined;

/** The session of the registered webgpu backend, if one was opened in this process. */
export function webgpuSession(): WebGpuSession | undefined {
  return session;
}

/**
 * Opens `address` and registers it as the tfjs backend 'webgpu' (replacing
 * any earlier registration, whose device is destroyed). Does not activate it.
 */
/** Default bound on the bytes TensorFlow.js keeps pooled for reuse (see poolLimitBytes). */
export const DEFAULT_POOL_LIMIT_MIB = 2048;

export interface WebGpuOptions {
  /**
   * Freed buffers TensorFlow.js pools for reuse beyond this many bytes are
   * destroyed at the next read. Its pool never shrinks by itself: DARTS_V2
   * at C=36, batch 96 left 30 GB pooled on an H200, more than a consumer GPU
   * has. Default: CELLSCOPE_WEBGPU_POOL_MIB from the environment, else
   * DEFAULT_POOL_LIMIT_MIB.
   */
  readonly poolLimitBytes?: number;
}

function poolLimitFromEnv(): number {
  const mib = Number(process.env.CELLSCOPE_WEBGPU_POOL_MIB);
  return (Number.isFinite(mib) && mib >= 0 && process.env.CELLSCOPE_WEBGPU_POOL_MIB !== '' ? mib : DEFAULT_POOL_LIMIT_MIB) * 2 ** 20;
}

export async function registerWebGpuBackend(dawn: Dawn, address: AdapterAddress, options: WebGpuOptions = {}): Promise<GpuAdapter> {
  const poolLimit = options.poolLimitBytes ?? poolLimitFromEnv();
  const adapter: WgpuAdapter | null = await requestAddressed(dawn, address);
  if (adapter === null) throw new Error(`WebGPU adapter '${address.name}' (${address.backend}) is no longer available`);
  const described = describeAdapter(0, address, adapter);
  const requiredFeatures = adapter.features.has('timestamp-query') ? ['timestamp-query'] : [];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits: requiredLimits(adapter.limits) });

  let pending: WebGpuDeviceError | undefined;
  device.addEventListener('uncapturederror', (event: { readonly error: WgpuError }) => {
    pending ??= explainDeviceError({ message: event.error.message, type: event.error.constructor.name }, address.name);
  });
  let destroyed = false;
  void device.lost.then((info) => {
    if (!destroyed) pending ??= new WebGpuDeviceError(`the WebGPU device ${address.name} was lost (${info.reason}): ${info.message}`, 'lost');
  });
  const opened: WebGpuSession = {
    adapter: described,
    device,
    takeError: () => {
      const e = pending;
      pending = undefined;
      return e;
    },
  };

  // The backend's constructor checks navigator.gpu (Node ≥ 21 has a navigator without one).
  const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: unknown };
  nav.gpu ??= dawn.create([]);
  const { WebGPUBackend } = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as {
    WebGPUBackend: new (device: WgpuDevice, info: unknown) => TfjsWebGpuBackend;
  };
  registerWebGpuKernels();

  if (tf.findBackendFactory(WEBGPU_BACKEND) !== null) tf.removeBackend(WEBGPU_BACKEND);
  if (session !== undefined) {
    session.device.destroy();
  }
  session = opened;
  tf.registerBackend(
    WEBGPU_BACKEND,
    () => {
      const backend = new WebGPUBackend(device, adapter.info);
      const read = backend.read.bind(backend);
      backend.read = async (dataId) => {
        const values = await read(dataId);
        const error = opened.takeError();
        if (error !== undefined) throw error;
        // A read is a point where the step's work is recorded and submitted: trim the pool here.
        const manager = backend.bufferManager;
        if (manager.numBytesAllocated - manager.numBytesUsed > poolLimit) releaseBuffersOf(backend);
        return values;
      };
      const originalDispose = backend.dispose.bind(backend);
      backend.dispose = () => {
        destroyed = true;
        originalDispose();
      };
      backend.readSync = () => {
        throw new Error(
          "dataSync()/arraySync() cannot read from the webgpu backend in Node (it has no OffscreenCanvas): use 'await tensor.data()' or 'await tensor.array()'",
        );
      };
      return backend;
    },
    // Below cpu (1) and wasm (2): never the engine's implicit default.
    0,
  );
  return described;
}

/** Bytes of GPU memory held by live tensors and by the backend's pool of freed buffers. */
export interface WebGpuMemory {
  readonly inUse: number;
  readonly pooled: number;
}

function activeWebGpu(): TfjsWebGpuBackend | undefined {
  if (tf.getBackend() !== WEBGPU_BACKEND) return undefined;
  return tf.backend() as TfjsWebGpuBackend;
}

export function webgpuMemory(): WebGpuMemory | undefined {
  const b = activeWebGpu();
  if (b === undefined) return undefined;
  return { inUse: b.bufferManager.numBytesUsed, pooled: b.bufferManager.numBytesAllocated - b.bufferManager.numBytesUsed };
}

/**
 * Frees the buffers TensorFlow.js pools for reuse (it never frees them by
 * itself), e.g. between epochs or after evaluation at a larger batch. Call
 * it where no kernel is pending (after an awaited read): queued commands
 * are submitted first.
 */
export function releasePooledBuffers(): number {
  const b = activeWebGpu();
  return b === undefined ? 0 : releaseBuffersOf(b);
}

function releaseBuffersOf(b: TfjsWebGpuBackend): number {
  // Recorded but unsubmitted commands may use pooled buffers: submit them first.
  if (b.commandEncoder !== null) {
    b.endComputePassEncoder();
    b.submitQueue();
  }
  let freed = 0;
  const manager = b.bufferManager;
  for (const list of manager.freeBuffers.values()) {
    for (const buffer of list) {
      freed += buffer.size;
      buffer.destroy();
    }
    // Keys stay: the manager looks them up when a buffer is released again.
    list.length = 0;
  }
  manager.numFreeBuffers = 0;
  manager.numBytesAllocated -= freed;
  return freed;
}
