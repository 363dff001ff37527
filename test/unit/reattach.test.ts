/**
 * Finding runs again from disk (src/extension/runs/reattach.ts): growing
 * metrics files read incrementally (partial lines held back, rewrites
 * noticed), runs whose trainer is alive shown running and those whose trainer
 * died shown failed with the reason, with fake pids and with a real process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MetricsTail, RunTracker } from '../../src/extension/runs/reattach.js';
import { orphanReason, RUN_FORMAT, type MetricsLine, type RunRecord, type TrainerAliveCheck } from '../../src/shared/runTypes.js';
import { presetSettings } from '../../src/runs/presets.js';
import { processStartOf, trainerAlive } from '../../src/runs/runStore.js';

function metrics(epoch: number): MetricsLine {
  return {
    epoch,
    trainLoss: 2 - epoch / 10,
    trainAcc: epoch / 10,
    testLoss: 2.1 - epoch / 10,
    testAcc: epoch / 12,
    gradVariance: 1 / epoch,
    gradVarianceRatio: 0.5,
    gradMeanNormSq: 2,
    lr: 0.025,
    dropPath: 0,
    seconds: 3,
    imagesPerSecond: 50,
    steps: 4,
  };
}

function record(id: string, over: Partial<RunRecord> = {}): RunRecord {
  return {
    format: RUN_FORMAT,
    id,
    status: 'running',
    genotype: { name: 'G', text: 'G = ...', ref: 'G', origin: 'built-in', normal: { width: 3, depth: 2 }, reduce: { width: 2, depth: 3 } },
    params: 10,
    config: { ...presetSettings('quick', 'synthetic'), dataset: 'synthetic', dataDir: null, download: false, preset: 'quick', seed: 0, backend: 'cpu' },
    seed: 0,
    backend: null,
    dataset: null,
    versions: { cellscope: '0', node: process.version, tfjs: '4' },
    pid: 4242,
    host: hostname(),
    startedAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-01T00:00:00.000Z',
    epochsCompleted: 0,
    resumes: [],
    ...over,
  };
}

/** Writes run.json the way the trainer does: a temp file renamed over it. */
function writeRecord(runsDir: string, r: RunRecord): void {
  const dir = join(runsDir, r.id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '.run.json.tmp'), JSON.stringify(r));
  renameSync(join(dir, '.run.json.tmp'), join(dir, 'run.json'));
}

function line(m: MetricsLine): string {
  return `${JSON.stringify(m)}\n`;
}

test('MetricsTail reads only what was appended and holds back a half-written line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-tail-'));
  const path = join(dir, 'metrics.jsonl');
  const tail = new MetricsTail(path);
  assert.deepEqual(tail.read(), { added: [], reset: false }, 'no file yet');
  writeFileSync(path, line(metrics(1)));
  assert.deepEqual(tail.read().added.map((m) => m.epoch), [1]);
  assert.deepEqual(tail.read().added, [], 'nothing new');

  const second = line(metrics(2));
  appendFileSync(path, second.slice(0, 30));
  assert.deepEqual(tail.read().added, [], 'the trainer is mid-write');
  appendFileSync(path, second.slice(30) + line(metrics(3)));
  assert.deepEqual(tail.read().added.map((m) => m.epoch), [2, 3]);
  assert.deepEqual(tail.all.map((m) => m.epoch), [1, 2, 3]);

  // A resume rewrites the file (atomically, so a new inode) keeping epochs 1..2, then appends epoch 3 again.
  writeFileSync(join(dir, 'tmp'), line(metrics(1)) + line(metrics(2)) + line({ ...metrics(3), testAcc: 0.9 }));
  renameSync(join(dir, 'tmp'), path);
  const after = tail.read();
  assert.equal(after.reset, true);
  assert.deepEqual(after.added.map((m) => m.epoch), [1, 2, 3]);
  assert.equal(tail.all.length, 3);
  assert.equal(tail.all[2]!.testAcc, 0.9);
});

test('tracker: a running run with a live pid stays running and its epochs arrive as they are written', () => {
  const runsDir = mkdtempSync(join(tmpdir(), 'cellscope-runs-'));
  const alivePids = new Set([4242]);
  const alive: TrainerAliveCheck = (r) => alivePids.has(r.pid);
  writeRecord(runsDir, record('20250101-000000-G'));
  mkdirSync(join(runsDir, 'not-a-run'));
  writeFileSync(join(runsDir, 'queue.json'), '{}');

  const tracker = new RunTracker(runsDir, alive);
  const first = tracker.scan();
  assert.deepEqual(first.map((c) => [c.id, c.added, c.statusChanged]), [['20250101-000000-G', true, true]]);
  assert.equal(tracker.get('20250101-000000-G')?.status?.status, 'running');
  assert.equal(tracker.anyRunning(), true);
  assert.deepEqual(tracker.scan(), [], 'nothing changed');

  const dir = join(runsDir, '20250101-000000-G');
  appendFileSync(join(dir, 'metrics.jsonl'), line(metrics(1)));
  writeRecord(runsDir, record('20250101-000000-G', { epochsCompleted: 1, updatedAt: '2025-01-01T00:01:00.000Z' }));
  const grown = tracker.scan();
  assert.equal(grown.length, 1);
  assert.deepEqual(grown[0]!.newMetrics.map((m) => m.epoch), [1]);
  assert.equal(grown[0]!.reset, false);
  assert.equal(tracker.get('20250101-000000-G')?.record?.epochsCompleted, 1);

  appendFileSync(join(dir, 'metrics.jsonl'), line(metrics(2)));
  assert.deepEqual(tracker.scan()[0]!.newMetrics.map((m) => m.epoch), [2]);
  assert.deepEqual(tracker.get('20250101-000000-G')!.metrics.map((m) => m.epoch), [1, 2]);

  // The trainer dies without recording it: the run is failed, and says why.
  alivePids.delete(4242);
  const died = tracker.scan();
  assert.equal(died.length, 1);
  assert.equal(died[0]!.statusChanged, true);
  const status = tracker.get('20250101-000000-G')!.status!;
  assert.equal(status.status, 'failed');
  assert.equal(status.reason, orphanReason(1));
  assert.equal(tracker.anyRunning(), false);
});

test('a fresh tracker (a reloaded window) finds every run with its status and all its metrics', () => {
  const runsDir = mkdtempSync(join(tmpdir(), 'cellscope-runs-'));
  writeRecord(runsDir, record('a-running', { pid: 1 }));
  writeRecord(runsDir, record('b-dead', { pid: 2, epochsCompleted: 0 }));
  writeRecord(runsDir, record('c-done', { pid: 3, status: 'completed', epochsCompleted: 2 }));
  writeRecord(runsDir, record('d-elsewhere', { pid: 4, host: 'another-machine' }));
  appendFileSync(join(runsDir, 'c-done', 'metrics.jsonl'), line(metrics(1)) + line(metrics(2)));
  mkdirSync(join(runsDir, 'e-broken'));
  writeFileSync(join(runsDir, 'e-broken', 'run.json'), '{"format":1');
  const alive: TrainerAliveCheck = (r) => (r.host !== hostname() ? undefined : r.pid === 1);

  const tracker = new RunTracker(runsDir, alive);
  tracker.scan();
  const view = Object.fromEntries(tracker.all().map((r) => [r.id, r]));
  assert.deepEqual(Object.keys(view), ['a-running', 'b-dead', 'c-done', 'd-elsewhere', 'e-broken']);
  assert.equal(view['a-running']!.status?.status, 'running');
  assert.deepEqual(view['b-dead']!.status, { status: 'failed', reason: orphanReason(0), orphaned: true });
  assert.equal(view['c-done']!.status?.status, 'completed');
  assert.equal(view['c-done']!.metrics.length, 2);
  assert.equal(view['d-elsewhere']!.status?.status, 'running', 'another host cannot be asked: keep what the file says');
  assert.match(view['e-broken']!.error ?? '', /not a Cellscope run record|unreadable/);

  rmSync(join(runsDir, 'c-done'), { recursive: true });
  const changes = tracker.scan();
  assert.deepEqual(changes.map((c) => [c.id, c.removed]), [['c-done', true]]);
  assert.equal(tracker.get('c-done'), undefined);
});

test('with a real process: alive while it runs, failed once it is killed (pid and start time checked)', async () => {
  const runsDir = mkdtempSync(join(tmpdir(), 'cellscope-runs-'));
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  try {
    await new Promise((r) => child.once('spawn', r));
    const pid = child.pid!;
    const start = processStartOf(pid);
    writeRecord(runsDir, record('live', { pid, ...(start !== undefined ? { processStart: start } : {}) }));
    // The same pid with another start time is a recycled pid, not our trainer.
    writeRecord(runsDir, record('recycled', { pid, processStart: start === undefined ? undefined : `${start}9` }));
    const tracker = new RunTracker(runsDir, trainerAlive);
    tracker.scan();
    assert.equal(tracker.get('live')!.status!.status, 'running');
    if (start !== undefined) assert.equal(tracker.get('recycled')!.status!.status, 'failed');

    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const changes = tracker.scan();
    assert.ok(changes.some((c) => c.id === 'live' && c.statusChanged));
    assert.equal(tracker.get('live')!.status!.status, 'failed');
  } finally {
    child.kill('SIGKILL');
  }
});
