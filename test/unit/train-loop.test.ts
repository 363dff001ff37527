/**
 * The training loop (src/train/loop.ts) end to end at a tiny size on the wasm
 * backend: an interrupted and resumed run reproduces the uninterrupted one
 * exactly, a blown-up loss fails the run with where it happened, and a
 * damaged data file fails the run naming the file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { builtin } from '../../src/genotype/library.js';
import { syntheticRunConfig } from './run-fixtures.js';
import { METRICS_TIME_FIELDS, parseProgressLine, type MetricsLine, type ProgressLine, type RunConfig } from '../../src/shared/runTypes.js';
import { resumeTraining, startTraining, type TrainGenotype } from '../../src/train/loop.js';
import { readRunRecord } from '../../src/runs/runStore.js';

const DARTS_V2: TrainGenotype = { name: 'DARTS_V2', genotype: builtin('DARTS_V2')!.genotype, ref: 'DARTS_V2', origin: 'built-in' };

/** Two epochs of three steps, with every random part of the recipe switched on. */
const TINY: RunConfig = syntheticRunConfig({
  seed: 7,
  epochs: 2,
  channels: 4,
  layers: 3,
  batchSize: 16,
  trainSubset: 48,
  testSubset: 16,
  gradVarianceBatches: 2,
  auxiliary: true,
  dropPath: 0.3,
  cutout: true,
  cutoutLength: 8,
});

interface Captured {
  lines: ProgressLine[];
  stderr: string;
}

/** An environment that records progress and requests a stop when `stopWhen` says so. */
function environment(stopWhen?: (line: ProgressLine) => boolean) {
  const captured: Captured = { lines: [], stderr: '' };
  const cancel = { requested: false };
  const env = {
    stdout: (text: string) => {
      for (const raw of text.split('\n')) {
        const line = parseProgressLine(raw);
        if (line === undefined) continue;
        captured.lines.push(line);
        if (stopWhen?.(line)) cancel.requested = true;
      }
    },
    stderr: (text: string) => {
      captured.stderr += text;
    },
    handleSignals: false,
    cancel,
    progressIntervalMs: 0,
  };
  return { env, captured };
}

function withoutTime(lines: MetricsLine[]): Record<string, unknown>[] {
  return lines.map((m) => {
    const copy: Record<string, unknown> = { ...m };
    for (const key of METRICS_TIME_FIELDS) delete copy[key];
    return copy;
  });
}

function readMetrics(dir: string): MetricsLine[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsLine);
}

test('cancel mid-epoch or between epochs, then resume: the same metrics as an uninterrupted run', async () => {
  const runs = mkdtempSync(join(tmpdir(), 'cellscope-loop-'));
  const straight = await startTraining(DARTS_V2, TINY, runs, environment().env);
  assert.equal(straight.status, 'completed', straight.reason);
  const expected = readMetrics(straight.dir);
  assert.equal(expected.length, 2);
  for (const m of expected) {
    assert.ok(m.gradVariance !== null && m.gradVariance > 0 && Number.isFinite(m.gradVariance));
    assert.ok(m.gradVarianceRatio !== null && m.gradVarianceRatio > 0);
  }
  assert.equal(expected[0]!.lr, TINY.lr);
  assert.equal(expected[1]!.lr, TINY.lr / 2);
  assert.equal(expected[1]!.dropPath, TINY.dropPath / 2);

  for (const [label, stopWhen] of [
    // In epoch 2, where drop path is on (its probability scales with epoch/epochs: 0 in epoch 1).
    ['mid-epoch (epoch 2, step 2)', (l: ProgressLine) => l.type === 'step' && l.epoch === 2 && l.step === 2],
    ['at the epoch boundary', (l: ProgressLine) => l.type === 'epoch' && l.metrics.epoch === 1],
  ] as const) {
    const first = environment(stopWhen);
    const stopped = await startTraining(DARTS_V2, TINY, runs, first.env);
    assert.equal(stopped.status, 'cancelled', label);
    assert.ok(existsSync(join(stopped.dir, 'checkpoint.bin')), label);
    assert.equal(readRunRecord(stopped.dir).status, 'cancelled');
    assert.deepEqual(first.captured.lines[first.captured.lines.length - 1], { type: 'end', runId: stopped.runId, status: 'cancelled', reason: stopped.reason });

    const second = environment();
    const resumed = await resumeTraining(stopped.dir, DARTS_V2.genotype, second.env);
    assert.equal(resumed.status, 'completed', `${label}: ${resumed.reason}`);
    assert.equal(second.captured.lines[0]!.type === 'start' && second.captured.lines[0]!.resumed, true);
    assert.deepEqual(withoutTime(readMetrics(stopped.dir)), withoutTime(expected), label);
    const record = readRunRecord(stopped.dir);
    assert.equal(record.status, 'completed');
    assert.equal(record.epochsCompleted, 2);
    assert.equal(record.resumes.length, 1);
    assert.equal(record.backend?.backend, 'wasm');
  }
});

test('a loss that stops being finite fails the run: "diverged at epoch E, step S"', async () => {
  const runs = mkdtempSync(join(tmpdir(), 'cellscope-loop-'));
  const { env, captured } = environment();
  // Weight decay alone then moves every weight by lr·wd·p ≈ 3e26·p per step: float32 overflows within a few steps.
  const outcome = await startTraining(DARTS_V2, { ...TINY, lr: 1e30, auxiliary: false, epochs: 3 }, runs, env);
  assert.equal(outcome.status, 'failed');
  assert.match(outcome.reason!, /^diverged at epoch 1, step [1-3]\b/);
  const record = readRunRecord(outcome.dir);
  assert.equal(record.status, 'failed');
  assert.equal(record.reason, outcome.reason);
  assert.equal(record.epochsCompleted, 0);
  assert.deepEqual(captured.lines[captured.lines.length - 1], { type: 'end', runId: outcome.runId, status: 'failed', reason: outcome.reason });
});

test('a truncated data file fails the run with a reason that names the file', async () => {
  const runs = mkdtempSync(join(tmpdir(), 'cellscope-loop-'));
  const data = mkdtempSync(join(tmpdir(), 'cellscope-data-'));
  const folder = join(data, 'fashion-mnist');
  mkdirSync(folder);
  // A valid IDX header for 60,000 28×28 images, and then only 100 bytes of pixels.
  const header = Buffer.from([0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28]);
  const truncated = join(folder, 'train-images-idx3-ubyte.gz');
  writeFileSync(truncated, gzipSync(Buffer.concat([header, Buffer.alloc(100)])));
  const { env } = environment();
  const config: RunConfig = { ...TINY, dataset: 'fashion-mnist', dataDir: data, auxiliary: false, epochs: 1 };
  const outcome = await startTraining(DARTS_V2, config, runs, env);
  assert.equal(outcome.status, 'failed');
  assert.ok(outcome.reason!.includes(truncated), outcome.reason);
  assert.equal(readRunRecord(outcome.dir).reason, outcome.reason);
});
