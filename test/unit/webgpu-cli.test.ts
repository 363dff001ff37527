/**
 * `cellscope adapters [--json]`: in-process, and as the extension runs it (a
 * child process whose stdout must be the JSON alone, whatever Dawn writes to
 * stderr). Compares with the probe's own answer on this machine, so it holds
 * with or without lavapipe.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { runCli } from '../../src/cli/main.js';
import { formatAdapters } from '../../src/cli/commands/adapters.js';
import { ADAPTERS_SCHEMA, parseAdaptersReport, type AdaptersReport, type GpuAdapter } from '../../src/shared/adapters.js';
import { probeAdapters } from '../../src/train/webgpu/probe.js';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { stdout: (t) => (out += t), stderr: (t) => (err += t), cwd: process.cwd() });
  return { code, out, err };
}

test('adapters --json prints the probe\'s report, readable by the extension\'s parser', async () => {
  const expected = await probeAdapters();
  const { code, out } = await cli(['adapters', '--json']);
  assert.equal(code, 0);
  const report = parseAdaptersReport(out);
  assert.deepEqual(report.adapters.map((a) => [a.name, a.kind]), expected.adapters.map((a) => [a.name, a.kind]));
  assert.equal(report.dawn, expected.dawn);
});

test('adapters --json from a child process: stdout is the JSON alone', async () => {
  const root = join(__dirname, '..', '..');
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', join(root, 'src', 'cli', 'main.ts'), 'adapters', '--json'], { cwd: root, timeout: 60_000 }, (error, out) =>
      error ? reject(error) : resolve(out),
    );
  });
  const report = parseAdaptersReport(stdout);
  assert.equal(report.schema, ADAPTERS_SCHEMA);
  assert.equal(report.platform, `${process.platform}-${process.arch}`);
});

test('the listing names each adapter, says which one auto takes, and explains an empty list', async () => {
  const gpu: GpuAdapter = {
    index: 0, backend: 'metal', name: 'Apple M2 Max', vendor: 'apple', architecture: 'metal-3', device: '', description: '',
    kind: 'hardware', maxBufferSize: 2 ** 32, maxStorageBufferBindingSize: 2 ** 31,
  };
  const soft: GpuAdapter = { ...gpu, index: 1, backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)', vendor: 'mesa', architecture: 'software', kind: 'software', maxStorageBufferBindingSize: 2 ** 27 };
  const report: AdaptersReport = { schema: ADAPTERS_SCHEMA, dawn: true, adapters: [gpu, soft], problems: [], platform: 'darwin-arm64' };
  let text = '';
  formatAdapters(report, (t) => (text += t));
  const lines = text.split('\n');
  assert.match(lines[1]!, /^0\s+Apple M2 Max\s+metal\s+hardware\s+apple\s+metal-3\s+2048 MiB$/);
  assert.match(lines[2]!, /^1\s+llvmpipe .*vulkan\s+software\s+mesa\s+software\s+128 MiB$/);
  assert.match(text, /auto trains on Apple M2 Max \(metal\)/);
  let onlySoft = '';
  formatAdapters({ ...report, adapters: [{ ...soft, index: 0 }] }, (t) => (onlySoft += t));
  assert.match(onlySoft, /Only software adapters: --backend auto will not use them/);
  let none = '';
  formatAdapters({ ...report, dawn: false, adapters: [], problems: ["the optional package 'webgpu' (Dawn) is not loadable"] }, (t) => (none += t));
  assert.equal(none, "No WebGPU adapter found.\nnote: the optional package 'webgpu' (Dawn) is not loadable\n");
});

test('adapters refuses arguments', async () => {
  const { code, err } = await cli(['adapters', 'nvidia']);
  assert.notEqual(code, 0);
  assert.match(err, /adapters takes no arguments/);
});
