/**
 * The trainer's engines as the rest of the product sees them: names, and what
 * a run records about the one that computed it. TensorFlow-free, so the run
 * files, the CLI and the editor share these types without loading tfjs;
 * src/train/backend.ts does the choosing.
 */
import type { GpuAdapter } from './adapters.js';

/**
 * `webgpu` is the compiled plan engine (src/train/gpuplan); `tfjs-webgpu` is
 * TensorFlow.js's WebGPU backend (its conformance reference and fallback).
 * Runs recorded before the engine existed name TensorFlow.js's backend
 * `webgpu` with its package: trainedBackend reads them as `tfjs-webgpu`.
 */
export const BACKEND_NAMES = ['tensorflow', 'webgpu', 'tfjs-webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendChoice = BackendName | 'auto';

/** The npm package that provided the active backend. */
export type BackendPackage =
  | '@tensorflow/tfjs-node-gpu'
  | '@tensorflow/tfjs-node'
  | '@tensorflow/tfjs-backend-webgpu'
  | '@tensorflow/tfjs-backend-wasm'
  | '@tensorflow/tfjs-backend-cpu'
  /** The compiled GPU plan engine (src/train/gpuplan), not an npm package. */
  | 'cellscope-gpuplan';

export const PLAN_ENGINE_PACKAGE = 'cellscope-gpuplan' satisfies BackendPackage;

/** The compiled plan's figures, for backend `webgpu`. */
export interface PlanRecord {
  readonly dispatchesPerStep: number;
  /** Bytes of GPU memory the plan allocates (parameters, optimiser state, arenas). */
  readonly planBytes: number;
  /** CPU milliseconds to encode one training step, measured at the start of the run. */
  readonly encodeMsPerStep: number;
}

export interface CudaDevice {
  readonly index: number;
  readonly name: string;
  /** Total memory in MiB, when reported. */
  readonly memoryMiB?: number;
}

/** Which copy of a native TensorFlow package loaded. */
export interface NativePackageOrigin {
  /** The package's folder. */
  readonly location: string;
  readonly version: string;
  /** The libtensorflow version, when known (per-user installs record it). */
  readonly libtensorflow?: string;
  /** node_modules: resolved from the trainer's script; cellscope-install: the per-user folder (`cellscope gpu install`). */
  readonly source: 'node_modules' | 'cellscope-install';
}

/** What the run records about its engine. */
export interface BackendRecord {
  readonly backend: BackendName;
  readonly package: BackendPackage;
  /**
   * 'gpu' when TensorFlow reports that it placed work on a CUDA device, or
   * when the WebGPU adapter is a hardware one; 'cpu' otherwise (a software
   * WebGPU adapter included).
   */
  readonly device: 'gpu' | 'cpu';
  /** The CUDA device made visible (CUDA_VISIBLE_DEVICES), when one was chosen. */
  readonly gpu?: CudaDevice;
  /** The WebGPU adapter (vendor, architecture, device, hardware or software), for `webgpu`. */
  readonly adapter?: GpuAdapter;
  /** For `tensorflow`: which copy of the package ran. */
  readonly native?: NativePackageOrigin;
  /** Why faster engines were not used (empty when the first choice worked). */
  readonly skipped: readonly string[];
  /** For the plan engine (`webgpu`): its plan's figures, once compiled. */
  readonly plan?: PlanRecord;
}

/**
 * The backend that trained a run, old records included: one that says
 * `webgpu` with TensorFlow.js's WebGPU package was recorded before the plan
 * engine took that name, and means `tfjs-webgpu`.
 */
export function trainedBackend(record: { readonly backend: BackendName; readonly package: string }): BackendName {
  return record.backend === 'webgpu' && record.package === '@tensorflow/tfjs-backend-webgpu' ? 'tfjs-webgpu' : record.backend;
}

/**
 * The TensorFlow.js backend that computes on a run's weights outside its
 * training loop (landscape, Hessian): the one that trained it, except for
 * the plan engine, whose weights the TensorFlow.js network loads on wasm.
 */
export function tensorflowBackendFor(record: { readonly backend: BackendName; readonly package: string }): BackendName {
  const trained = trainedBackend(record);
  return trained === 'webgpu' ? 'wasm' : trained;
}
