/**
 * The adapter list shared by `cellscope adapters --json` and the extension's
 * backend pick (src/shared/adapters.ts), Dawn's adapter listing
 * (src/train/webgpu/probe.ts), and the real probe on this machine (skipped,
 * saying why, where Dawn finds no adapter).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADAPTERS_SCHEMA, adapterLabel, hardwareAdapters, isSoftwareAdapter, parseAdaptersReport, type AdaptersReport } from '../../src/shared/adapters.js';
import { DawnUnavailableError } from '../../src/train/webgpu/dawn.js';
import { adapterFlags, parseAvailableAdapters, probeAdapters } from '../../src/train/webgpu/probe.js';
import type { WgpuAdapter, WgpuGpu } from '../../src/train/webgpu/types.js';

const DAWN_ERROR = [
  'no suitable backends found',
  'Available adapters:',
  " * backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3'",
  " * backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)'",
  " * backend: 'opengles', name: 'ANGLE (it's got a quote)'",
  '',
].join('\n');

test("Dawn's adapter listing is read line by line, names kept whole", () => {
  assert.deepEqual(parseAvailableAdapters(DAWN_ERROR), [
    { backend: 'vulkan', name: 'NVIDIA H100 80GB HBM3' },
    { backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)' },
    { backend: 'opengles', name: "ANGLE (it's got a quote)" },
  ]);
  assert.deepEqual(parseAvailableAdapters('no suitable backends found'), []);
  assert.deepEqual(adapterFlags({ backend: 'metal', name: 'Apple M2 Max' }), ['backend=metal', 'adapter=Apple M2 Max']);
});

test('software adapters are told apart by Dawn\'s fallback flag, their architecture or their names', () => {
  assert.equal(isSoftwareAdapter({ vendor: 'mesa', architecture: 'software', device: 'llvmpipe-llvm-15' }), true);
  assert.equal(isSoftwareAdapter({ name: 'SwiftShader Device (Subzero)', vendor: 'google' }), true);
  assert.equal(isSoftwareAdapter({ description: 'Microsoft Basic Render Driver' }), true);
  assert.equal(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', isFallbackAdapter: true }), true);
  assert.equal(isSoftwareAdapter({ name: 'NVIDIA H100 80GB HBM3', vendor: 'nvidia', architecture: 'hopper', isFallbackAdapter: false }), false);
  assert.equal(isSoftwareAdapter({ name: 'AMD Radeon RX 7900 XTX (RADV NAVI31)', vendor: 'amd', architecture: 'rdna-3' }), false);
  assert.equal(isSoftwareAdapter({ name: 'Apple M2 Max', vendor: 'apple', architecture: 'metal-3' }), false);
});

/** A pretend Dawn: adapters by name, listed in the rejection of an unknown name as Dawn does. */
function fakeDawn(adapters: Array<{ backend: string; name: string; info: WgpuAdapter['info'] }>) {
  const created: string[][] = [];
  const limits = { maxBufferSize: 2 ** 32 - 1, maxStorageBufferBindingSize: 2 ** 27, maxComputeWorkgroupStorageSize: 32768,
    maxComputeWorkgroupsPerDimension: 65535, maxComputeWorkgroupSizeX: 256, maxComputeInvocationsPerWorkgroup: 256, maxStorageBuffersPerShaderStage: 8 };
  return {
    created,
    dawn: {
      create(flags: readonly string[]): WgpuGpu {
        created.push([...flags]);
        const backend = flags.find((f) => f.startsWith('backend='))?.slice(8);
        const name = flags.find((f) => f.startsWith('adapter='))?.slice(8);
        return {
          requestAdapter: async () => {
            const match = adapters.filter((a) => (backend === undefined || a.backend === backend) && (name === undefined || a.name.includes(name)));
            if (match.length === 0 && name !== undefined) {
              throw new Error(`no suitable backends found\nAvailable adapters:\n${adapters.map((a) => ` * backend: '${a.backend}', name: '${a.name}'`).join('\n')}`);
            }
            const a = match[0];
            return a === undefined ? null : ({ info: a.info, limits, features: new Set<string>(), requestDevice: () => Promise.reject(new Error('unused')) } as WgpuAdapter);
          },
        };
      },
    },
  };
}

test('the probe lists every adapter Dawn names, hardware first, with its identity and limits', async () => {
  const { dawn, created } = fakeDawn([
    { backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)', info: { vendor: 'mesa', architecture: 'software', device: 'llvmpipe', description: 'llvmpipe: Mesa 25.0.7', isFallbackAdapter: true } },
    { backend: 'vulkan', name: 'AMD Radeon RX 7900 XTX (RADV NAVI31)', info: { vendor: 'amd', architecture: 'rdna-3', device: '0x744c', description: 'Radeon', isFallbackAdapter: false } },
  ]);
  const report = await probeAdapters(async () => dawn);
  assert.equal(report.dawn, true);
  assert.deepEqual(report.problems, []);
  assert.deepEqual(report.adapters.map((a) => [a.index, a.name, a.kind, a.vendor]), [
    [0, 'AMD Radeon RX 7900 XTX (RADV NAVI31)', 'hardware', 'amd'],
    [1, 'llvmpipe (LLVM 15.0.6, 256 bits)', 'software', 'mesa'],
  ]);
  assert.equal(report.adapters[0]!.maxStorageBufferBindingSize, 2 ** 27);
  // Each adapter was requested by its backend and name.
  assert.ok(created.some((f) => f.join(' ') === 'backend=vulkan adapter=AMD Radeon RX 7900 XTX (RADV NAVI31)'));
  // What it prints survives the reader the extension uses.
  assert.deepEqual(parseAdaptersReport(JSON.stringify(report)), report);
  assert.deepEqual(hardwareAdapters(report).map(adapterLabel), ['AMD Radeon RX 7900 XTX (RADV NAVI31) (vulkan)']);
  assert.equal(adapterLabel(report.adapters[1]!), 'llvmpipe (LLVM 15.0.6, 256 bits) (vulkan, software)');
});

test('without Dawn, or without any driver, the probe answers an empty list and says why', async () => {
  const missing = await probeAdapters(async () => {
    throw new DawnUnavailableError("the optional package 'webgpu' (Dawn) is not loadable: Cannot find package 'webgpu'");
  });
  assert.deepEqual({ dawn: missing.dawn, adapters: missing.adapters }, { dawn: false, adapters: [] });
  assert.match(missing.problems[0]!, /optional package 'webgpu'/);
  const { dawn } = fakeDawn([]);
  const none = await probeAdapters(async () => dawn);
  assert.equal(none.dawn, true);
  assert.equal(none.adapters.length, 0);
  assert.match(none.problems.join('\n'), /no adapter.*mesa-vulkan-drivers/s);
});

test('parseAdaptersReport refuses other schemas, truncated output and malformed adapters', () => {
  const good: AdaptersReport = { schema: ADAPTERS_SCHEMA, dawn: true, adapters: [], problems: [], platform: 'darwin-arm64' };
  assert.deepEqual(parseAdaptersReport(JSON.stringify(good)), good);
  assert.throws(() => parseAdaptersReport('{"schema":1,"dawn":tr'), /not JSON/);
  assert.throws(() => parseAdaptersReport(JSON.stringify({ ...good, schema: 2 })), /schema 2, expected 1/);
  assert.throws(() => parseAdaptersReport(JSON.stringify({ ...good, problems: [3] })), /problems/);
  const adapter = { index: 0, backend: 'metal', name: 'Apple M2', vendor: 'apple', architecture: 'metal-3', device: '', description: '', kind: 'hardware', maxBufferSize: 1, maxStorageBufferBindingSize: 1 };
  assert.equal(parseAdaptersReport(JSON.stringify({ ...good, adapters: [adapter] })).adapters[0]!.name, 'Apple M2');
  assert.throws(() => parseAdaptersReport(JSON.stringify({ ...good, adapters: [{ ...adapter, kind: 'virtual' }] })), /kind/);
  assert.throws(() => parseAdaptersReport(JSON.stringify({ ...good, adapters: [{ ...adapter, index: 4 }] })), /index/);
  assert.throws(() => parseAdaptersReport(JSON.stringify({ ...good, adapters: [{ ...adapter, maxBufferSize: -1 }] })), /maxBufferSize/);
  assert.throws(() => parseAdaptersReport('[]'), /must be an object/);
});

test('the real probe on this machine (lavapipe where scripts/setup-lavapipe.sh ran)', async (t) => {
  const report = await probeAdapters();
  if (report.adapters.length === 0) {
    t.skip(`no WebGPU adapter here: ${report.problems.join('; ')} (run scripts/setup-lavapipe.sh)`);
    return;
  }
  assert.equal(report.dawn, true);
  for (const a of report.adapters) {
    assert.ok(a.name.length > 0 && a.backend.length > 0);
    assert.ok(a.maxStorageBufferBindingSize >= 2 ** 27, `${a.name}: WebGPU guarantees at least 128 MiB`);
  }
  const kinds = report.adapters.map((a) => a.kind);
  assert.deepEqual(kinds, [...kinds].sort(), 'hardware before software');
  t.diagnostic(report.adapters.map(adapterLabel).join('; '));
});
