/**
 * The GPU adapters that WebGPU (Dawn) finds on this machine, as
 * `cellscope adapters --json` prints them and the extension's backend pick
 * reads them (in a child process, cached). Pure: no Dawn, no Node APIs, so
 * both the trainer side and the extension side import it.
 */

/** Bumped when the JSON changes incompatibly; readers refuse other versions. */
export const ADAPTERS_SCHEMA = 1;

/**
 * `hardware`: a GPU. `software`: a CPU rasteriser posing as one (lavapipe /
 * llvmpipe, SwiftShader, Microsoft's WARP): correct but slower than the wasm
 * backend, so the trainer uses one only when asked for.
 */
export type AdapterKind = 'hardware' | 'software';

export interface GpuAdapter {
  /** Position in the report's list: what `--adapter <index>` names. */
  readonly index: number;
  /** The native API Dawn drives it through: vulkan, metal, d3d12, d3d11, opengl, opengles. */
  readonly backend: string;
  /** Dawn's adapter name (`NVIDIA H100 80GB HBM3`, `llvmpipe (LLVM 15.0.6, 256 bits)`). */
  readonly name: string;
  /** GPUAdapterInfo fields; empty strings where the driver reports nothing. */
  readonly vendor: string;
  readonly architecture: string;
  readonly device: string;
  readonly description: string;
  readonly kind: AdapterKind;
  /** Bytes: the largest buffer, and the largest one a kernel can bind (the bound on one tensor). */
  readonly maxBufferSize: number;
  readonly maxStorageBufferBindingSize: number;
}

export interface AdaptersReport {
  readonly schema: typeof ADAPTERS_SCHEMA;
  /** Whether Dawn (the optional `webgpu` package) loaded at all. */
  readonly dawn: boolean;
  /** Hardware adapters first, then software ones; each in Dawn's order. */
  readonly adapters: readonly GpuAdapter[];
  /** Why adapters may be missing (package absent, no driver), one line each. */
  readonly problems: readonly string[];
  /** process.platform-arch of the machine probed. */
  readonly platform: string;
}

/** What the classification reads: GPUAdapterInfo plus Dawn's name. */
export interface AdapterIdentity {
  readonly name?: string;
  readonly vendor?: string;
  readonly architecture?: string;
  readonly device?: string;
  readonly description?: string;
  readonly isFallbackAdapter?: boolean;
}

/** CPU implementations of Vulkan, D3D and GL that present themselves as adapters. */
const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|\bwarp\b/i;

export function isSoftwareAdapter(info: AdapterIdentity): boolean {
  if (info.isFallbackAdapter === true) return true;
  if ((info.architecture ?? '').toLowerCase() === 'software') return true;
  return [info.name, info.device, info.description].some((s) => s !== undefined && SOFTWARE_NAMES.test(s));
}

/** One line for a pick list: `NVIDIA H100 80GB HBM3 (vulkan)` or `llvmpipe … (vulkan, software)`. */
export function adapterLabel(a: GpuAdapter): string {
  return `${a.name} (${a.backend}${a.kind === 'software' ? ', software' : ''})`;
}

/** Adapters a user would train on without asking for software rendering. */
export function hardwareAdapters(report: AdaptersReport): GpuAdapter[] {
  return report.adapters.filter((a) => a.kind === 'hardware');
}

/**
 * Reads `cellscope adapters --json` output. Throws an Error saying what is
 * wrong for anything else (another schema, a truncated write, a crash).
 */
export function parseAdaptersReport(text: string): AdaptersReport {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`adapters report is not JSON: ${(error as Error).message}`);
  }
  const o = asRecord(raw, 'adapters report');
  if (o.schema !== ADAPTERS_SCHEMA) throw new Error(`adapters report has schema ${JSON.stringify(o.schema)}, expected ${ADAPTERS_SCHEMA}`);
  if (typeof o.dawn !== 'boolean') throw new Error('adapters report: dawn must be a boolean');
  if (typeof o.platform !== 'string') throw new Error('adapters report: platform must be a string');
  if (!Array.isArray(o.adapters)) throw new Error('adapters report: adapters must be an array');
  if (!Array.isArray(o.problems) || !o.problems.every((p) => typeof p === 'string')) {
    throw new Error('adapters report: problems must be an array of strings');
  }
  const adapters = o.adapters.map((a, i) => parseAdapter(a, i));
  return { schema: ADAPTERS_SCHEMA, dawn: o.dawn, adapters, problems: o.problems as string[], platform: o.platform };
}

function parseAdapter(raw: unknown, i: number): GpuAdapter {
  const a = asRecord(raw, `adapter ${i}`);
  const str = (key: string): string => {
    const v = a[key];
    if (typeof v !== 'string') throw new Error(`adapter ${i}: ${key} must be a string`);
    return v;
  };
  const num = (key: string): number => {
    const v = a[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new Error(`adapter ${i}: ${key} must be a non-negative number`);
    return v;
  };
  if (a.index !== i) throw new Error(`adapter ${i}: index is ${JSON.stringify(a.index)}`);
  const kind = a.kind;
  if (kind !== 'hardware' && kind !== 'software') throw new Error(`adapter ${i}: kind must be hardware or software`);
  return {
    index: i,
    backend: str('backend'),
    name: str('name'),
    vendor: str('vendor'),
    architecture: str('architecture'),
    device: str('device'),
    description: str('description'),
    kind,
    maxBufferSize: num('maxBufferSize'),
    maxStorageBufferBindingSize: num('maxStorageBufferBindingSize'),
  };
}

function asRecord(raw: unknown, what: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${what} must be an object`);
  return raw as Record<string, unknown>;
}
