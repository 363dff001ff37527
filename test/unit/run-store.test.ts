/**
 * Runs on disk (src/train/runStore.ts, src/train/checkpoint.ts) and the pure
 * status logic the CLI and the editor share (src/shared/runTypes.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeCheckpoint, encodeCheckpoint, readCheckpoint, writeCheckpoint } from '../../src/train/checkpoint.js';
import { createRun, findRunDir, listRuns, processStartOf, readRunRecord, trainerAlive } from '../../src/runs/runStore.js';
import { effectiveStatus, parseMetricsLines, parseProgressLine, RUN_FORMAT, type MetricsLine, type RunRecord } from '../../src/shared/runTypes.js';
import { presetSettings } from '../../src/runs/presets.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'cellscope-runs-'));
}

function record(id: string, over: Partial<RunRecord> = {}): RunRecord {
  const now = new Date(2025, 0, 31, 14, 25, 1).toISOString();
  return {
    format: RUN_FORMAT,
    id,
    status: 'running',
    genotype: {
      name: 'DARTS_V2',
      text: 'DARTS_V2 = Genotype(...)',
      ref: 'DARTS_V2',
      origin: 'built-in',
      normal: { width: 3.5, depth: 3 },
      reduce: { width: 4, depth: 2 },
    },
    params: 1234,
    config: { ...presetSettings('quick', 'synthetic'), dataset: 'synthetic', dataDir: null, download: false, preset: 'quick', seed: 0, backend: 'cpu' },
    seed: 0,
    backend: null,
    dataset: null,
    versions: { cellscope: '0.1.0', node: process.version, tfjs: '4.22.0' },
    pid: 999999,
    host: hostname(),
    startedAt: now,
    updatedAt: now,
    epochsCompleted: 0,
    resumes: [],
    ...over,
  };
}

function metrics(epoch: number): MetricsLine {
  return {
    epoch,
    trainLoss: 2 / epoch,
    trainAcc: 0.1 * epoch,
    testLoss: 2.1 / epoch,
    testAcc: 0.09 * epoch,
    gradVariance: 0.5,
    gradVarianceRatio: 2,
    gradMeanNormSq: 0.25,
    lr: 0.025,
    dropPath: 0,
    seconds: 1,
    imagesPerSecond: 100,
    steps: 10,
  };
}

test('a run marked running whose process is gone is reported failed with the last completed epoch; the file is not touched', () => {
  const dead = () => false;
  const alive = () => true;
  const unknown = () => undefined;
  const r = record('a', { epochsCompleted: 3 });
  assert.deepEqual(effectiveStatus(r, dead), { status: 'failed', reason: 'trainer process exited without finishing (last epoch 3)', orphaned: true });
  assert.deepEqual(effectiveStatus(record('b'), dead), { status: 'failed', reason: 'trainer process exited without finishing (no epoch completed)', orphaned: true });
  assert.deepEqual(effectiveStatus(r, alive), { status: 'running', orphaned: false });
  // Another host: nothing can be told, so the file's word stands.
  assert.deepEqual(effectiveStatus(r, unknown), { status: 'running', orphaned: false });
  // Finished runs keep their own outcome whatever the process table says.
  assert.deepEqual(effectiveStatus(record('c', { status: 'completed' }), dead), { status: 'completed', orphaned: false });
  assert.deepEqual(effectiveStatus(record('d', { status: 'failed', reason: 'diverged at epoch 2, step 5' }), dead), {
    status: 'failed',
    reason: 'diverged at epoch 2, step 5',
    orphaned: false,
  });

  const runs = tempDir();
  const handle = createRun(runs, 'DARTS_V2', (id) => record(id, { epochsCompleted: 2 }));
  const before = readFileSync(join(handle.dir, 'run.json'), 'utf8');
  const mtime = statSync(join(handle.dir, 'run.json')).mtimeMs;
  const listed = listRuns(runs, dead);
  assert.equal(listed.length, 1);
  assert.equal(listed[0]!.effective!.status, 'failed');
  assert.equal(listed[0]!.effective!.reason, 'trainer process exited without finishing (last epoch 2)');
  assert.equal(readFileSync(join(handle.dir, 'run.json'), 'utf8'), before);
  assert.equal(statSync(join(handle.dir, 'run.json')).mtimeMs, mtime);
});

test('the real liveness check: this process is alive, an exited child and a recycled pid are not', () => {
  const self = { pid: process.pid, host: hostname(), processStart: processStartOf('self') };
  assert.equal(trainerAlive(self), true);
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  const deadPid = Number(child.stdout.trim());
  assert.equal(trainerAlive({ pid: deadPid, host: hostname() }), false);
  if (self.processStart !== undefined) {
    // Same pid, different start time: another process now owns the number.
    assert.equal(trainerAlive({ ...self, processStart: String(Number(self.processStart) + 1) }), false);
  }
  assert.equal(trainerAlive({ ...self, host: `${hostname()}-elsewhere` }), undefined);
});

test('run directories: sortable unique ids, atomic run.json updates, lookup by id, prefix and path', () => {
  const runs = tempDir();
  const at = new Date(2025, 0, 31, 14, 25, 1);
  const a = createRun(runs, 'DARTS_V2~connections:3', (id) => record(id), at);
  const b = createRun(runs, 'DARTS_V2~connections:3', (id) => record(id), at);
  assert.equal(a.id, '20250131-142501-DARTS_V2_connections_3');
  assert.equal(b.id, '20250131-142501-DARTS_V2_connections_3-2');
  assert.equal(readRunRecord(b.dir).id, b.id);

  b.update({ status: 'failed', reason: 'boom', epochsCompleted: 1 });
  const reread = readRunRecord(b.dir);
  assert.equal(reread.status, 'failed');
  assert.equal(reread.reason, 'boom');
  assert.equal(reread.genotype.name, 'DARTS_V2');
  // No temporary files left behind by the atomic writes.
  assert.deepEqual(readdirSync(b.dir).sort(), ['run.json']);

  assert.equal(findRunDir(a.id, runs, '/'), a.dir);
  assert.equal(findRunDir(b.dir, '/nonexistent', '/'), b.dir);
  assert.throws(() => findRunDir('20250131', runs, '/'), /matches 2 runs/);
  assert.throws(() => findRunDir('nope', runs, '/'), /no run 'nope'/);

  writeFileSync(join(a.dir, 'run.json'), '{"format": 1, "id": ');
  const listed = listRuns(runs, () => true);
  assert.equal(listed.length, 2);
  assert.match(listed[0]!.error!, /run\.json: unreadable/);
  assert.equal(listed[1]!.record!.status, 'failed');
});

test('metrics.jsonl: appended per epoch, a line cut by a crash is skipped, truncation keeps checkpointed epochs', () => {
  const runs = tempDir();
  const run = createRun(runs, 'X', (id) => record(id));
  run.appendMetrics(metrics(1));
  run.appendMetrics(metrics(2));
  run.appendMetrics(metrics(3));
  appendFileSync(join(run.dir, 'metrics.jsonl'), '{"epoch": 4, "trainLo');
  assert.deepEqual(run.readMetrics().map((m) => m.epoch), [1, 2, 3]);
  assert.deepEqual(run.truncateMetrics(2).map((m) => m.epoch), [1, 2]);
  assert.deepEqual(parseMetricsLines(readFileSync(join(run.dir, 'metrics.jsonl'), 'utf8')), [metrics(1), metrics(2)]);
  run.log('epoch 1 done\nsecond line');
  const log = readFileSync(join(run.dir, 'log.txt'), 'utf8').split('\n');
  assert.match(log[0]!, /^\d{4}-\d\d-\d\dT.* epoch 1 done$/);
  assert.match(log[1]!, / second line$/);
});

test('checkpoints round-trip exactly and refuse damaged or truncated files', () => {
  const arrays = new Map([
    ['param:stem.0.weight', { shape: [3, 3, 1, 2], data: Float32Array.from({ length: 18 }, (_, i) => Math.fround(i * 0.1 - 0.7)) }],
    ['buffer:bn.running_var', { shape: [2], data: Float32Array.from([1e-30, 3.5e38]) }],
    ['momentum:classifier.bias', { shape: [1], data: Float32Array.from([-0]) }],
  ]);
  const meta = { epoch: 3, step: 7, rng: { key: [1, 2, 3], pos: 624 } };
  const bytes = encodeCheckpoint({ meta, arrays });
  const back = decodeCheckpoint<typeof meta>(bytes);
  assert.deepEqual(back.meta, meta);
  assert.deepEqual([...back.arrays.keys()], [...arrays.keys()]);
  for (const [name, a] of arrays) {
    assert.deepEqual(back.arrays.get(name)!.shape, a.shape);
    assert.deepEqual(Buffer.from(back.arrays.get(name)!.data.buffer), Buffer.from(a.data.buffer), name);
  }

  const dir = tempDir();
  const path = join(dir, 'checkpoint.bin');
  writeCheckpoint(path, { meta, arrays });
  assert.deepEqual(readCheckpoint<typeof meta>(path).meta, meta);
  assert.deepEqual(readdirSync(dir), ['checkpoint.bin']);

  const flipped = Buffer.from(bytes);
  flipped[flipped.length - 40] ^= 1;
  assert.throws(() => decodeCheckpoint(flipped, 'ck'), /ck: checksum mismatch/);
  assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 9), 'ck'), /ck: checksum mismatch/);
  assert.throws(() => decodeCheckpoint(Buffer.from('hello world, not a checkpoint at all'), 'ck'), /ck: not a Cellscope checkpoint/);
  assert.throws(() => readCheckpoint(join(dir, 'missing.bin')), /missing\.bin: cannot read/);
});

test('progress lines parse back; anything else on stdout is ignored', () => {
  assert.deepEqual(parseProgressLine('{"type":"end","runId":"r","status":"cancelled"}'), { type: 'end', runId: 'r', status: 'cancelled' });
  assert.equal(parseProgressLine('{"type":"epoch","runId":"r","metrics":{"epoch":1}}'), undefined);
  assert.equal(parseProgressLine('{"type":"epoch","runId":"r","epochs":2,"metrics":' + JSON.stringify(metrics(1)) + ',"etaSeconds":3}')?.type, 'epoch');
  assert.equal(parseProgressLine('warning: something'), undefined);
  assert.equal(parseProgressLine('{"type":"step"'), undefined);
});
