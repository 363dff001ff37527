/**
 * What the Train quick picks turn into: trainer flags for a preset (built-in
 * or the user's saved one), for a backend choice, and the experiment's name.
 * Pure (no vscode): the flags are exactly what `cellscope train` accepts.
 */
import { formatWidth } from '../../genotype/metrics.js';
import type { VariantKind } from '../../genotype/samplers.js';
import type { GpuAdapter } from '../../shared/adapters.js';
import type { BackendRecord } from '../../shared/backendTypes.js';
import type { DeviceSlot } from './queue.js';

/** `cellscope.trainer.presets`: name → flags without dashes and their values. */
export type SavedPresets = Record<string, Record<string, string | number | boolean>>;

/** Flags the queue adds itself, or that would send runs elsewhere: never taken from a saved preset. */
const RESERVED_FLAGS = new Set(['runs', 'dataset', 'backend']);

/** `{ epochs: 2, augment: false }` → `--epochs 2 --augment=false`; reserved and malformed keys are left out. */
export function flagsOf(values: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (!/^[a-z][a-z0-9-]*$/.test(key) || RESERVED_FLAGS.has(key)) continue;
    if (typeof value === 'boolean') out.push(`--${key}=${value}`);
    else if (typeof value === 'number' && Number.isFinite(value)) out.push(`--${key}`, String(value));
    else if (typeof value === 'string' && value !== '') out.push(`--${key}`, value);
  }
  return out;
}

export type PresetChoice = { readonly kind: 'builtin'; readonly name: 'quick' | 'paper' } | { readonly kind: 'saved'; readonly name: string; readonly values: Readonly<Record<string, unknown>> };

export function presetFlags(choice: PresetChoice): string[] {
  if (choice.kind === 'builtin') return ['--preset', choice.name];
  return flagsOf(choice.values);
}

export type BackendChoice =
  | { readonly kind: 'auto' }
  | { readonly kind: 'gpu'; readonly index: number }
  /** The compiled plan engine (backend `webgpu`) on this adapter. */
  | { readonly kind: 'webgpu'; readonly adapter: GpuAdapter }
  /** TensorFlow.js's WebGPU backend on this adapter (the engine's reference and fallback). */
  | { readonly kind: 'tfjs-webgpu'; readonly adapter: GpuAdapter }
  | { readonly kind: 'wasm' }
  | { readonly kind: 'cpu' };

/** What the machine offers, as the backend pick found it: CUDA devices and WebGPU adapters. */
export interface MachineDevices {
  readonly cudaDevices: number;
  readonly adapters: readonly GpuAdapter[];
}

/** The slot a WebGPU adapter's runs share: its own for a GPU, the CPU's for a software renderer. */
function adapterSlot(adapter: GpuAdapter): DeviceSlot {
  return adapter.kind === 'hardware' ? `webgpu:${adapter.index}` : 'cpu';
}

/**
 * The backend flag and the device slot the run occupies in the queue. `auto`
 * takes the slot of what the trainer's auto picks: a CUDA device, else the
 * first hardware WebGPU adapter, else the CPU.
 */
export function backendFlags(choice: BackendChoice, devices: MachineDevices): { args: string[]; device: DeviceSlot; adapter?: number } {
  switch (choice.kind) {
    case 'auto': {
      // The trainer's auto takes the plan engine on a hardware adapter first, then CUDA.
      const hardware = devices.adapters.find((a) => a.kind === 'hardware');
      const device: DeviceSlot = hardware ? adapterSlot(hardware) : devices.cudaDevices > 0 ? 'gpu:0' : 'cpu';
      return { args: ['--backend', 'auto'], device };
    }
    case 'gpu':
      return { args: ['--backend', 'tensorflow'], device: `gpu:${choice.index}` };
    case 'webgpu':
      // The adapter reaches the trainer as CELLSCOPE_WEBGPU_ADAPTER (launcher.ts).
      return { args: ['--backend', 'webgpu'], device: adapterSlot(choice.adapter), adapter: choice.adapter.index };
    case 'tfjs-webgpu':
      return { args: ['--backend', 'tfjs-webgpu'], device: adapterSlot(choice.adapter), adapter: choice.adapter.index };
    case 'wasm':
      return { args: ['--backend', 'wasm'], device: 'cpu' };
    case 'cpu':
      return { args: ['--backend', 'cpu'], device: 'cpu' };
  }
}

/** One entry of the backend pick (a vscode QuickPickItem without vscode). */
export interface BackendItem {
  readonly label: string;
  readonly description?: string;
  readonly detail?: string;
  readonly choice: BackendChoice;
}

/**
 * The backend pick: Auto, the CUDA GPUs (then `extra`, the install offer),
 * the compiled WebGPU engine on each hardware adapter under the adapter's
 * name, TensorFlow.js's WebGPU on it, the CPU engines, and last the
 * software adapters (for testing).
 */
export function backendItems<T extends BackendItem>(gpus: ReadonlyArray<{ readonly index: number; readonly name: string }>, adapters: readonly GpuAdapter[], extra: readonly T[] = []): Array<BackendItem | T> {
  const software = adapters.filter((a) => a.kind === 'software');
  const hardware = adapters.filter((a) => a.kind === 'hardware');
  const detail = (a: GpuAdapter) => [a.vendor, a.architecture].filter(Boolean).join(' · ') || undefined;
  const withDetail = (item: Omit<BackendItem, 'detail'>, a: GpuAdapter): BackendItem => {
    const d = detail(a);
    return d === undefined ? item : { ...item, detail: d };
  };
  return [
    { label: 'Auto', description: 'the fastest that works: the compiled WebGPU engine on a GPU, CUDA GPU, WebAssembly', choice: { kind: 'auto' } },
    ...gpus.map((g): BackendItem => ({ label: `GPU ${g.index}`, description: `${g.name} (TensorFlow native, CUDA)`, choice: { kind: 'gpu', index: g.index } })),
    ...extra,
    ...hardware.map((a) => withDetail({ label: `GPU: ${a.name}`, description: `compiled WebGPU engine over ${a.backend}`, choice: { kind: 'webgpu', adapter: a } }, a)),
    ...hardware.map((a) => withDetail({ label: `TensorFlow.js WebGPU: ${a.name}`, description: `tfjs-webgpu over ${a.backend}: the engine's reference and fallback, slower`, choice: { kind: 'tfjs-webgpu', adapter: a } }, a)),
    { label: 'WebAssembly (CPU)', description: 'wasm backend: no native libraries needed', choice: { kind: 'wasm' } },
    { label: 'JavaScript (CPU)', description: 'cpu backend: the slow reference', choice: { kind: 'cpu' } },
    ...software.map((a): BackendItem => ({ label: `WebGPU engine, software: ${a.name}`, description: `${a.backend}, computes on the CPU (for testing)`, choice: { kind: 'webgpu', adapter: a } })),
    ...software.map((a): BackendItem => ({ label: `TensorFlow.js WebGPU, software: ${a.name}`, description: `tfjs-webgpu on ${a.backend}, computes on the CPU (for testing)`, choice: { kind: 'tfjs-webgpu', adapter: a } })),
  ];
}

/** The slot (and WebGPU adapter) a resumed run takes: where its record says it computed. */
export function slotOfRecord(backend: BackendRecord | null | undefined): { device: DeviceSlot; adapter?: number } {
  if ((backend?.backend === 'webgpu' || backend?.backend === 'tfjs-webgpu') && backend.adapter) return { device: adapterSlot(backend.adapter), adapter: backend.adapter.index };
  if (backend?.backend === 'tensorflow' && backend.device === 'gpu') return { device: `gpu:${backend.gpu?.index ?? 0}` };
  return { device: 'cpu' };
}

export type TrainWhat =
  | { readonly what: 'self' }
  | { readonly what: 'variants'; readonly kind: Exclude<VariantKind, 'adapt'>; readonly count: number }
  /** `authors`: the authors' own adapted cell (a built-in such as NASNet_ADAPT) rather than our re-pointing rule. */
  | { readonly what: 'adapt'; readonly authors?: string }
  | { readonly what: 'stratified'; readonly widths: readonly number[]; readonly perWidth: number };

const KIND_WORDS: Record<Exclude<VariantKind, 'adapt'>, string> = { connections: 'random-connection', ops: 'random-operation' };

/** `DARTS_V2 · 12 random-connection variants · synthetic/quick` */
export function experimentName(genotype: string, what: TrainWhat, dataset: string, preset: string): string {
  let middle = '';
  switch (what.what) {
    case 'self':
      break;
    case 'variants':
      middle = ` · ${what.count} ${KIND_WORDS[what.kind]} variant${what.count === 1 ? '' : 's'}`;
      break;
    case 'adapt':
      middle = what.authors !== undefined ? ` · adapted (${what.authors})` : ' · adapted';
      break;
    case 'stratified':
      middle = ` · ${what.perWidth}× at ${what.widths.map(formatWidth).join('/')}`;
      break;
  }
  return `${genotype}${middle} · ${dataset}/${preset}`;
}
