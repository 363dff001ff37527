/**
 * The engine installer end to end against a loopback registry and storage
 * (engine-helpers.ts): the real npm installs the fake package and its
 * dependency with --ignore-scripts, the libtensorflow archive and the addon
 * come through the resumable downloader, and the trainer then resolves and
 * loads the package from the per-user folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ChecksumMismatch } from '../../src/install/download.js';
import { engineFolder, enginesDir, findInstalled } from '../../src/install/enginePaths.js';
import { InstallCancelled, installEngine, RequirementsNotMet, uninstallEngine, type InstallOptions } from '../../src/install/installer.js';
import { engineCandidates } from '../../src/install/resolveEngine.js';
import { loadNativeEngine, selectBackend, type BackendLoaders } from '../../src/train/backend.js';
import type { InstallProgress } from '../../src/shared/engineTypes.js';
import { ADDON_PATH, LIBTF_PATH, npmEnv, readyMachine, serveFakeEngine, tempDir, type FakeServer } from './engine-helpers.js';

function options(server: FakeServer, home: string, work: string, extra: Partial<InstallOptions> = {}): InstallOptions {
  const env = npmEnv(work);
  return {
    flavour: 'gpu',
    home,
    env,
    probe: readyMachine(env),
    platform: 'linux',
    napi: 8,
    sources: { registry: `${server.url}/npm/`, libtensorflowMirror: `${server.url}/gcs/`, addonMirror: `${server.url}/addons` },
    ...extra,
  };
}

declare global {
  // eslint-disable-next-line no-var
  var __cellscopeFakeEngine: { loadedFrom: string; dep: string; lib: string } | undefined;
}
/** What the fake package's index.js recorded when it last ran (a function, so that TypeScript does not narrow it). */
const loaded = () => globalThis.__cellscopeFakeEngine;

test('installs the package with its npm dependencies, libtensorflow and the addon, with progress; the trainer then loads it from the install folder', async (t) => {
  const work = tempDir(t);
  const home = join(work, 'home');
  const server = await serveFakeEngine();
  t.after(() => server.close());
  const progress: InstallProgress[] = [];
  const done = await installEngine({ ...options(server, home, work), onProgress: (p) => progress.push(p) });

  assert.equal(done.root, engineFolder(enginesDir(home), 'gpu'));
  const pkg = join(done.root, 'node_modules', '@tensorflow', 'tfjs-node-gpu');
  assert.equal(done.packageDir, pkg);
  // npm put the dependency beside it, and the package's own (failing) install script did not run.
  assert.ok(existsSync(join(done.root, 'node_modules', 'cellscope-fake-dep', 'index.js')));
  // libtensorflow unpacked into deps/ with its symlinks; the addon into lib/napi-v8/.
  assert.equal(readlinkSync(join(pkg, 'deps', 'lib', 'libtensorflow.so.2')), 'libtensorflow.so.2.9.1');
  assert.equal(readFileSync(join(pkg, 'lib', 'napi-v8', 'tfjs_binding.node'), 'utf8'), 'fake addon\n');
  assert.deepEqual(
    { flavour: done.manifest.flavour, package: done.manifest.package, version: done.manifest.version, libtensorflow: done.manifest.libtensorflow, napi: done.manifest.napi },
    { flavour: 'gpu', package: '@tensorflow/tfjs-node-gpu', version: '4.22.0', libtensorflow: '2.9.1', napi: 8 },
  );
  assert.equal(done.manifest.sources.libtensorflow, `${server.url}${LIBTF_PATH}`);
  assert.equal(done.manifest.sources.addon, `${server.url}${ADDON_PATH}`);
  // The registry mirror served the packuments and tarballs.
  assert.ok(server.requests.some((r) => r.path === '/npm/@tensorflow/tfjs-node-gpu'));
  assert.ok(server.requests.some((r) => r.path === '/npm/cellscope-fake-dep'));

  // Progress: the phases in order, and bytes for each download up to its whole size.
  const phases = [...new Set(progress.map((p) => p.phase))];
  assert.deepEqual(phases, ['requirements', 'package', 'libtensorflow', 'addon', 'unpack', 'verify', 'activate']);
  const libtf = progress.filter((p) => p.phase === 'libtensorflow' && p.received !== undefined);
  assert.ok(libtf.length >= 2);
  assert.equal(libtf[0]!.received, 0);
  assert.equal(libtf.at(-1)!.received, libtf.at(-1)!.total);
  assert.ok(libtf.every((p, i) => i === 0 || p.received! >= libtf[i - 1]!.received!));
  // Nothing is left behind: no staging folder, no downloads.
  assert.deepEqual(readdirSync(enginesDir(home)), ['tfjs-node-gpu']);
  assert.deepEqual(readdirSync(join(home, 'downloads')), []);

  // The trainer's resolution: not in any node_modules here, so the per-user install.
  const env = { CELLSCOPE_HOME: home };
  const [candidate, ...more] = engineCandidates('gpu', env);
  assert.equal(more.length, 0);
  assert.deepEqual({ ...candidate, entry: undefined }, { entry: undefined, location: pkg, version: '4.22.0', libtensorflow: '2.9.1', source: 'cellscope-install' });
  globalThis.__cellscopeFakeEngine = undefined;
  const origin = await loadNativeEngine('gpu', env);
  assert.deepEqual(origin, { location: pkg, version: '4.22.0', libtensorflow: '2.9.1', source: 'cellscope-install' });
  assert.deepEqual(loaded(), { loadedFrom: pkg, dep: 'cellscope-fake-dep', lib: 'fake libtensorflow 2.9.1\n' });

  // What the run records: the copy that ran.
  const loaders: BackendLoaders = {
    loadTfjsNodeGpu: () => loadNativeEngine('gpu', env),
    loadTfjsNode: () => Promise.reject(new Error('not installed')),
    loadWasm: async () => {},
    loadCpu: async () => {},
    listCudaDevices: async () => [{ index: 0, name: 'Fake GPU' }],
    listWebGpuAdapters: async () => ({ schema: 'cellscope-adapters/1', dawn: false, adapters: [], problems: [], platform: 'linux-x64' }) as never,
    loadWebGpu: async () => {},
    activate: async () => true,
    tensorflowUsesGpu: () => true,
  };
  const record = await selectBackend('tensorflow', { loaders, env: {} });
  assert.equal(record.package, '@tensorflow/tfjs-node-gpu');
  assert.equal(record.device, 'gpu');
  assert.deepEqual(record.native, origin);

  // A broken install: the load failure names the copy and the missing library, and auto falls back.
  // (A trainer loads once per process; here the loaded module is forgotten first.)
  const cache = createRequire(__filename).cache;
  for (const key of Object.keys(cache)) if (key.startsWith(pkg)) delete cache[key];
  rmSync(join(pkg, 'deps', 'lib', 'libtensorflow.so.2'));
  const fallback = await selectBackend('auto', { loaders, env: {} });
  assert.equal(fallback.backend, 'wasm');
  const why = fallback.skipped.find((s) => s.startsWith('@tensorflow/tfjs-node-gpu not loadable'));
  assert.ok(why, fallback.skipped.join('\n'));
  assert.ok(why.includes(`${pkg} (cellscope-install): libtensorflow.so.2: cannot open shared object file`), why);
  assert.match(why, /cellscope gpu status/);

  assert.equal(await uninstallEngine(home, 'gpu'), true);
  assert.equal(findInstalled('gpu', [enginesDir(home)]), undefined);
  assert.deepEqual(readdirSync(enginesDir(home)), []);
  assert.equal(await uninstallEngine(home, 'gpu'), false);
});

test('a connection dropped mid-download is resumed with a Range request, within the install and across runs', async (t) => {
  const work = tempDir(t);
  const home = join(work, 'home');
  const server = await serveFakeEngine();
  t.after(() => server.close());

  // Within one install: the retry resumes from what arrived.
  server.cutAfter.set(LIBTF_PATH, 150_000);
  const logs: string[] = [];
  await installEngine({ ...options(server, home, work), onLog: (l) => logs.push(l) });
  const gets = server.requests.filter((r) => r.path === LIBTF_PATH);
  assert.equal(gets.length, 2);
  assert.equal(gets[0]!.range, undefined);
  assert.match(gets[1]!.range ?? '', /^bytes=\d+-$/);
  assert.ok(Number(/\d+/.exec(gets[1]!.range!)![0]) > 0);
  assert.ok(logs.some((l) => /connection .* after \d+ bytes.*retrying \(2 of 4\)/.test(l)), logs.join('\n'));
  assert.ok(findInstalled('gpu', [enginesDir(home)]));

  // Across runs: a one-attempt install fails, keeps its partial file, installs nothing new; the next run resumes.
  await uninstallEngine(home, 'gpu');
  server.requests.length = 0;
  server.cutAfter.set(LIBTF_PATH, 120_000);
  await assert.rejects(installEngine({ ...options(server, home, work), attempts: 1 }), /partial file .*libtensorflow-gpu-linux-x86_64-2\.9\.1\.tar\.gz\.part is kept; run again to resume/);
  assert.equal(findInstalled('gpu', [enginesDir(home)]), undefined);
  assert.deepEqual(readdirSync(enginesDir(home)), []);
  assert.ok(existsSync(join(home, 'downloads', 'libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz.part')));
  await installEngine(options(server, home, work));
  assert.match(server.requests.filter((r) => r.path === LIBTF_PATH).at(-1)!.range ?? '', /^bytes=[1-9]\d*-$/);
  assert.ok(findInstalled('gpu', [enginesDir(home)]));
});

test('a download whose published checksum does not match is rejected, and the earlier install stays loadable', async (t) => {
  const work = tempDir(t);
  const home = join(work, 'home');
  const server = await serveFakeEngine();
  t.after(() => server.close());
  const first = await installEngine(options(server, home, work));
  server.wrongHash.add(LIBTF_PATH);
  await assert.rejects(installEngine(options(server, home, work)), (err: unknown) => {
    assert.ok(err instanceof ChecksumMismatch, String(err));
    assert.match(err.message, /libtensorflow-gpu-linux-x86_64-2\.9\.1\.tar\.gz: checksum mismatch after download from .*: MD5 is [0-9a-f]{32}, expected [0-9a-f]{32}; the download was removed/);
    return true;
  });
  assert.ok(!existsSync(join(home, 'downloads', 'libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz.part')));
  const still = findInstalled('gpu', [enginesDir(home)]);
  assert.equal(still?.manifest.installedAt, first.manifest.installedAt);
  assert.deepEqual(readdirSync(enginesDir(home)), ['tfjs-node-gpu']);
  await loadNativeEngine('gpu', { CELLSCOPE_HOME: home });
});

test('an interrupted install leaves nothing loadable: a cancel mid-download, and a folder without its manifest', async (t) => {
  const work = tempDir(t);
  const home = join(work, 'home');
  const server = await serveFakeEngine();
  t.after(() => server.close());
  const controller = new AbortController();
  // The server sends part of the archive and then nothing: the cancel comes once bytes have arrived.
  server.stallAfter.set(LIBTF_PATH, 50_000);
  const onProgress = (p: InstallProgress) => {
    if (p.phase === 'libtensorflow' && (p.received ?? 0) > 0) controller.abort();
  };
  await assert.rejects(installEngine({ ...options(server, home, work), signal: controller.signal, onProgress }), InstallCancelled);
  assert.deepEqual(readdirSync(enginesDir(home)), []);
  assert.deepEqual(engineCandidates('gpu', { CELLSCOPE_HOME: home }), []);
  await assert.rejects(loadNativeEngine('gpu', { CELLSCOPE_HOME: home }), /not installed/);
  // What arrived is kept for the next run.
  assert.ok(statSync(join(home, 'downloads', 'libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz.part')).size > 0);

  // A process killed before the manifest was written (or a copy in progress): every file there but the manifest.
  server.stallAfter.clear();
  const done = await installEngine(options(server, home, work));
  rmSync(join(done.root, 'cellscope-engine.json'));
  assert.equal(findInstalled('gpu', [enginesDir(home)]), undefined);
  assert.deepEqual(engineCandidates('gpu', { CELLSCOPE_HOME: home }), []);
  // A manifest that is not one is skipped too.
  writeFileSync(join(done.root, 'cellscope-engine.json'), '{"schema":"something-else"}');
  assert.equal(findInstalled('gpu', [enginesDir(home)]), undefined);
});

test('requirements are said before any download', async (t) => {
  const work = tempDir(t);
  const home = join(work, 'home');
  const server = await serveFakeEngine();
  t.after(() => server.close());
  const base = options(server, home, work);
  const mac = { ...readyMachine(), platform: 'darwin' as const, arch: 'arm64' };
  await assert.rejects(installEngine({ ...base, probe: mac }), (err: unknown) => {
    assert.ok(err instanceof RequirementsNotMet);
    assert.match(err.message, /platform: darwin-arm64: @tensorflow\/tfjs-node-gpu is published for linux-x64 only/);
    assert.match(err.message, /WebGPU engine/);
    return true;
  });
  const noDriver = { ...readyMachine(), nvidia: async () => ({ devices: [], problem: 'nvidia-smi not found: no NVIDIA driver installed' }) };
  await assert.rejects(installEngine({ ...base, probe: noDriver }), /NVIDIA driver: nvidia-smi not found/);
  assert.deepEqual(server.requests, []);
  assert.ok(!existsSync(enginesDir(home)) || readdirSync(enginesDir(home)).length === 0);
});

test('installs offline from a folder holding the archives, and from an exported install', async (t) => {
  const work = tempDir(t);
  const home = join(work, 'home');
  const server = await serveFakeEngine();
  t.after(() => server.close());
  // The archives by their published names; only npm goes to the (local) registry.
  const folder = join(work, 'archives');
  mkdirSync(folder);
  for (const path of [LIBTF_PATH, ADDON_PATH]) {
    const res = await fetch(`${server.url}${path}`);
    writeFileSync(join(folder, path.split('/').pop()!), Buffer.from(await res.arrayBuffer()));
  }
  server.requests.length = 0;
  const base = options(server, home, work);
  const fromFolder = await installEngine({ ...base, sources: { ...base.sources, from: folder } });
  assert.equal(fromFolder.manifest.sources.libtensorflow, join(folder, 'libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz'));
  assert.ok(!server.requests.some((r) => r.path.startsWith('/gcs/') || r.path.startsWith('/addons/')));

  // An install carried as a folder: no network at all.
  const carried = join(work, 'carried');
  const other = join(work, 'other-home');
  rmSync(carried, { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.cp(fromFolder.root, join(carried, 'tfjs-node-gpu'), { recursive: true, verbatimSymlinks: true }));
  server.requests.length = 0;
  const copied = await installEngine({ ...base, home: other, sources: { from: carried } });
  assert.deepEqual(server.requests, []);
  globalThis.__cellscopeFakeEngine = undefined;
  await loadNativeEngine('gpu', { CELLSCOPE_HOME: other });
  assert.equal(loaded()?.loadedFrom, copied.packageDir);

  // A folder with neither: says which file it lacks.
  const empty = join(work, 'empty');
  mkdirSync(empty);
  await assert.rejects(installEngine({ ...base, sources: { ...base.sources, from: empty } }), /empty: has no libtensorflow-gpu-linux-x86_64-2\.9\.1\.tar\.gz \(the libtensorflow archive from .*\); put it there/);
  await assert.rejects(installEngine({ ...base, sources: { from: join(work, 'nowhere') } }), /nowhere: no such file or folder to install from/);
});

test('the editor\'s install folder (CELLSCOPE_ENGINES) is searched before the CLI\'s', async (t) => {
  const work = tempDir(t);
  const server = await serveFakeEngine();
  t.after(() => server.close());
  const editor = join(work, 'editor-storage');
  const cli = join(work, 'cli-home');
  await installEngine(options(server, editor, work));
  await installEngine(options(server, cli, work));
  const [first] = engineCandidates('gpu', { CELLSCOPE_HOME: cli, CELLSCOPE_ENGINES: enginesDir(editor) });
  assert.equal(first?.location, join(engineFolder(enginesDir(editor), 'gpu'), 'node_modules', '@tensorflow', 'tfjs-node-gpu'));
  const [only] = engineCandidates('gpu', { CELLSCOPE_HOME: cli });
  assert.ok(only?.location.startsWith(cli));
});
