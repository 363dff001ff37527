/**
 * `cellscope gpu …` in-process: the install flags reach the installer (the
 * loopback registry and storage of engine-helpers.ts stand in for npm and
 * Google Cloud Storage), the progress lines, the requirements refusal before
 * any download, status and uninstall.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gpuStatus } from '../../src/install/status.js';
import { progressPrinter } from '../../src/cli/commands/gpu.js';
import { cli } from './cli-helpers.js';
import { ADDON_CPU_PATH, LIBTF_CPU_PATH, npmEnv, readyMachine, serveFakeEngine, tempDir } from './engine-helpers.js';

/** Runs `fn` with these environment variables, restoring the old values after. */
async function withEnv<T>(vars: NodeJS.ProcessEnv, fn: () => Promise<T>): Promise<T> {
  const old = new Map(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of old) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

test('gpu install --cpu with mirror flags, then status sees it and uninstall removes it', async (t) => {
  const work = tempDir(t);
  const home = join(work, 'home');
  const server = await serveFakeEngine();
  t.after(() => server.close());
  const npm = npmEnv(work);
  await withEnv({ CELLSCOPE_HOME: home, npm_config_cache: npm.npm_config_cache, npm_config_userconfig: npm.npm_config_userconfig }, async () => {
    const flags = ['--registry', `${server.url}/npm/`, '--libtensorflow-mirror', `${server.url}/gcs`, '--addon-mirror', `${server.url}/addons/`];
    const done = await cli(['gpu', 'install', '--cpu', ...flags]);
    assert.equal(done.code, 0, done.err);
    assert.match(done.out, new RegExp(`^@tensorflow/tfjs-node@4\\.22\\.0 \\(libtensorflow 2\\.9\\.1\\) installed at ${join(home, 'engines', 'tfjs-node').replace(/[.]/g, '\\.')}\\n`));
    assert.ok(server.requests.some((r) => r.path === LIBTF_CPU_PATH) && server.requests.some((r) => r.path === ADDON_CPU_PATH));
    // Progress on a non-terminal: the phases, and byte counts that end at the whole size.
    assert.match(done.err, /npm install @tensorflow\/tfjs-node@4\.22\.0 from http:\/\/127\.0\.0\.1:\d+\/npm\//);
    assert.match(done.err, /libtensorflow-cpu-linux-x86_64-2\.9\.1\.tar\.gz: [\d.]+\/[\d.]+ MiB \(100%\)/);

    const status = await gpuStatus({ probe: readyMachine() });
    const cpu = status.engines.find((e) => e.engine === 'tensorflow-cpu')!;
    assert.deepEqual({ installed: cpu.installed, usable: cpu.usable, version: cpu.version, devices: cpu.devices, reasons: cpu.reasons }, { installed: true, usable: true, version: '4.22.0', devices: ['CPU'], reasons: [] });
    assert.equal(cpu.location, join(home, 'engines', 'tfjs-node', 'node_modules', '@tensorflow', 'tfjs-node'));
    const gpu = status.engines.find((e) => e.engine === 'tensorflow-gpu')!;
    assert.equal(gpu.usable, false);
    assert.match(gpu.reasons[0]!, /^not installed: cellscope gpu install/);

    const removed = await cli(['gpu', 'uninstall', '--cpu']);
    assert.equal(removed.code, 0);
    assert.match(removed.out, /^removed @tensorflow\/tfjs-node from /);
    assert.ok(!existsSync(join(home, 'engines', 'tfjs-node')));
    assert.match((await cli(['gpu', 'uninstall', '--cpu'])).out, /is not installed in /);
  });
});

test('gpu install refuses before any download when the machine lacks what the GPU engine needs', async (t) => {
  const work = tempDir(t);
  const server = await serveFakeEngine();
  t.after(() => server.close());
  // No nvidia-smi on this PATH (the libraries' messages are engine-requirements.test.ts's).
  await withEnv({ CELLSCOPE_HOME: join(work, 'home'), PATH: work, LD_LIBRARY_PATH: work }, async () => {
    const refused = await cli(['gpu', 'install', '--registry', `${server.url}/npm/`, '--libtensorflow-mirror', `${server.url}/gcs/`]);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /@tensorflow\/tfjs-node-gpu cannot run here:/);
    assert.match(refused.err, /MISSING NVIDIA driver: nvidia-smi not found/);
    assert.match(refused.err, /Nothing was downloaded/);
  });
  assert.deepEqual(server.requests, []);
});

test('gpu usage errors', async () => {
  assert.match((await cli(['gpu'])).err, /gpu needs a subcommand: install, status, uninstall or export/);
  assert.match((await cli(['gpu', 'fly'])).err, /unknown gpu subcommand 'fly'/);
  assert.match((await cli(['gpu', 'install', '--mirror', 'x'])).err, /unknown flag --mirror/);
  assert.match((await cli(['gpu', 'export'])).err, /gpu export needs --out FILE\.tar\.gz/);
});

test('the terminal progress line is rewritten in place; in a log, one line per tenth', () => {
  let tty = '';
  const live = progressPrinter((s) => (tty += s), true);
  live.update({ phase: 'libtensorflow', message: 'downloading x', file: 'x.tar.gz', received: 0, total: 2 ** 21 });
  live.update({ phase: 'libtensorflow', message: 'downloading x', file: 'x.tar.gz', received: 2 ** 21, total: 2 ** 21 });
  live.update({ phase: 'unpack', message: 'unpacking' });
  assert.equal(tty, '\rx.tar.gz: 0.0/2.0 MiB (0%)\x1b[K\rx.tar.gz: 2.0/2.0 MiB (100%)\x1b[K\nunpacking\n');
  let log = '';
  const lines = progressPrinter((s) => (log += s), false);
  for (let i = 0; i <= 100; i++) lines.update({ phase: 'addon', message: '', file: 'a', received: i, total: 100 });
  assert.equal(log.split('\n').filter(Boolean).length, 11);
});
