/**
 * Loading Dawn, Google's WebGPU implementation, through its Node bindings
 * (the npm package `webgpu`: prebuilt for Linux, macOS and Windows over
 * Vulkan, Metal and D3D12). The package is an optional dependency (its
 * binaries for every platform weigh ~130 MB) and loads dynamically: its
 * absence is an ordinary outcome, reported, never a crash.
 */
import type { WgpuGpu } from './types.js';

export interface Dawn {
  /**
   * A WebGPU entry point (navigator.gpu) configured by Dawn's flags:
   * `backend=vulkan|metal|d3d12|…` restricts the native API, `adapter=<name>`
   * keeps the adapters whose name contains <name>.
   */
  create(flags: readonly string[]): WgpuGpu;
}

interface DawnModule {
  create(flags: string[]): WgpuGpu;
  globals: Record<string, unknown>;
}

/** Thrown when the `webgpu` package is missing or its binary does not load. */
export class DawnUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DawnUnavailableError';
  }
}

let loaded: Promise<Dawn> | undefined;

/**
 * Every entry point created, kept alive for the life of the process. Dawn's
 * Node bindings schedule event processing on the instance behind each one;
 * once garbage-collected, that instance is freed while the scheduled work
 * and any device opened through it still use it (a segfault in
 * InstanceBase::ProcessEvents, seen with lavapipe). Instances are few (one
 * per adapter probed), so none is ever released.
 */
const instances = new Map<string, WgpuGpu>();

/** Imports an optional package by a name that neither tsc nor the bundler resolves. */
async function importOptional(specifier: string): Promise<unknown> {
  return import(specifier);
}

/**
 * Loads `webgpu` once per process and installs the WebGPU globals
 * (GPUBufferUsage, GPUMapMode, …) that code written for browsers, such as
 * TensorFlow.js's WebGPU backend, reads.
 */
export function loadDawn(): Promise<Dawn> {
  loaded ??= (async () => {
    let mod: DawnModule;
    try {
      mod = (await importOptional('webgpu')) as DawnModule;
    } catch (error) {
      loaded = undefined;
      const text = (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
      throw new DawnUnavailableError(`the optional package 'webgpu' (Dawn) is not loadable: ${text}; install it with npm install webgpu`);
    }
    for (const [name, value] of Object.entries(mod.globals)) {
      if (!(name in globalThis)) (globalThis as Record<string, unknown>)[name] = value;
    }
    return {
      create: (flags) => {
        // The same flags give the same instance: probing twice creates no more.
        const key = flags.join('\u0000');
        let gpu = instances.get(key);
        if (gpu === undefined) {
          gpu = mod.create([...flags]);
          instances.set(key, gpu);
        }
        return gpu;
      },
    };
  })();
  return loaded;
}
