/**
 * Which TensorFlow.js engine trains: chosen once at start and recorded in the
 * run, so that results say what computed them.
 *
 * - `tensorflow`: the native TensorFlow library through `@tensorflow/tfjs-node-gpu`
 *   (when it is installed and a CUDA device is usable) or `@tensorflow/tfjs-node`.
 *   Both are optional dependencies: their install downloads libtensorflow,
 *   which fails on machines without internet access, so they are loaded
 *   dynamically and their absence is an ordinary outcome.
 * - `wasm`: `@tensorflow/tfjs-backend-wasm`, with the kernels it lacks
 *   registered by ./kernels (single-threaded in Node).
 * - `webgpu`: the compiled plan engine (src/train/gpuplan) over Dawn's Node
 *   bindings on the adapter chosen as below; TensorFlow.js runs beside it on
 *   wasm (or cpu) for what the engine does not do (initial weights, probes).
 *   The engine itself (its device, its plan) is opened by the training loop.
 * - `tfjs-webgpu`: `@tensorflow/tfjs-backend-webgpu` over Dawn's Node bindings (the
 *   optional package `webgpu`): any GPU with a Vulkan, Metal or D3D12 driver
 *   (NVIDIA on any CUDA version, AMD, Intel, Apple). The adapter is chosen
 *   from those Dawn finds (src/train/webgpu/probe.ts) and recorded. Software
 *   adapters (lavapipe, SwiftShader, WARP) compute correctly but slowly: they
 *   are used only when `webgpu` or `tfjs-webgpu` is asked for explicitly.
 * - `cpu`: `@tensorflow/tfjs-backend-cpu`, pure JavaScript: the correctness
 *   reference, far too slow to train real networks.
 * - `auto`: the fastest usable one: the plan engine on a hardware WebGPU
 *   adapter, TensorFlow on a CUDA device, native TensorFlow on the CPU, wasm, cpu.
 *
 * Everything that touches the outside world (imports, nvidia-smi, tf.setBackend)
 * goes through `BackendLoaders`, so the selection logic is tested with
 * injected loaders; `defaultLoaders()` is the real path.
 *
 * Every caller (trainer, landscape, experiment) reads tensors with
 * `await data()`, so any engine may be handed to any of them: the WebGPU
 * backend cannot read synchronously in Node.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { queryNvidia } from '../install/nvidia.js';
import { engineCandidates } from '../install/resolveEngine.js';
import type { AdaptersReport, GpuAdapter } from '../shared/adapters.js';
import type { EngineFlavour } from '../shared/engineTypes.js';
import { registerWasmKernels } from './kernels/index.js';
import { loadDawn } from './webgpu/dawn.js';
import { registerWebGpuBackend } from './webgpu/device.js';
import { probeAdapters } from './webgpu/probe.js';

export {
  BACKEND_NAMES,
  type BackendName,
  type BackendChoice,
  type BackendPackage,
  type CudaDevice,
  type BackendRecord,
  type PlanRecord,
  PLAN_ENGINE_PACKAGE,
  trainedBackend,
  tensorflowBackendFor,
} from '../shared/backendTypes.js';
import { PLAN_ENGINE_PACKAGE, type BackendChoice, type BackendName, type BackendPackage, type BackendRecord, type CudaDevice, type NativePackageOrigin } from '../shared/backendTypes.js';
export { parseNvidiaSmi } from '../install/nvidia.js';

/**
 * The side effects of selection. Each `load*` imports a package (registering
 * its tfjs backend) and rejects when the package is absent or broken; the
 * native ones say which copy loaded (node_modules or the per-user install).
 */
export interface BackendLoaders {
  loadTfjsNodeGpu(): Promise<NativePackageOrigin | void>;
  loadTfjsNode(): Promise<NativePackageOrigin | void>;
  loadWasm(): Promise<void>;
  loadCpu(): Promise<void>;
  /** CUDA devices the driver exposes; [] when there is no driver or no device. */
  listCudaDevices(): Promise<CudaDevice[]>;
  /** The WebGPU adapters Dawn finds (never rejects: problems are in the report). */
  listWebGpuAdapters(): Promise<AdaptersReport>;
  /** Opens `adapter` and registers it as the tfjs backend `webgpu` (what `tfjs-webgpu` trains on). */
  loadWebGpu(adapter: GpuAdapter): Promise<void>;
  /** Makes `name` the active tfjs backend (TensorFlow.js's own names); false when it fails to initialise. */
  activate(name: 'tensorflow' | 'webgpu' | 'wasm' | 'cpu'): Promise<boolean>;
  /** After activating `tensorflow`: whether the native library runs on a GPU. */
  tensorflowUsesGpu(): boolean;
}

export interface SelectOptions {
  /**
   * Index of the CUDA device to use (sets CUDA_VISIBLE_DEVICES); default: the
   * one CUDA_VISIBLE_DEVICES already names (the editor's queue launches each
   * run with its slot's device that way), else the first.
   */
  readonly gpu?: number;
  /**
   * The WebGPU adapter: its index in `cellscope adapters` or part of its name
   * (case-insensitive). Default: CELLSCOPE_WEBGPU_ADAPTER from `env`, else
   * the first hardware adapter (for an explicit `webgpu`, else a software one).
   */
  readonly adapter?: string;
  readonly loaders?: BackendLoaders;
  /**
   * The environment the native library reads when it loads (default
   * process.env): TF_FORCE_GPU_ALLOW_GROWTH and CUDA_VISIBLE_DEVICES are set
   * here before the import, because TensorFlow reads them only at start-up.
   */
  readonly env?: NodeJS.ProcessEnv;
}

/** Thrown when an explicitly requested backend cannot be used. */
export class BackendUnavailableError extends Error {
  constructor(message: string, readonly skipped: readonly string[]) {
    super(message);
    this.name = 'BackendUnavailableError';
  }
}

function describe(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // Native load errors can be many lines long; the first one says enough.
  return text.split('\n')[0]!.trim();
}

const INSTALL_HINT =
  'install @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node (CPU) with `cellscope gpu install [--cpu]` or the editor\'s Cellscope: Install GPU Support (CUDA); `cellscope gpu status` says what this machine lacks';

/**
 * Tries the native TensorFlow packages. With a usable CUDA device the GPU
 * package comes first; without one the CPU package does, and the GPU package
 * (which also runs on the CPU) is the fallback.
 */
async function listCuda(loaders: BackendLoaders, skipped: string[]): Promise<CudaDevice[]> {
  try {
    return await loaders.listCudaDevices();
  } catch (error) {
    skipped.push(`CUDA device query failed: ${describe(error)}`);
    return [];
  }
}

async function tryTensorflow(options: SelectOptions, loaders: BackendLoaders, skipped: string[], devices: CudaDevice[]): Promise<BackendRecord | undefined> {
  const env = options.env ?? process.env;
  let chosen: CudaDevice | undefined;
  if (devices.length > 0) {
    // nvidia-smi numbers devices physically whatever CUDA_VISIBLE_DEVICES says, so a
    // device named there (first of a list of indices) is found by that number.
    const visible = /^\s*(\d+)\s*(,|$)/.exec(env.CUDA_VISIBLE_DEVICES ?? '');
    const wanted = options.gpu ?? (visible ? Number(visible[1]) : undefined);
    chosen = wanted === undefined ? devices[0] : devices.find((d) => d.index === wanted);
    if (chosen === undefined) {
      skipped.push(`GPU ${wanted} not found (devices: ${devices.map((d) => d.index).join(', ')})`);
    }
  } else {
    skipped.push('no CUDA device found');
  }

  const attempts: Array<{ pkg: BackendPackage; load: () => Promise<NativePackageOrigin | void> }> =
    chosen !== undefined
      ? [
          { pkg: '@tensorflow/tfjs-node-gpu', load: () => loaders.loadTfjsNodeGpu() },
          { pkg: '@tensorflow/tfjs-node', load: () => loaders.loadTfjsNode() },
        ]
      : [
          { pkg: '@tensorflow/tfjs-node', load: () => loaders.loadTfjsNode() },
          { pkg: '@tensorflow/tfjs-node-gpu', load: () => loaders.loadTfjsNodeGpu() },
        ];

  for (const { pkg, load } of attempts) {
    if (pkg === '@tensorflow/tfjs-node-gpu') {
      // TensorFlow reads these once, when the library initialises: set them
      // before the import. Allow-growth stops it reserving all GPU memory.
      if (env.TF_FORCE_GPU_ALLOW_GROWTH === undefined) env.TF_FORCE_GPU_ALLOW_GROWTH = 'true';
      if (chosen !== undefined) env.CUDA_VISIBLE_DEVICES = String(chosen.index);
    }
    let origin: NativePackageOrigin | void;
    try {
      origin = await load();
    } catch (error) {
      skipped.push(`${pkg} not loadable: ${describe(error)}`);
      continue;
    }
    if (!(await loaders.activate('tensorflow'))) {
      skipped.push(`${pkg} loaded but its backend failed to initialise`);
      continue;
    }
    const onGpu = pkg === '@tensorflow/tfjs-node-gpu' && loaders.tensorflowUsesGpu();
    if (pkg === '@tensorflow/tfjs-node-gpu' && chosen !== undefined && !onGpu) {
      skipped.push('@tensorflow/tfjs-node-gpu runs on the CPU: TensorFlow found no usable CUDA device (driver, CUDA or cuDNN libraries)');
    }
    // Both packages register the same backend name; a second import would
    // only replace the first, so the first that loads is kept.
    const native = origin ? { native: origin } : {};
    return onGpu
      ? { backend: 'tensorflow', package: pkg, device: 'gpu', gpu: chosen!, ...native, skipped }
      : { backend: 'tensorflow', package: pkg, device: 'cpu', ...native, skipped };
  }
  return undefined;
}

async function tryJs(name: 'wasm' | 'cpu', loaders: BackendLoaders, skipped: string[]): Promise<BackendRecord | undefined> {
  const pkg: BackendPackage = name === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : '@tensorflow/tfjs-backend-cpu';
  try {
    await (name === 'wasm' ? loaders.loadWasm() : loaders.loadCpu());
  } catch (error) {
    skipped.push(`${pkg} not loadable: ${describe(error)}`);
    return undefined;
  }
  if (!(await loaders.activate(name))) {
    skipped.push(`${pkg} failed to initialise`);
    return undefined;
  }
  return { backend: name, package: pkg, device: 'cpu', skipped };
}

const WEBGPU_HINT =
  "install the optional package 'webgpu' with npm and a Vulkan, Metal or D3D12 driver (without a GPU on Linux: scripts/setup-lavapipe.sh)";

/** The adapter `wanted` names: an index in the report's list, or part of a name (case-insensitive). */
export function findAdapter(adapters: readonly GpuAdapter[], wanted: string): GpuAdapter | undefined {
  const w = wanted.trim();
  if (/^\d+$/.test(w)) return adapters.find((a) => a.index === Number(w));
  const lower = w.toLowerCase();
  return adapters.find((a) => [a.name, a.description, a.device, a.vendor].some((s) => s.toLowerCase().includes(lower)));
}

/**
 * The WebGPU adapter to use: the one `options.adapter` (or
 * CELLSCOPE_WEBGPU_ADAPTER) names, else the first hardware one, else a
 * software one; undefined (with the reason in `skipped`) when there is none
 * or only a software one and `allowSoftware` is false (only a backend asked
 * for by name may run on a software adapter).
 */
async function chooseAdapter(options: SelectOptions, loaders: BackendLoaders, skipped: string[], allowSoftware: boolean, name: BackendName): Promise<GpuAdapter | undefined> {
  let report: AdaptersReport;
  try {
    report = await loaders.listWebGpuAdapters();
  } catch (error) {
    skipped.push(`WebGPU adapter probe failed: ${describe(error)}`);
    return undefined;
  }
  const adapters = report.adapters;
  const wanted = options.adapter ?? (options.env ?? process.env).CELLSCOPE_WEBGPU_ADAPTER;
  let adapter: GpuAdapter | undefined;
  if (adapters.length === 0) {
    skipped.push(`no WebGPU adapter: ${report.problems.join('; ') || 'none found'}`);
    return undefined;
  }
  if (wanted !== undefined && wanted.trim() !== '') {
    adapter = findAdapter(adapters, wanted);
    if (adapter === undefined) {
      skipped.push(`WebGPU adapter '${wanted}' not found (adapters: ${adapters.map((a) => `${a.index}: ${a.name}`).join(', ')})`);
      return undefined;
    }
  } else {
    adapter = adapters.find((a) => a.kind === 'hardware') ?? adapters.find((a) => a.kind === 'software');
  }
  if (adapter === undefined) return undefined;
  if (adapter.kind === 'software' && !allowSoftware) {
    skipped.push(`only a software WebGPU adapter (${adapter.name}), used only when asked for: backend '${name}'`);
    return undefined;
  }
  return adapter;
}

/**
 * Tries TensorFlow.js's WebGPU backend (`tfjs-webgpu`). `allowSoftware`:
 * whether a software adapter may be used (only when asked for by name).
 */
async function tryWebGpu(options: SelectOptions, loaders: BackendLoaders, skipped: string[], allowSoftware: boolean): Promise<BackendRecord | undefined> {
  const pkg: BackendPackage = '@tensorflow/tfjs-backend-webgpu';
  const adapter = await chooseAdapter(options, loaders, skipped, allowSoftware, 'tfjs-webgpu');
  if (adapter === undefined) return undefined;
  try {
    await loaders.loadWebGpu(adapter);
  } catch (error) {
    skipped.push(`WebGPU adapter ${adapter.name} not usable: ${describe(error)}`);
    return undefined;
  }
  if (!(await loaders.activate('webgpu'))) {
    skipped.push(`${pkg} failed to initialise on ${adapter.name}`);
    return undefined;
  }
  return { backend: 'tfjs-webgpu', package: pkg, device: adapter.kind === 'hardware' ? 'gpu' : 'cpu', adapter, skipped };
}

/**
 * Tries the plan engine (`webgpu`): an adapter (hardware, or software when
 * asked for by name) and a TensorFlow.js backend beside it for the initial
 * weights and the probes (wasm, else cpu). The device is opened and the plan
 * compiled by the training loop, which ends the run with the engine's
 * message when that fails (out of memory, a lost device).
 */
async function tryPlanEngine(options: SelectOptions, loaders: BackendLoaders, skipped: string[], allowSoftware: boolean): Promise<BackendRecord | undefined> {
  const adapter = await chooseAdapter(options, loaders, skipped, allowSoftware, 'webgpu');
  if (adapter === undefined) return undefined;
  const beside: string[] = [];
  const js = (await tryJs('wasm', loaders, beside)) ?? (await tryJs('cpu', loaders, beside));
  if (js === undefined) {
    skipped.push(`the plan engine needs TensorFlow.js's wasm or cpu backend beside it: ${beside.join('; ')}`);
    return undefined;
  }
  return { backend: 'webgpu', package: PLAN_ENGINE_PACKAGE, device: adapter.kind === 'hardware' ? 'gpu' : 'cpu', adapter, skipped };
}

/**
 * `auto`: the plan engine on a hardware WebGPU adapter; then TensorFlow on
 * a CUDA device; then TensorFlow on the CPU (kept from the first attempt
 * when the GPU package loaded but found no usable GPU); then wasm and cpu.
 * Never a software adapter.
 */
async function selectAuto(options: SelectOptions, loaders: BackendLoaders, skipped: string[]): Promise<BackendRecord | undefined> {
  const engine = await tryPlanEngine(options, loaders, skipped, false);
  if (engine !== undefined) return engine;
  const devices = await listCuda(loaders, skipped);
  let nativeOnCpu: BackendRecord | undefined;
  if (devices.length > 0) {
    const record = await tryTensorflow(options, loaders, skipped, devices);
    if (record?.device === 'gpu') return record;
    nativeOnCpu = record;
  }
  if (nativeOnCpu !== undefined) {
    if (await loaders.activate('tensorflow')) return { ...nativeOnCpu, skipped };
    skipped.push(`${nativeOnCpu.package} failed to re-initialise`);
  } else if (devices.length === 0) {
    const record = await tryTensorflow(options, loaders, skipped, devices);
    if (record !== undefined) return record;
  }
  return (await tryJs('wasm', loaders, skipped)) ?? (await tryJs('cpu', loaders, skipped));
}

/**
 * Loads and activates the backend for `choice` and says what was chosen.
 * An explicit choice that cannot be used throws BackendUnavailableError
 * (never a silent fallback: a run asked to use TensorFlow must not quietly
 * train 50× slower); `auto` falls back in speed order.
 */
export async function selectBackend(choice: BackendChoice, options: SelectOptions = {}): Promise<BackendRecord> {
  const loaders = options.loaders ?? defaultLoaders(options.env);
  const skipped: string[] = [];
  let record: BackendRecord | undefined;
  if (choice === 'auto') record = await selectAuto(options, loaders, skipped);
  else if (choice === 'tensorflow') record = await tryTensorflow(options, loaders, skipped, await listCuda(loaders, skipped));
  else if (choice === 'webgpu') record = await tryPlanEngine(options, loaders, skipped, true);
  else if (choice === 'tfjs-webgpu') record = await tryWebGpu(options, loaders, skipped, true);
  else record = await tryJs(choice, loaders, skipped);
  if (record !== undefined) return record;
  const hint = choice === 'tensorflow' ? ` (${INSTALL_HINT})` : choice === 'webgpu' || choice === 'tfjs-webgpu' ? ` (${WEBGPU_HINT})` : '';
  throw new BackendUnavailableError(`backend '${choice}' is not usable${hint}: ${skipped.join('; ')}`, skipped);
}

/**
 * A TensorFlow.js backend for work outside the training loop (landscape,
 * Hessian jobs), which the plan engine does not do: `webgpu` asks for the
 * GPU, so TensorFlow.js's WebGPU backend; an `auto` that picks the engine
 * gives the TensorFlow.js backend selected beside it (wasm or cpu), and the
 * record says so.
 */
export async function selectTensorflowBackend(choice: BackendChoice, options: SelectOptions = {}): Promise<BackendRecord> {
  const record = await selectBackend(choice === 'webgpu' ? 'tfjs-webgpu' : choice, options);
  if (record.backend !== 'webgpu') return record;
  const beside = tf.getBackend() === 'wasm' ? 'wasm' : 'cpu';
  return { backend: beside, package: beside === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : '@tensorflow/tfjs-backend-cpu', device: 'cpu', skipped: [...record.skipped, `the compiled WebGPU engine trains only: this runs on TensorFlow.js ${beside}`] };
}

/**
 * Where the wasm binaries are, when not beside the running script. Emscripten
 * looks next to the script by default, which is right for a bundle that ships
 * copies of the .wasm files (dist/), and wrong when running from sources or
 * from a bundle beside node_modules: there the package's own copies are used.
 */
function wasmBinaryDir(): string | undefined {
  if (existsSync(join(__dirname, 'tfjs-backend-wasm.wasm'))) return undefined;
  try {
    return dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + sep;
  } catch {
    return undefined;
  }
}

/**
 * Loads the first copy of a native package that loads: node_modules, then the
 * per-user install. A failure names each copy and its first error line (a
 * missing libtensorflow or libcudnn .so shows as such).
 */
export async function loadNativeEngine(flavour: EngineFlavour, env: NodeJS.ProcessEnv = process.env, from?: string): Promise<NativePackageOrigin> {
  const candidates = engineCandidates(flavour, env, from);
  if (candidates.length === 0) throw new Error('not installed');
  const failures: string[] = [];
  for (const { entry, ...origin } of candidates) {
    try {
      // require, not import: the package is CommonJS, and a require from its
      // own path resolves its dependencies from its own node_modules.
      createRequire(entry)(entry);
      return origin;
    } catch (error) {
      const text = describe(error);
      const hint = /\.so[.\d]*\b|\.dylib\b|\.dll\b/.test(text) ? ' (a shared library is missing: `cellscope gpu status` says which and where it looked)' : '';
      failures.push(`${origin.location} (${origin.source}): ${text}${hint}`);
    }
  }
  throw new Error(failures.join('; '));
}

/** The real loaders: imports, nvidia-smi, Dawn, tf.setBackend. */
export function defaultLoaders(env: NodeJS.ProcessEnv = process.env): BackendLoaders {
  return {
    loadTfjsNodeGpu: () => loadNativeEngine('gpu', env),
    loadTfjsNode: () => loadNativeEngine('cpu', env),
    loadWasm: async () => {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dir = wasmBinaryDir();
      if (dir !== undefined) wasm.setWasmPaths(dir);
      registerWasmKernels();
    },
    loadCpu: async () => {
      await import('@tensorflow/tfjs-backend-cpu');
    },
    // No driver (nvidia-smi absent) or no device: no CUDA device.
    listCudaDevices: async () => (await queryNvidia('nvidia-smi', env)).devices,
    listWebGpuAdapters: () => probeAdapters(),
    loadWebGpu: async (adapter) => {
      await registerWebGpuBackend(await loadDawn(), adapter);
    },
    activate: async (name) => {
      try {
        const ok = await tf.setBackend(name);
        await tf.ready();
        return ok && tf.getBackend() === name;
      } catch {
        return false;
      }
    },
    tensorflowUsesGpu: () => (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true,
  };
}
