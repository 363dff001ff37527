/**
 * The trainer's engines as the rest of the product sees them: names, and what
 * a run records about the one that computed it. TensorFlow-free, so the run
 * files, the CLI and the editor share these types without loading tfjs;
 * src/train/backend.ts does the choosing.
 */
import type { GpuAdapter } from './adapters.js';

export const BACKEND_NAMES = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendChoice = BackendName | 'auto';

/** The npm package that provided the active backend. */
export type BackendPackage =
  | '@tensorflow/tfjs-node-gpu'
  | '@tensorflow/tfjs-node'
  | '@tensorflow/tfjs-backend-webgpu'
  | '@tensorflow/tfjs-backend-wasm'
  | '@tensorflow/tfjs-backend-cpu';

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
}
