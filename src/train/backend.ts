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
 * - `cpu`: `@tensorflow/tfjs-backend-cpu`, pure JavaScript: the correctness
 *   reference, far too slow to train real networks.
 * - `auto`: the fastest usable one, in the order GPU, native CPU, wasm, cpu.
 *
 * Everything that touches the outside world (imports, nvidia-smi, tf.setBackend)
 * goes through `BackendLoaders`, so the selection logic is tested with
 * injected loaders; `defaultLoaders()` is the real path.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { registerWasmKernels } from './kernels/index.js';

export const BACKEND_NAMES = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendChoice = BackendName | 'auto';

/** The npm package that provided the active backend. */
export type BackendPackage =
  | '@tensorflow/tfjs-node-gpu'
  | '@tensorflow/tfjs-node'
  | '@tensorflow/tfjs-backend-wasm'
  | '@tensorflow/tfjs-backend-cpu';

export interface CudaDevice {
  readonly index: number;
  readonly name: string;
  /** Total memory in MiB, when reported. */
  readonly memoryMiB?: number;
}

/** What the run records about its engine. */
export interface BackendRecord {
  readonly backend: BackendName;
  readonly package: BackendPackage;
  /** 'gpu' only when TensorFlow reports that it placed work on a CUDA device. */
  readonly device: 'gpu' | 'cpu';
  /** The CUDA device made visible (CUDA_VISIBLE_DEVICES), when one was chosen. */
  readonly gpu?: CudaDevice;
  /** Why faster engines were not used (empty when the first choice worked). */
  readonly skipped: readonly string[];
}

/**
 * The side effects of selection. Each `load*` imports a package (registering
 * its tfjs backend) and rejects when the package is absent or broken.
 */
export interface BackendLoaders {
  loadTfjsNodeGpu(): Promise<void>;
  loadTfjsNode(): Promise<void>;
  loadWasm(): Promise<void>;
  loadCpu(): Promise<void>;
  /** CUDA devices the driver exposes; [] when there is no driver or no device. */
  listCudaDevices(): Promise<CudaDevice[]>;
  /** Makes `name` the active tfjs backend; false when it fails to initialise. */
  activate(name: BackendName): Promise<boolean>;
  /** After activating `tensorflow`: whether the native library runs on a GPU. */
  tensorflowUsesGpu(): boolean;
}

export interface SelectOptions {
  /** Index of the CUDA device to use (sets CUDA_VISIBLE_DEVICES); default: the first. */
  readonly gpu?: number;
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
  'install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA) with npm; their install downloads libtensorflow';

/**
 * Tries the native TensorFlow packages. With a usable CUDA device the GPU
 * package comes first; without one the CPU package does, and the GPU package
 * (which also runs on the CPU) is the fallback.
 */
async function tryTensorflow(options: SelectOptions, loaders: BackendLoaders, skipped: string[]): Promise<BackendRecord | undefined> {
  const env = options.env ?? process.env;
  let devices: CudaDevice[] = [];
  try {
    devices = await loaders.listCudaDevices();
  } catch (error) {
    skipped.push(`CUDA device query failed: ${describe(error)}`);
  }
  let chosen: CudaDevice | undefined;
  if (devices.length > 0) {
    chosen = options.gpu === undefined ? devices[0] : devices.find((d) => d.index === options.gpu);
    if (chosen === undefined) {
      skipped.push(`GPU ${options.gpu} not found (devices: ${devices.map((d) => d.index).join(', ')})`);
    }
  } else {
    skipped.push('no CUDA device found');
  }

  const attempts: Array<{ pkg: BackendPackage; load: () => Promise<void> }> =
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
    try {
      await load();
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
    return onGpu
      ? { backend: 'tensorflow', package: pkg, device: 'gpu', gpu: chosen!, skipped }
      : { backend: 'tensorflow', package: pkg, device: 'cpu', skipped };
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

/**
 * Loads and activates the backend for `choice` and says what was chosen.
 * An explicit choice that cannot be used throws BackendUnavailableError
 * (never a silent fallback: a run asked to use TensorFlow must not quietly
 * train 50× slower); `auto` falls back in speed order.
 */
export async function selectBackend(choice: BackendChoice, options: SelectOptions = {}): Promise<BackendRecord> {
  const loaders = options.loaders ?? defaultLoaders();
  const skipped: string[] = [];
  const order: BackendName[] = choice === 'auto' ? ['tensorflow', 'wasm', 'cpu'] : [choice];
  for (const name of order) {
    const record = name === 'tensorflow' ? await tryTensorflow(options, loaders, skipped) : await tryJs(name, loaders, skipped);
    if (record !== undefined) return record;
  }
  const hint = choice === 'tensorflow' ? ` (${INSTALL_HINT})` : '';
  throw new BackendUnavailableError(`backend '${choice}' is not usable${hint}: ${skipped.join('; ')}`, skipped);
}

/** Parses nvidia-smi's `--query-gpu=index,name,memory.total --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(output: string): CudaDevice[] {
  const devices: CudaDevice[] = [];
  for (const line of output.split('\n')) {
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < 2 || !/^\d+$/.test(fields[0]!)) continue;
    const memory = Number(fields[2]);
    devices.push({
      index: Number(fields[0]),
      name: fields[1]!,
      ...(fields[2] !== undefined && Number.isFinite(memory) && fields[2] !== '' ? { memoryMiB: memory } : {}),
    });
  }
  return devices;
}

function runNvidiaSmi(): Promise<string> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'],
      { timeout: 10_000 },
      // No driver (ENOENT) or no device (non-zero exit): no CUDA device.
      (error, stdout) => resolve(error ? '' : stdout),
    );
  });
}

/**
 * Imports an optional package by a name TypeScript cannot see, so that the
 * type check and the bundle do not require it to be installed.
 */
async function importOptional(specifier: string): Promise<unknown> {
  return import(specifier);
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

/** The real loaders: imports, nvidia-smi, tf.setBackend. */
export function defaultLoaders(): BackendLoaders {
  return {
    loadTfjsNodeGpu: async () => {
      await importOptional('@tensorflow/tfjs-node-gpu');
    },
    loadTfjsNode: async () => {
      await importOptional('@tensorflow/tfjs-node');
    },
    loadWasm: async () => {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const dir = wasmBinaryDir();
      if (dir !== undefined) wasm.setWasmPaths(dir);
      registerWasmKernels();
    },
    loadCpu: async () => {
      await import('@tensorflow/tfjs-backend-cpu');
    },
    listCudaDevices: async () => parseNvidiaSmi(await runNvidiaSmi()),
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
