/**
 * Finding the GPU adapters Dawn can drive. WebGPU's requestAdapter() answers
 * one adapter per request, so the list comes from Dawn itself: asked for an
 * adapter name that matches nothing, Dawn's Node bindings reject with the
 * list of every adapter they found ("Available adapters: * backend: 'vulkan',
 * name: '…'"). Each is then requested by backend and name for its
 * GPUAdapterInfo and limits. Should that message ever change, the default
 * adapters of each power preference are listed instead.
 */
import { ADAPTERS_SCHEMA, isSoftwareAdapter, type AdaptersReport, type GpuAdapter } from '../../shared/adapters.js';
import { loadDawn, type Dawn } from './dawn.js';
import type { WgpuAdapter } from './types.js';

/** An adapter as Dawn names it: enough to request it again. */
export interface AdapterAddress {
  readonly backend: string;
  readonly name: string;
}

/** An adapter name no device has, to make Dawn list the real ones. */
const NO_SUCH_ADAPTER = 'cellscope-lists-adapters-\u0001';

/** Reads Dawn's " * backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)'" lines. */
export function parseAvailableAdapters(message: string): AdapterAddress[] {
  const out: AdapterAddress[] = [];
  for (const line of message.split('\n')) {
    const m = /^\s*\*\s*backend:\s*'([^']*)',\s*name:\s*'(.*)'\s*$/.exec(line);
    if (m !== null) out.push({ backend: m[1]!, name: m[2]! });
  }
  return out;
}

/** The Dawn flags that select exactly this adapter. */
export function adapterFlags(address: AdapterAddress): string[] {
  return [`backend=${address.backend}`, `adapter=${address.name}`];
}

/** Requests the adapter at `address`; null when Dawn no longer offers it. */
export async function requestAddressed(dawn: Dawn, address: AdapterAddress): Promise<WgpuAdapter | null> {
  return dawn.create(adapterFlags(address)).requestAdapter({ powerPreference: 'high-performance' });
}

async function listAddresses(dawn: Dawn): Promise<AdapterAddress[] | undefined> {
  try {
    await dawn.create([`adapter=${NO_SUCH_ADAPTER}`]).requestAdapter();
  } catch (error) {
    const found = parseAvailableAdapters(error instanceof Error ? error.message : String(error));
    return found;
  }
  return undefined;
}

export function describeAdapter(index: number, address: AdapterAddress, adapter: WgpuAdapter): GpuAdapter {
  const info = adapter.info;
  return {
    index,
    backend: address.backend,
    name: address.name,
    vendor: info.vendor ?? '',
    architecture: info.architecture ?? '',
    device: info.device ?? '',
    description: info.description ?? '',
    kind: isSoftwareAdapter({ ...pickInfo(adapter), name: address.name }) ? 'software' : 'hardware',
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
}

function pickInfo(adapter: WgpuAdapter) {
  const i = adapter.info;
  return { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: i.isFallbackAdapter };
}

/** Orders hardware before software (stable) and renumbers. */
function ordered(found: Array<Omit<GpuAdapter, 'index'>>): GpuAdapter[] {
  const hw = found.filter((a) => a.kind === 'hardware');
  const sw = found.filter((a) => a.kind === 'software');
  return [...hw, ...sw].map((a, index) => ({ ...a, index }));
}

/**
 * Every adapter Dawn finds, hardware first. Never throws: a missing package
 * or driver is reported in `problems` with an empty list.
 */
export async function probeAdapters(load: () => Promise<Dawn> = loadDawn): Promise<AdaptersReport> {
  const platform = `${process.platform}-${process.arch}`;
  const problems: string[] = [];
  let dawn: Dawn;
  try {
    dawn = await load();
  } catch (error) {
    return { schema: ADAPTERS_SCHEMA, dawn: false, adapters: [], problems: [firstLine(error)], platform };
  }
  const found: Array<Omit<GpuAdapter, 'index'>> = [];
  const seen = new Set<string>();
  const add = (address: AdapterAddress, adapter: WgpuAdapter) => {
    const key = `${address.backend}\u0000${address.name}\u0000${adapter.info.description ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    found.push(describeAdapter(0, address, adapter));
  };
  const addresses = await listAddresses(dawn);
  if (addresses !== undefined && addresses.length > 0) {
    for (const address of addresses) {
      try {
        const adapter = await requestAddressed(dawn, address);
        if (adapter === null) problems.push(`${address.name} (${address.backend}) was listed but could not be requested`);
        else add(address, adapter);
      } catch (error) {
        problems.push(`${address.name} (${address.backend}): ${firstLine(error)}`);
      }
    }
  } else {
    // Dawn did not list them: fall back to what each preference answers.
    for (const options of [{ powerPreference: 'high-performance' as const }, { powerPreference: 'low-power' as const }, { forceFallbackAdapter: true }]) {
      try {
        const adapter = await dawn.create([]).requestAdapter(options);
        if (adapter !== null) add({ backend: 'unknown', name: adapter.info.description || adapter.info.device || adapter.info.vendor }, adapter);
      } catch (error) {
        problems.push(firstLine(error));
      }
    }
  }
  if (found.length === 0) {
    problems.push('Dawn found no adapter (no Vulkan, Metal or D3D12 driver; on Linux without a GPU, install mesa-vulkan-drivers 23 or later for lavapipe)');
  }
  return { schema: ADAPTERS_SCHEMA, dawn: true, adapters: ordered(found), problems: [...new Set(problems)], platform };
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
}
