/**
 * The smoothness probe during training (`cellscope train --hessian-every N`):
 * the trainer appends one hessian-epochs.jsonl line per probed epoch, records
 * the settings in run.json's config, trains exactly as it does without the
 * probe (the probe moves no weight, statistic or random stream), and an
 * interrupted and resumed run writes the same lines as an uninterrupted one
 * (a line past the checkpoint, left by a crash, is computed again, once).
 * A tiny network on synthetic data: seconds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtin } from '../../src/genotype/library.js';
import { syntheticRunConfig } from './run-fixtures.js';
import { HESSIAN_EPOCH_DEFAULTS, HESSIAN_EPOCHS_FILE, parseHessianEpochsText, type HessianEpochLine } from '../../src/shared/landscapeTypes.js';
import { METRICS_TIME_FIELDS, parseProgressLine, type MetricsLine, type ProgressLine, type RunConfig } from '../../src/shared/runTypes.js';
import { resumeTraining, startTraining, type TrainGenotype } from '../../src/train/loop.js';
import { readRunRecord } from '../../src/runs/runStore.js';
import { cli } from './cli-helpers.js';
import { parseArgs } from '../../src/cli/args.js';
import { configFromArgs, TRAIN_FLAGS } from '../../src/cli/commands/train.js';

const DARTS_V2: TrainGenotype = { name: 'DARTS_V2', genotype: builtin('DARTS_V2')!.genotype, ref: 'DARTS_V2', origin: 'built-in' };

/** Three epochs of three steps with drop path and cutout on (the random parts a probe could disturb). */
const TINY: RunConfig = syntheticRunConfig({
  seed: 11,
  epochs: 3,
  channels: 4,
  layers: 3,
  batchSize: 16,
  trainSubset: 48,
  testSubset: 16,
  gradVarianceBatches: 0,
  auxiliary: false,
  dropPath: 0.3,
  cutout: true,
  cutoutLength: 8,
});

const PROBED: RunConfig = { ...TINY, hessianEpochs: { every: 2, iterations: 3, traceSamples: 1, batches: 1 } };

function environment(stopWhen?: (line: ProgressLine) => boolean) {
  const cancel = { requested: false };
  return {
    stdout: (text: string) => {
      for (const raw of text.split('\n')) {
        const line = parseProgressLine(raw);
        if (line !== undefined && stopWhen?.(line)) cancel.requested = true;
      }
    },
    stderr: () => {},
    handleSignals: false,
    cancel,
    progressIntervalMs: 0,
  };
}

function withoutTime(lines: MetricsLine[]): Record<string, unknown>[] {
  return lines.map((m) => {
    const copy: Record<string, unknown> = { ...m };
    for (const key of METRICS_TIME_FIELDS) delete copy[key];
    return copy;
  });
}

function readMetrics(dir: string): MetricsLine[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as MetricsLine);
}

function readProbeLines(dir: string): HessianEpochLine[] {
  const parsed = parseHessianEpochsText(readFileSync(join(dir, HESSIAN_EPOCHS_FILE), 'utf8'));
  assert.deepEqual(parsed.problems, []);
  return parsed.lines;
}

/** The lines without their one timing field. */
function probeValues(lines: HessianEpochLine[]): Omit<HessianEpochLine, 'seconds'>[] {
  return lines.map(({ seconds: _seconds, ...rest }) => rest);
}

test('--hessian-every: a line per probed epoch (every N-th and the last), training unchanged, resume writes the same lines', async () => {
  const runs = mkdtempSync(join(tmpdir(), 'cellscope-hessian-epochs-'));
  const plain = await startTraining(DARTS_V2, TINY, runs, environment());
  assert.equal(plain.status, 'completed', plain.reason);
  assert.equal(existsSync(join(plain.dir, HESSIAN_EPOCHS_FILE)), false, 'off by default');

  const probed = await startTraining(DARTS_V2, PROBED, runs, environment());
  assert.equal(probed.status, 'completed', probed.reason);
  assert.deepEqual(readRunRecord(probed.dir).config.hessianEpochs, PROBED.hessianEpochs);
  const lines = readProbeLines(probed.dir);
  assert.deepEqual(lines.map((l) => l.epoch), [2, 3]);
  for (const l of lines) {
    assert.ok(Number.isFinite(l.topEigenvalue) && l.topEigenvalue !== 0, `λ_max ${l.topEigenvalue}`);
    assert.ok(l.iterations >= 1 && l.iterations <= 3);
    assert.equal(l.traceSamples, 1);
    assert.ok(l.trace !== null && Number.isFinite(l.trace));
    assert.equal(l.batches, 1);
    assert.equal(l.batchSize, 16);
    assert.ok(l.seconds >= 0);
  }
  // The probe disturbs nothing: the same metrics, epoch by epoch, as the run without it.
  assert.deepEqual(withoutTime(readMetrics(probed.dir)), withoutTime(readMetrics(plain.dir)));

  // Stopped after epoch 2's probe and metrics, then resumed: the same lines, none twice.
  const stopped = await startTraining(DARTS_V2, PROBED, runs, environment((l) => l.type === 'epoch' && l.metrics.epoch === 2));
  assert.equal(stopped.status, 'cancelled', stopped.reason);
  assert.deepEqual(readProbeLines(stopped.dir).map((l) => l.epoch), [2]);
  // As if the trainer had died after appending epoch 3's probe but before its checkpoint: resume computes it again, once.
  appendFileSync(join(stopped.dir, HESSIAN_EPOCHS_FILE), `${JSON.stringify({ ...lines[1]!, topEigenvalue: 12345 })}\n`);
  const resumed = await resumeTraining(stopped.dir, DARTS_V2.genotype, environment());
  assert.equal(resumed.status, 'completed', resumed.reason);
  assert.deepEqual(probeValues(readProbeLines(stopped.dir)), probeValues(lines));
  assert.deepEqual(withoutTime(readMetrics(stopped.dir)), withoutTime(readMetrics(plain.dir)));
});

test('train: the probe\'s flags without --hessian-every are refused', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cellscope-hessian-flags-'));
  const result = await cli(['train', 'DARTS_V2', '--dataset', 'synthetic', '--hessian-iterations', '5'], cwd);
  assert.equal(result.code, 2, result.err);
  assert.match(result.err, /--hessian-iterations sets the per-epoch Hessian probe: give --hessian-every N with it/);
  assert.equal(existsSync(join(cwd, 'runs')), false);
});

test('train flags: --hessian-every N with small defaults becomes config.hessianEpochs; without it, nothing', () => {
  const config = (argv: string[]) => configFromArgs(parseArgs(argv, TRAIN_FLAGS), process.cwd());
  assert.deepEqual(config(['DARTS_V2', '--dataset', 'synthetic', '--hessian-every', '2', '--trace-samples', '0']).hessianEpochs, {
    every: 2,
    iterations: HESSIAN_EPOCH_DEFAULTS.iterations,
    traceSamples: 0,
    batches: HESSIAN_EPOCH_DEFAULTS.batches,
  });
  assert.equal('hessianEpochs' in config(['DARTS_V2', '--dataset', 'synthetic']), false);
});
