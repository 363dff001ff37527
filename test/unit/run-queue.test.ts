/**
 * The training queue (src/extension/runs/queue.ts): FIFO per device slot with
 * a concurrency limit, persistence in queue.json, run ids read from launch
 * logs, entries leaving the queue when their trainer exits, spawn failures.
 * The launcher and process liveness are fakes; the file is real.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  entriesToLaunch,
  parseQueue,
  RunQueue,
  runIdFromLog,
  type DeviceSlot,
  type Launched,
  type QueueEntry,
  type QueueRequest,
} from '../../src/extension/runs/queue.js';

function train(name: string, device: DeviceSlot = 'cpu'): QueueRequest {
  return { kind: 'train', ref: `/w/g.genotype#${name}`, name, args: ['--dataset', 'synthetic'], device };
}

/** A fake machine: launch gives pids in order; `exit(pid)` ends one; logs are strings per file. */
function fakeWorld() {
  let nextPid = 100;
  const alive = new Set<number>();
  const logs = new Map<string, string>();
  const launched: QueueEntry[] = [];
  let failNext: Error | undefined;
  return {
    alive,
    logs,
    launched,
    failNextLaunch(error: Error) {
      failNext = error;
    },
    deps: {
      launch(entry: QueueEntry): Launched {
        if (failNext) {
          const e = failNext;
          failNext = undefined;
          throw e;
        }
        const pid = nextPid++;
        alive.add(pid);
        launched.push(entry);
        return { pid, logFile: `/logs/${entry.id}.log` };
      },
      alive: (l: Launched) => alive.has(l.pid),
      readLog: (path: string) => logs.get(path) ?? '',
    },
  };
}

function queueIn(dir: string, world: ReturnType<typeof fakeWorld>, concurrency: (slot: DeviceSlot) => number = () => 1, events = {}) {
  return new RunQueue(join(dir, 'queue.json'), { ...world.deps, concurrency, events });
}

test('one run per slot by default: the rest wait in order and start as runs finish', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-queue-'));
  const world = fakeWorld();
  const q = queueIn(dir, world);
  q.enqueue('three variants', [train('A'), train('B'), train('C')]);
  q.pump();
  assert.deepEqual(world.launched.map((e) => e.request.name), ['A']);
  q.pump();
  assert.equal(world.launched.length, 1, 'A still runs: nothing else starts');

  world.alive.delete(100);
  const after = q.pump();
  assert.deepEqual(world.launched.map((e) => e.request.name), ['A', 'B']);
  assert.deepEqual(after.entries.map((e) => [e.request.name, e.launch !== undefined]), [
    ['B', true],
    ['C', false],
  ]);
  world.alive.delete(101);
  q.pump();
  world.alive.delete(102);
  assert.deepEqual(q.pump().entries, []);
  assert.deepEqual(world.launched.map((e) => e.request.name), ['A', 'B', 'C']);
});

test('slots are independent and concurrency is per slot', () => {
  const entries: QueueEntry[] = [
    { id: '1', experiment: 'x', request: train('cpu1'), queuedAt: '' },
    { id: '2', experiment: 'x', request: train('cpu2'), queuedAt: '' },
    { id: '3', experiment: 'x', request: train('gpu0a', 'gpu:0'), queuedAt: '' },
    { id: '4', experiment: 'x', request: train('gpu1', 'gpu:1'), queuedAt: '' },
    { id: '5', experiment: 'x', request: train('gpu0b', 'gpu:0'), queuedAt: '' },
    { id: '6', experiment: 'x', request: train('gpu0c', 'gpu:0'), queuedAt: '' },
  ];
  const names = (es: QueueEntry[]) => es.map((e) => e.request.name);
  // A waiting CPU run does not hold back the GPU runs behind it.
  assert.deepEqual(names(entriesToLaunch(entries, () => 1)), ['cpu1', 'gpu0a', 'gpu1']);
  assert.deepEqual(names(entriesToLaunch(entries, (s) => (s === 'gpu:0' ? 2 : 1))), ['cpu1', 'gpu0a', 'gpu1', 'gpu0b']);
  // Launched entries take their slot.
  const busy = entries.map((e) => (e.id === '3' ? { ...e, launch: { pid: 1, logFile: 'l', at: '' } } : e));
  assert.deepEqual(names(entriesToLaunch(busy, (s) => (s === 'gpu:0' ? 2 : 1))), ['cpu1', 'gpu1', 'gpu0b']);
  // A nonsensical setting still lets one run per slot go.
  assert.deepEqual(names(entriesToLaunch(entries, () => 0)), ['cpu1', 'gpu0a', 'gpu1']);
});

test('the queue is on disk: a new queue object (a reloaded window) sees waiting and launched entries', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-queue-'));
  const world = fakeWorld();
  const first = queueIn(dir, world);
  first.enqueue('e', [train('A'), train('B')]);
  first.pump();
  const raw: unknown = JSON.parse(readFileSync(join(dir, 'queue.json'), 'utf8'));
  assert.equal((raw as { entries: unknown[] }).entries.length, 2);

  const second = queueIn(dir, world);
  second.pump();
  assert.equal(world.launched.length, 1, 'the launched A keeps its slot across the reload');
  world.alive.delete(100);
  second.pump();
  assert.deepEqual(world.launched.map((e) => e.request.name), ['A', 'B']);
});

test('run ids come from the launch log; experiments are remembered after the entry leaves', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-queue-'));
  const world = fakeWorld();
  const finished: Array<[string, string | undefined]> = [];
  const q = queueIn(dir, world, () => 2, { finished: (e: QueueEntry, runId: string | undefined) => finished.push([e.request.name, runId]) });
  const [a, b] = q.enqueue('sweep', [train('A'), train('B')]);
  q.pump();
  world.logs.set(`/logs/${a!.id}.log`, 'run 20250101-000000-A in /w/runs/x\n{"type":"start","runId":"20250101-000000-A","runDir":"/w/runs/x"}\n{"type":"st');
  let state = q.pump();
  assert.equal(state.entries.find((e) => e.id === a!.id)?.launch?.runId, '20250101-000000-A');
  assert.equal(state.entries.find((e) => e.id === b!.id)?.launch?.runId, undefined);
  assert.equal(state.experiments['20250101-000000-A'], 'sweep');

  // A exits after announcing its run; B exits without ever announcing one (bad arguments).
  world.alive.delete(100);
  world.alive.delete(101);
  state = q.pump();
  assert.deepEqual(state.entries, []);
  assert.deepEqual(finished, [
    ['A', '20250101-000000-A'],
    ['B', undefined],
  ]);
  assert.equal(state.experiments['20250101-000000-A'], 'sweep');
  q.forgetRun('20250101-000000-A');
  assert.deepEqual(q.read().experiments, {});
});

test('a spawn failure drops the entry, reports it, and the next one starts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-queue-'));
  const world = fakeWorld();
  const failures: string[] = [];
  const q = queueIn(dir, world, () => 1, { launchFailed: (e: QueueEntry, err: Error) => failures.push(`${e.request.name}: ${err.message}`) });
  q.enqueue('e', [train('A'), train('B')]);
  world.failNextLaunch(new Error('ENOENT node'));
  let state = q.pump();
  assert.deepEqual(failures, ['A: ENOENT node']);
  assert.deepEqual(state.entries.map((e) => e.request.name), ['B']);
  state = q.pump();
  assert.deepEqual(world.launched.map((e) => e.request.name), ['B']);
});

test('removing: only waiting entries can be taken out of the queue', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-queue-'));
  const world = fakeWorld();
  const q = queueIn(dir, world);
  const [a, b] = q.enqueue('e', [train('A'), train('B')]);
  q.pump();
  assert.equal(q.remove(a!.id), false, 'A is running: cancel the run instead');
  assert.equal(q.remove(b!.id), true);
  assert.deepEqual(q.read().entries.map((e) => e.request.name), ['A']);
});

test('a damaged queue file is read as empty or without its bad entries', () => {
  assert.deepEqual(parseQueue('{"format":1,"entries":[').entries, []);
  assert.deepEqual(parseQueue('{"format":99,"entries":[]}').entries, []);
  const mixed = parseQueue(
    JSON.stringify({
      format: 1,
      entries: [{ id: 'ok', experiment: 'e', request: train('A'), queuedAt: '' }, { id: 'bad', request: { kind: 'train' } }, 42],
      experiments: { r: 'e', s: 3 },
    }),
  );
  assert.deepEqual(mixed.entries.map((e) => e.id), ['ok']);
  assert.deepEqual(mixed.experiments, { r: 'e' });

  const dir = mkdtempSync(join(tmpdir(), 'cellscope-queue-'));
  writeFileSync(join(dir, 'queue.json'), 'not json');
  const world = fakeWorld();
  const q = queueIn(dir, world);
  q.enqueue('e', [train('A')]);
  assert.equal(q.read().entries.length, 1);
});

test('runIdFromLog ignores other lines and a half-written start line', () => {
  assert.equal(runIdFromLog('hello\n{"type":"step","runId":"x"}\n'), undefined);
  assert.equal(runIdFromLog('{"type":"start","runId":"abc"'), undefined);
  assert.equal(runIdFromLog('noise\n{"type":"start","runId":"abc","runDir":"/r"}\n'), 'abc');
});

test('queued flags: saved settings become trainer flags, reserved ones are dropped; backends map to device slots', async () => {
  const { flagsOf, presetFlags, backendFlags, experimentName } = await import('../../src/extension/runs/trainOptions.js');
  assert.deepEqual(flagsOf({ preset: 'quick', epochs: 2, augment: false, runs: '/elsewhere', backend: 'cpu', 'train-subset': 32, 'Bad Key': 1, empty: '' }), [
    '--preset', 'quick', '--epochs', '2', '--augment=false', '--train-subset', '32',
  ]);
  assert.deepEqual(presetFlags({ kind: 'builtin', name: 'paper' }), ['--preset', 'paper']);
  const none = { cudaDevices: 0, adapters: [] };
  const twoCuda = { cudaDevices: 2, adapters: [] };
  assert.deepEqual(backendFlags({ kind: 'auto' }, none), { args: ['--backend', 'auto'], device: 'cpu' });
  assert.deepEqual(backendFlags({ kind: 'auto' }, twoCuda), { args: ['--backend', 'auto'], device: 'gpu:0' });
  assert.deepEqual(backendFlags({ kind: 'gpu', index: 1 }, twoCuda), { args: ['--backend', 'tensorflow'], device: 'gpu:1' });
  assert.deepEqual(backendFlags({ kind: 'wasm' }, twoCuda).device, 'cpu');
  assert.equal(experimentName('DARTS_V2', { what: 'stratified', widths: [2, 2.5], perWidth: 3 }, 'cifar10', 'paper'), 'DARTS_V2 · 3× at 2c/2.5c · cifar10/paper');
  assert.equal(experimentName('G', { what: 'variants', kind: 'connections', count: 1 }, 'synthetic', 'quick'), 'G · 1 random-connection variant · synthetic/quick');
});

test('launch: trainer arguments and environment (Electron as Node, one CUDA device per GPU slot)', async () => {
  const { trainerArgs, trainerEnv } = await import('../../src/extension/runs/launcher.js');
  const entry: QueueEntry = { id: 'q1', experiment: 'e', request: train('A', 'gpu:1'), queuedAt: '' };
  assert.deepEqual(trainerArgs(entry, '/w/runs'), ['train', '/w/g.genotype#A', '--dataset', 'synthetic', '--runs', '/w/runs']);
  assert.deepEqual(trainerArgs({ ...entry, request: { kind: 'resume', runId: 'r1', name: 'A', device: 'cpu' } }, '/w/runs'), ['resume', 'r1', '--runs', '/w/runs']);
  const env = trainerEnv({ PATH: '/bin', ELECTRON_RUN_AS_NODE: '1' }, { device: 'gpu:1' }, true);
  assert.equal(env['ELECTRON_RUN_AS_NODE'], '1');
  assert.equal(env['CUDA_VISIBLE_DEVICES'], '1');
  const plain = trainerEnv({ PATH: '/bin', ELECTRON_RUN_AS_NODE: '1', CELLSCOPE_WEBGPU_ADAPTER: '3' }, { device: 'cpu' }, false);
  assert.equal(plain['ELECTRON_RUN_AS_NODE'], undefined, 'a configured Node must not inherit the Electron switch');
  assert.equal(plain['CUDA_VISIBLE_DEVICES'], undefined);
  assert.equal(plain['CELLSCOPE_WEBGPU_ADAPTER'], undefined, 'a run that names no adapter must not inherit one');
  assert.equal(trainerEnv({}, { device: 'webgpu:1', adapter: 1 }, false)['CELLSCOPE_WEBGPU_ADAPTER'], '1');
});

/** An adapter as `cellscope adapters --json` describes it. */
function adapter(index: number, kind: 'hardware' | 'software', name: string) {
  return { index, backend: 'vulkan', name, vendor: '', architecture: '', device: '', description: '', kind, maxBufferSize: 2 ** 30, maxStorageBufferBindingSize: 2 ** 27 } as const;
}

test('WebGPU adapters: hardware ones get their own slot and are what auto queues on without CUDA; software ones share the CPU slot', async () => {
  const { backendFlags, slotOfRecord } = await import('../../src/extension/runs/trainOptions.js');
  const lavapipe = adapter(1, 'software', 'llvmpipe (LLVM 19)');
  const radeon = adapter(0, 'hardware', 'AMD Radeon RX 7900');
  const both = { cudaDevices: 0, adapters: [radeon, lavapipe] };
  assert.deepEqual(backendFlags({ kind: 'webgpu', adapter: radeon }, both), { args: ['--backend', 'webgpu'], device: 'webgpu:0', adapter: 0 });
  assert.deepEqual(backendFlags({ kind: 'webgpu', adapter: lavapipe }, both), { args: ['--backend', 'webgpu'], device: 'cpu', adapter: 1 });
  assert.equal(backendFlags({ kind: 'auto' }, both).device, 'webgpu:0');
  assert.equal(backendFlags({ kind: 'auto' }, { cudaDevices: 0, adapters: [lavapipe] }).device, 'cpu', 'auto never trains on a software adapter');
  assert.equal(backendFlags({ kind: 'auto' }, { cudaDevices: 1, adapters: [radeon] }).device, 'webgpu:0', 'the compiled engine on a hardware adapter first');
  assert.equal(backendFlags({ kind: 'auto' }, { cudaDevices: 1, adapters: [lavapipe] }).device, 'gpu:0', 'then CUDA');
  assert.deepEqual(backendFlags({ kind: 'tfjs-webgpu', adapter: radeon }, both), { args: ['--backend', 'tfjs-webgpu'], device: 'webgpu:0', adapter: 0 });
  // Resume goes back where the run computed.
  const base = { package: '@tensorflow/tfjs-backend-webgpu', skipped: [] } as const;
  assert.deepEqual(slotOfRecord({ ...base, backend: 'webgpu', device: 'gpu', adapter: radeon }), { device: 'webgpu:0', adapter: 0 });
  assert.deepEqual(slotOfRecord({ ...base, backend: 'webgpu', device: 'cpu', adapter: lavapipe }), { device: 'cpu', adapter: 1 });
  assert.deepEqual(slotOfRecord({ backend: 'tensorflow', package: '@tensorflow/tfjs-node-gpu', device: 'gpu', gpu: { index: 2, name: 'A100' }, skipped: [] }), { device: 'gpu:2' });
  assert.deepEqual(slotOfRecord({ backend: 'wasm', package: '@tensorflow/tfjs-backend-wasm', device: 'cpu', skipped: [] }), { device: 'cpu' });
  assert.deepEqual(slotOfRecord(null), { device: 'cpu' });
});

test("the backend pick lists the compiled WebGPU engine under each hardware adapter's name, TensorFlow.js WebGPU too, software adapters last", async () => {
  const { backendItems } = await import('../../src/extension/runs/trainOptions.js');
  const lavapipe = adapter(1, 'software', 'llvmpipe (LLVM 19)');
  const radeon = adapter(0, 'hardware', 'AMD Radeon RX 7900');
  const items = backendItems([{ index: 0, name: 'NVIDIA A100' }], [lavapipe, radeon]);
  assert.deepEqual(
    items.map((i) => [i.label, i.choice.kind]),
    [
      ['Auto', 'auto'],
      ['GPU 0', 'gpu'],
      ['GPU: AMD Radeon RX 7900', 'webgpu'],
      ['TensorFlow.js WebGPU: AMD Radeon RX 7900', 'tfjs-webgpu'],
      ['WebAssembly (CPU)', 'wasm'],
      ['JavaScript (CPU)', 'cpu'],
      ['WebGPU engine, software: llvmpipe (LLVM 19)', 'webgpu'],
      ['TensorFlow.js WebGPU, software: llvmpipe (LLVM 19)', 'tfjs-webgpu'],
    ],
  );
  assert.match(items[2]!.description!, /compiled WebGPU engine/);
});

test('the adapter probe runs the CLI in a child process; a success is cached, a failure is explained and retried', async () => {
  const { AdapterCache, probeAdaptersInChild } = await import('../../src/extension/runs/adapterProbe.js');
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-probe-'));
  const report = { schema: 1, dawn: true, adapters: [adapter(0, 'hardware', 'Apple M3')], problems: [], platform: 'darwin-arm64' };
  // A stand-in CLI that answers `adapters --json` as the real one does, counting its calls.
  const cli = join(dir, 'cli.js');
  writeFileSync(cli, `require('fs').appendFileSync(${JSON.stringify(join(dir, 'calls'))}, process.argv.slice(2).join(' ') + '\\n'); process.stdout.write(${JSON.stringify(JSON.stringify(report))});`);
  const config = { node: process.execPath, electron: false, cli, cwd: dir };
  const cache = new AdapterCache(() => probeAdaptersInChild(config));
  assert.deepEqual((await cache.get()).adapters.map((a) => a.name), ['Apple M3']);
  await cache.get();
  assert.deepEqual(readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n'), ['adapters --json'], 'probed once');

  const broken = join(dir, 'broken.js');
  writeFileSync(broken, `process.stdout.write('{"schema": 99}');`);
  let calls = 0;
  const failing = new AdapterCache(() => (calls++, probeAdaptersInChild({ ...config, cli: broken })));
  const first = await failing.get();
  assert.deepEqual(first.adapters, []);
  assert.match(first.problems.join(), /adapter probe failed: .*schema 99/);
  await failing.get();
  assert.equal(calls, 2, 'a failed probe is not cached');
  const crashed = await probeAdaptersInChild({ ...config, node: join(dir, 'no-such-node') }).then(() => undefined, (e: Error) => e.message);
  assert.match(crashed ?? '', /no-such-node|ENOENT/);
});

test('two processes enqueueing into one queue file at once lose nothing (the file is locked)', async () => {
  const { spawn } = await import('node:child_process');
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-queue-'));
  const queueModule = join(__dirname, '..', '..', 'src', 'extension', 'runs', 'queue.ts');
  const perProcess = 120;
  // Each writer adds its entries one action at a time, as a window does on every "Train".
  const script = join(dir, 'writer.ts');
  writeFileSync(
    script,
    `import { RunQueue } from ${JSON.stringify(queueModule)};
const [file, name] = process.argv.slice(2);
const q = new RunQueue(file, { launch() { throw new Error('no launches'); }, alive: () => true, concurrency: () => 1, readLog: () => '' });
for (let i = 0; i < ${perProcess}; i++) q.enqueue(name, [{ kind: 'train', ref: 'DARTS_V2', name: name + '-' + i, args: [], device: 'gpu:9' }]);
`,
  );
  const writer = (name: string) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', script, join(dir, 'queue.json'), name], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer ${name} exited ${code}: ${err}`))));
    });
  await Promise.all([writer('a'), writer('b')]);
  const names = parseQueue(readFileSync(join(dir, 'queue.json'), 'utf8')).entries.map((e) => e.request.name);
  assert.equal(names.length, 2 * perProcess);
  assert.equal(new Set(names).size, 2 * perProcess);
  // Each writer's entries stay in the order it added them.
  for (const w of ['a', 'b']) {
    const mine = names.filter((n) => n.startsWith(`${w}-`));
    assert.deepEqual(mine, [...Array(perProcess).keys()].map((i) => `${w}-${i}`));
  }
});

test('a lock left by a dead process is taken over; one held by a live process times out naming the lock file', async () => {
  const { withFileLock } = await import('../../src/runs/fileLock.js');
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-lock-'));
  const file = join(dir, 'queue.json');
  // A pid that cannot be running: beyond Linux's pid_max.
  writeFileSync(`${file}.lock`, '99999999');
  assert.equal(withFileLock(file, () => 'ran'), 'ran');
  assert.throws(() => readFileSync(`${file}.lock`), /ENOENT/, 'released after the action');

  writeFileSync(`${file}.lock`, String(process.ppid));
  assert.throws(() => withFileLock(file, () => 'ran', { timeoutMs: 100 }), (e: Error) => e.message.includes(`${file}.lock`) && e.message.includes(`pid ${process.ppid}`));
  // …unless it is older than the stale limit.
  assert.equal(withFileLock(file, () => 'ran', { timeoutMs: 100, staleMs: 0 }), 'ran');
});
