/**
 * The native TensorFlow engines Cellscope installs per user (the
 * `cellscope gpu` commands, the editor's Install GPU Support command) and
 * what the trainer, the CLI and the editor say about them. TensorFlow-free.
 */
import type { CudaDevice } from './backendTypes.js';

/** The npm packages the installer puts into the per-user folder. */
export type EnginePackageName = '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node';
/** gpu: @tensorflow/tfjs-node-gpu (CUDA); cpu: @tensorflow/tfjs-node. */
export type EngineFlavour = 'gpu' | 'cpu';

export const ENGINE_PACKAGE: Readonly<Record<EngineFlavour, EnginePackageName>> = {
  gpu: '@tensorflow/tfjs-node-gpu',
  cpu: '@tensorflow/tfjs-node',
};
/** The version the trainer is built against (package.json's optional dependencies). */
export const ENGINE_VERSION = '4.22.0';
/** The libtensorflow that tfjs-node 4.22.0's install script downloads (scripts/deps-constants.js). */
export const LIBTENSORFLOW_VERSION = '2.9.1';
export const ENGINE_MANIFEST = 'cellscope-engine.json';
export const ENGINE_MANIFEST_SCHEMA = 'cellscope-engine/1';

/**
 * cellscope-engine.json, written last into a complete install: a folder
 * without it is never loaded.
 */
export interface EngineManifest {
  readonly schema: typeof ENGINE_MANIFEST_SCHEMA;
  readonly flavour: EngineFlavour;
  readonly package: EnginePackageName;
  readonly version: string;
  readonly libtensorflow: string;
  /** The Node-API version of the prebuilt addon (lib/napi-v<N>/tfjs_binding.node). */
  readonly napi: number;
  /** `${process.platform}-${process.arch}` it was installed for. */
  readonly platform: string;
  readonly installedAt: string;
  /** Where each part came from (URLs or local paths). */
  readonly sources: { readonly package: string; readonly libtensorflow: string; readonly addon: string };
}

export type InstallPhase = 'requirements' | 'package' | 'libtensorflow' | 'addon' | 'unpack' | 'verify' | 'activate';

export interface InstallProgress {
  readonly phase: InstallPhase;
  readonly message: string;
  /** For downloads: the file, bytes on disk so far and the whole size when known. */
  readonly file?: string;
  readonly received?: number;
  readonly total?: number;
}

/** One thing the engine needs from the machine, checked before any download. */
export interface RequirementCheck {
  readonly name: string;
  readonly ok: boolean;
  /** What was found, or what is missing and where it was looked for. */
  readonly detail: string;
}

export interface RequirementsReport {
  readonly flavour: EngineFlavour;
  /** Whether installing makes sense: the platform is supported (and, for gpu, a driver and the CUDA libraries are there). */
  readonly ok: boolean;
  readonly checks: readonly RequirementCheck[];
  /** What to do instead, when not ok (e.g. WebGPU on macOS, AMD and Intel GPUs). */
  readonly advice?: string;
}

export type EngineId = 'tensorflow-gpu' | 'tensorflow-cpu' | 'webgpu' | 'wasm' | 'cpu';

export interface EngineStatus {
  readonly engine: EngineId;
  readonly package: string;
  readonly installed: boolean;
  readonly version?: string;
  /** Where it is installed (the per-user folder or a node_modules). */
  readonly location?: string;
  readonly usable: boolean;
  /** The devices it would compute on, in words. */
  readonly devices: readonly string[];
  /** Why it is not usable (or runs slower than it could); empty when it is fine. */
  readonly reasons: readonly string[];
}

export const GPU_STATUS_SCHEMA = 'cellscope-gpu-status/1';

/** `cellscope gpu status --json`. */
export interface GpuStatusReport {
  readonly schema: typeof GPU_STATUS_SCHEMA;
  /** The per-user folders searched for installed engines, first first. */
  readonly engineDirs: readonly string[];
  readonly cuda: readonly CudaDevice[];
  readonly engines: readonly EngineStatus[];
}

/** Reads `cellscope gpu status --json` output; throws on anything else. */
export function parseGpuStatus(text: string): GpuStatusReport {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('gpu status output is not JSON');
  }
  const v = value as Partial<GpuStatusReport> | null;
  if (!v || v.schema !== GPU_STATUS_SCHEMA || !Array.isArray(v.engines) || !Array.isArray(v.engineDirs) || !Array.isArray(v.cuda)) {
    throw new Error(`gpu status output is not a ${GPU_STATUS_SCHEMA} report`);
  }
  return v as GpuStatusReport;
}
