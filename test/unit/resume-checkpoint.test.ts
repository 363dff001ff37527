/**
 * `cellscope resume` of a run whose checkpoint is missing or unreadable is
 * refused with the file named, changing nothing (it used to restart from
 * epoch 0 over the recorded epochs); `--from-scratch` restarts it
 * deliberately, its earlier metrics and checkpoint moved into a
 * set-aside-<time>/ folder of the run, not deleted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './cli-helpers.js';
import { builtin } from '../../src/genotype/library.js';
import { printGenotype } from '../../src/genotype/printer.js';
import { presetSettings } from '../../src/runs/presets.js';
import { createRun, readRunRecord } from '../../src/runs/runStore.js';
import { RUN_FORMAT, type MetricsLine, type RunConfig } from '../../src/shared/runTypes.js';

const config: RunConfig = {
  ...presetSettings('quick', 'synthetic'),
  dataset: 'synthetic',
  dataDir: null,
  download: false,
  preset: 'quick',
  seed: 5,
  backend: 'wasm',
  epochs: 1,
  layers: 3,
  channels: 4,
  batchSize: 16,
  trainSubset: 32,
  testSubset: 16,
  gradVarianceBatches: 0,
};

function metrics(epoch: number): MetricsLine {
  return { epoch, trainLoss: 2, trainAcc: 0.1, testLoss: 2, testAcc: 0.1, gradVariance: null, gradVarianceRatio: null, gradMeanNormSq: null, lr: 0.025, dropPath: 0, seconds: 1, imagesPerSecond: 10, steps: 2 };
}

/** A cancelled DARTS_V2 run with one epoch recorded; `checkpoint` is what checkpoint.bin holds (undefined: none). */
function cancelledRun(checkpoint: Buffer | undefined): { cwd: string; id: string; dir: string } {
  const cwd = mkdtempSync(join(tmpdir(), 'cellscope-resume-checkpoint-'));
  const now = new Date().toISOString();
  const darts = builtin('DARTS_V2')!.genotype;
  const run = createRun(join(cwd, 'runs'), 'DARTS_V2', (id) => ({
    format: RUN_FORMAT,
    id,
    status: 'cancelled',
    reason: 'cancelled after epoch 1',
    genotype: { name: 'DARTS_V2', text: printGenotype('DARTS_V2', darts), ref: 'DARTS_V2', origin: 'built-in', normal: { width: 3.5, depth: 3 }, reduce: { width: 4, depth: 2 } },
    params: 1000,
    config: { ...config, epochs: 2 },
    seed: 5,
    backend: null,
    dataset: null,
    versions: { cellscope: '0', node: process.version, tfjs: '4' },
    pid: 4242,
    host: hostname(),
    startedAt: now,
    updatedAt: now,
    finishedAt: now,
    epochsCompleted: 1,
    resumes: [],
  }));
  writeFileSync(join(run.dir, 'metrics.jsonl'), `${JSON.stringify(metrics(1))}\n`);
  if (checkpoint !== undefined) writeFileSync(join(run.dir, 'checkpoint.bin'), checkpoint);
  return { cwd, id: run.id, dir: run.dir };
}

/** Every file of the run folder with its bytes. */
function contents(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name)).toString('base64')]));
}

test('resume refuses a run whose checkpoint is missing or unreadable, naming the file, and changes nothing', async () => {
  for (const [what, bytes, why] of [
    ['missing', undefined, /checkpoint\.bin: missing, but run .* has 1 epoch recorded/],
    ['damaged', Buffer.from('CELLSCOPE-CHECKPOINT-1\nnot really'), /checkpoint\.bin: checksum mismatch|checkpoint\.bin: not a Cellscope checkpoint/],
  ] as const) {
    const { cwd, id, dir } = cancelledRun(bytes);
    const before = contents(dir);
    const result = await cli(['resume', id], cwd);
    assert.equal(result.code, 1, `${what}: ${result.err}`);
    assert.match(result.err, why, what);
    assert.match(result.err, new RegExp(`cellscope resume ${id} --from-scratch`), what);
    assert.equal(result.out, '', what);
    assert.deepEqual(contents(dir), before, what);
  }
});

test('resume --from-scratch restarts from epoch 0 with the earlier metrics and checkpoint set aside', async () => {
  const damaged = Buffer.from('CELLSCOPE-CHECKPOINT-1\nnot really');
  const { cwd, id, dir } = cancelledRun(damaged);
  const oldMetrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8');
  const result = await cli(['resume', id, '--from-scratch'], cwd);
  assert.equal(result.code, 0, result.err);
  const record = readRunRecord(dir);
  assert.equal(record.status, 'completed');
  assert.equal(record.epochsCompleted, 2);
  const aside = record.resumes[0]?.setAside;
  assert.match(aside ?? '', /^set-aside-\d{4}-\d\d-\d\dT/);
  assert.equal(record.resumes[0]?.fromEpoch, 0);
  assert.equal(readFileSync(join(dir, aside!, 'metrics.jsonl'), 'utf8'), oldMetrics);
  assert.deepEqual(readFileSync(join(dir, aside!, 'checkpoint.bin')), damaged);
  const epochs = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as MetricsLine).epoch);
  assert.deepEqual(epochs, [1, 2]);
  assert.ok(existsSync(join(dir, 'checkpoint.bin')));
  assert.match(readFileSync(join(dir, 'log.txt'), 'utf8'), new RegExp(`restarting from scratch; the previous metrics, checkpoint and landscape are in ${aside}/`));
});
