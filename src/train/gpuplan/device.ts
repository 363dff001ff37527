/**
 * Opening a device for the plan engine: the first hardware adapter Dawn
 * lists, or a software one (lavapipe) only when asked, with the adapter's
 * own limits (bindings up to what it allows, not WebGPU's defaults).
 */
import type { GpuAdapter } from '../../shared/adapters.js';
import { loadDawn } from '../webgpu/dawn.js';
import { probeAdapters, requestAddressed } from '../webgpu/probe.js';
import { GpuPlanError, type GpuDevice } from './engine.js';

export interface PlanDevice {
  readonly adapter: GpuAdapter;
  readonly device: GpuDevice;
}

export async function openPlanDevice(options: { allowSoftware?: boolean; name?: string } = {}): Promise<PlanDevice> {
  const report = await probeAdapters();
  const want = options.name?.toLowerCase();
  // Software adapters (lavapipe) only when asked: by allowSoftware, or by naming one.
  const candidates = report.adapters.filter((a) =>
    want === undefined ? options.allowSoftware === true || a.kind === 'hardware' : `${a.name} ${a.vendor} ${a.description}`.toLowerCase().includes(want) && (a.kind === 'hardware' || options.allowSoftware === true || a.name.toLowerCase().includes(want)),
  );
  const chosen = candidates[0];
  if (chosen === undefined) {
    const found = report.adapters.map((a) => `${a.name} (${a.kind})`).join(', ') || 'none';
    throw new GpuPlanError(`no WebGPU adapter for the plan engine (found: ${found}${report.problems.length > 0 ? `; ${report.problems.join('; ')}` : ''})`, 'no-adapter');
  }
  const dawn = await loadDawn();
  const adapter = await requestAddressed(dawn, chosen);
  if (adapter === null) throw new GpuPlanError(`WebGPU adapter '${chosen.name}' is no longer available`, 'no-adapter');
  const l = adapter.limits as unknown as Record<string, number>;
  const device = (await adapter.requestDevice({
    requiredLimits: {
      maxBufferSize: l.maxBufferSize!,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize!,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage!,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension!,
    },
  })) as unknown as GpuDevice;
  return { adapter: chosen, device };
}
