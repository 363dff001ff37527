/**
 * What an engine needs from the machine, said before anything is downloaded:
 * the platform (tfjs-node-gpu exists for Linux x64 only), the NVIDIA driver
 * (nvidia-smi), and the CUDA 11 / cuDNN 8 libraries libtensorflow 2.9 opens
 * at start-up. libtensorflow opens those with dlopen, so a missing one does
 * not crash the load: TensorFlow quietly runs on the CPU. Naming the missing
 * .so and where it was looked for is the only way a user learns why.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { CudaDevice } from '../shared/backendTypes.js';
import type { EngineFlavour, RequirementCheck, RequirementsReport } from '../shared/engineTypes.js';
import { queryNvidia, type NvidiaReport } from './nvidia.js';

/**
 * The shared libraries libtensorflow 2.9.1 (GPU) loads: built against CUDA
 * 11.2 and cuDNN 8.1, any CUDA 11.x / cuDNN 8.x runtime provides these sonames.
 */
export const CUDA_LIBRARIES: readonly string[] = [
  'libcudart.so.11.0',
  'libcublas.so.11',
  'libcublasLt.so.11',
  'libcufft.so.10',
  'libcurand.so.10',
  'libcusolver.so.11',
  'libcusparse.so.11',
  'libcudnn.so.8',
];

/** The folders the dynamic loader searches by default on Linux (after LD_LIBRARY_PATH and the ld.so cache). */
const DEFAULT_LIBRARY_DIRS = ['/lib', '/usr/lib', '/lib64', '/usr/lib64', '/lib/x86_64-linux-gnu', '/usr/lib/x86_64-linux-gnu'];

/** Where CUDA toolkits usually are when not on the loader's path: found there, the advice is LD_LIBRARY_PATH. */
function toolkitDirs(): string[] {
  const dirs: string[] = [];
  for (const base of ['/usr/local', '/opt']) {
    let names: string[] = [];
    try {
      names = readdirSync(base);
    } catch {
      continue;
    }
    for (const name of names) if (/^cuda(-[\d.]+)?$/.test(name)) dirs.push(join(base, name, 'lib64'), join(base, name, 'targets/x86_64-linux/lib'));
  }
  return dirs;
}

/** The machine as the checks see it; tests replace every part. */
export interface SystemProbe {
  readonly platform: NodeJS.Platform;
  readonly arch: string;
  readonly env: NodeJS.ProcessEnv;
  /** The driver's devices. */
  nvidia(): Promise<NvidiaReport>;
  /** `ldconfig -p` output, or undefined when there is no ldconfig. */
  ldconfigCache(): Promise<string | undefined>;
  exists(path: string): boolean;
  /** Extra folders to look in for a library the loader does not find. */
  toolkitDirs(): string[];
}

function runLdconfig(commands: readonly string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const [first, ...rest] = commands;
  if (first === undefined) return Promise.resolve(undefined);
  return new Promise((resolve) => {
    execFile(first, ['-p'], { timeout: 10_000, env, maxBuffer: 16 << 20 }, (error, stdout) => {
      if (error) runLdconfig(rest, env).then(resolve);
      else resolve(stdout);
    });
  });
}

export interface ProbeOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** The nvidia-smi to run (default: from PATH). */
  readonly nvidiaSmi?: string;
  /** The ldconfig to run (default: ldconfig from PATH, then /sbin and /usr/sbin). */
  readonly ldconfig?: string;
}

export function systemProbe(options: ProbeOptions = {}): SystemProbe {
  const env = options.env ?? process.env;
  return {
    platform: process.platform,
    arch: process.arch,
    env,
    nvidia: () => queryNvidia(options.nvidiaSmi, env),
    ldconfigCache: () => runLdconfig(options.ldconfig ? [options.ldconfig] : ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig'], env),
    exists: (path) => existsSync(path),
    toolkitDirs,
  };
}

/** Library name → path, from `ldconfig -p` lines such as `\tlibcudnn.so.8 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.8`. */
export function parseLdconfig(output: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of output.split('\n')) {
    const m = /^\s*(\S+)\s+\(([^)]*)\)\s+=>\s+(\S+)\s*$/.exec(line);
    // A 32-bit copy (flags `libc6` alone) cannot be loaded into 64-bit node.
    if (m && !found.has(m[1]!) && m[2]!.includes('64')) found.set(m[1]!, m[3]!);
  }
  return found;
}

export interface LibrarySearch {
  readonly found: ReadonlyMap<string, string>;
  readonly missing: readonly string[];
  /** Missing from the loader's path but present elsewhere (e.g. /usr/local/cuda-11.8/lib64). */
  readonly elsewhere: ReadonlyMap<string, string>;
  /** Where the loader looks, in words, for the message. */
  readonly searched: readonly string[];
}

/** Finds `libraries` where the dynamic loader would: LD_LIBRARY_PATH, the ld.so cache, the default folders. */
export async function findLibraries(probe: SystemProbe, libraries: readonly string[] = CUDA_LIBRARIES): Promise<LibrarySearch> {
  const ldPath = (probe.env.LD_LIBRARY_PATH ?? '').split(delimiter).filter((d) => d !== '');
  const cacheText = await probe.ldconfigCache();
  const cache = cacheText === undefined ? new Map<string, string>() : parseLdconfig(cacheText);
  const found = new Map<string, string>();
  const elsewhere = new Map<string, string>();
  const missing: string[] = [];
  for (const lib of libraries) {
    const inPath = [...ldPath, ...DEFAULT_LIBRARY_DIRS].map((d) => join(d, lib)).find((p) => probe.exists(p));
    const path = inPath ?? cache.get(lib);
    if (path !== undefined) {
      found.set(lib, path);
      continue;
    }
    missing.push(lib);
    const other = probe.toolkitDirs().map((d) => join(d, lib)).find((p) => probe.exists(p));
    if (other !== undefined) elsewhere.set(lib, other);
  }
  const searched = [
    ldPath.length > 0 ? `LD_LIBRARY_PATH (${ldPath.join(delimiter)})` : 'LD_LIBRARY_PATH (not set)',
    cacheText === undefined ? 'the ld.so cache (no ldconfig found)' : 'the ld.so cache (ldconfig -p)',
    DEFAULT_LIBRARY_DIRS.join(', '),
  ];
  return { found, missing, elsewhere, searched };
}

export const WEBGPU_ADVICE =
  'the GPU route here is the WebGPU engine (Metal, Vulkan, D3D12: Apple, AMD, Intel and NVIDIA GPUs): train with --backend webgpu (the editor: the WebGPU adapters in the backend pick); `cellscope adapters` lists what it finds';

/** The platforms each flavour has published libtensorflow archives and prebuilt addons for. */
export function supportedPlatform(flavour: EngineFlavour, platform: string, arch: string): boolean {
  if (arch !== 'x64') return false;
  return flavour === 'gpu' ? platform === 'linux' : platform === 'linux' || platform === 'darwin';
}

export function describeDevices(devices: readonly CudaDevice[]): string {
  return devices.map((d) => `${d.index}: ${d.name}${d.memoryMiB !== undefined ? ` (${d.memoryMiB} MiB)` : ''}`).join(', ');
}

/** Says whether `flavour` can be installed and used here, and why not. */
export async function checkRequirements(flavour: EngineFlavour, probe: SystemProbe): Promise<RequirementsReport & { devices: CudaDevice[] }> {
  const checks: RequirementCheck[] = [];
  const here = `${probe.platform}-${probe.arch}`;
  const platformOk = supportedPlatform(flavour, probe.platform, probe.arch);
  checks.push({
    name: 'platform',
    ok: platformOk,
    detail: platformOk
      ? here
      : flavour === 'gpu'
        ? `${here}: @tensorflow/tfjs-node-gpu is published for linux-x64 only`
        : `${here}: @tensorflow/tfjs-node's prebuilt libtensorflow and addon are published for linux-x64 and darwin-x64 only`,
  });
  if (flavour === 'cpu' || !platformOk) {
    return {
      flavour,
      ok: platformOk,
      checks,
      devices: [],
      ...(platformOk ? {} : { advice: probe.platform === 'darwin' || probe.platform === 'win32' || flavour === 'gpu' ? WEBGPU_ADVICE : 'use the wasm engine (--backend wasm)' }),
    };
  }
  const nvidia = await probe.nvidia();
  checks.push({
    name: 'NVIDIA driver',
    ok: nvidia.devices.length > 0,
    detail: nvidia.devices.length > 0 ? `nvidia-smi lists ${describeDevices(nvidia.devices)}` : nvidia.problem ?? 'no GPU',
  });
  const libs = await findLibraries(probe);
  for (const lib of CUDA_LIBRARIES) {
    const path = libs.found.get(lib);
    const other = libs.elsewhere.get(lib);
    checks.push({
      name: lib,
      ok: path !== undefined,
      detail:
        path !== undefined
          ? path
          : other !== undefined
            ? `not on the loader's path, but at ${other}: add ${other.slice(0, other.length - lib.length - 1)} to LD_LIBRARY_PATH`
            : `missing (looked in ${libs.searched.join('; ')}); libtensorflow 2.9 needs CUDA 11.x and cuDNN 8.x`,
    });
  }
  const ok = checks.every((c) => c.ok);
  const advice = ok
    ? undefined
    : nvidia.devices.length === 0
      ? `without an NVIDIA GPU and driver, tfjs-node-gpu runs on the CPU only; ${WEBGPU_ADVICE}`
      : 'install the CUDA 11.x runtime and cuDNN 8.x libraries (e.g. NVIDIA\'s cuda-libraries-11-8 and libcudnn8 packages, or a conda cudatoolkit=11 with cudnn=8 and its lib folder on LD_LIBRARY_PATH); without them TensorFlow runs on the CPU';
  return { flavour, ok, checks, devices: nvidia.devices, ...(advice !== undefined ? { advice } : {}) };
}

/**
 * Failed checks as one line each, except that libraries missing for the same
 * reason (usually all of CUDA, looked for in the same places) share a line.
 */
export function summariseFailures(checks: readonly RequirementCheck[]): string[] {
  const lines: string[] = [];
  const byDetail = new Map<string, string[]>();
  for (const c of checks) {
    if (c.ok) continue;
    if (c.name.includes('.so') && c.detail.startsWith('missing')) byDetail.set(c.detail, [...(byDetail.get(c.detail) ?? []), c.name]);
    else lines.push(`${c.name}: ${c.detail}`);
  }
  for (const [detail, names] of byDetail) lines.push(`${names.join(', ')}: ${detail}`);
  return lines;
}

/** The report as lines for a terminal or an error message. */
export function formatRequirements(report: RequirementsReport): string[] {
  const lines = [...report.checks.filter((c) => c.ok).map((c) => `ok      ${c.name}: ${c.detail}`), ...summariseFailures(report.checks).map((l) => `MISSING ${l}`)];
  if (report.advice) lines.push(report.advice);
  return lines;
}
