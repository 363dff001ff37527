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
import { parseProgressLine, ProbeActivity, progressActivity, type RunConfig } from '../../src/shared/runTypes.js';
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

  // The editor's training notification: the launch log's lines say when a run is inside its probe, and when it left it.
  const activity = new ProbeActivity();
  assert.equal(activity.feed([step!.runId === 'r1' ? JSON.stringify(step) : '']), false);
  assert.equal(activity.feed(['{"type":"probe","runId":"r1","probe":"hessian","epoch":2,"epochs":3}', 'not json', '{"type":"probe","runId":"r1","probe":"<b>","epoch":2,"epochs":3}']), true);
  assert.equal(activity.activity('r1'), 'smoothness probe, epoch 2/3');
  assert.equal(activity.activity('r2'), undefined);
  assert.equal(activity.feed(['{"type":"step","runId":"r2","epoch":1,"epochs":3,"step":1,"steps":9,"loss":1,"imagesPerSecond":1,"etaSeconds":null}']), false, 'another run');
  assert.equal(activity.activity('r1'), 'smoothness probe, epoch 2/3');
  assert.equal(activity.feed([`{"type":"epoch","runId":"r1","epochs":3,"metrics":${JSON.stringify({ epoch: 2, trainLoss: 1, trainAcc: 0.5, testLoss: 1, testAcc: 0.5, gradVariance: null, gradVarianceRatio: null, gradMeanNormSq: null, lr: 0.1, dropPath: 0, seconds: 1, imagesPerSecond: 1, steps: 9 })},"etaSeconds":1}`]), true);
  assert.equal(activity.activity('r1'), undefined, 'the epoch line ends the probe');
});

const TRAIN_TINY = [
  '--dataset', 'synthetic', '--preset', 'quick', '--epochs', '2', '--layers', '3', '--channels', '4', '--batch', '8',
  '--train-subset', '16', '--test-subset', '8', '--grad-variance-batches', '0', '--backend', 'wasm',
];

test('a tiny experiment with --hessian-every 1: both entries\' runs have hessian-epochs.jsonl, the trainer announced each probe, the report plots λ_max per epoch by width beside the claim', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cellscope-he-e2e-'));
  const dir = join(root, 'exp');
  const r = await cli(
    ['experiment', 'DARTS_V2', '--variants', '1', '--widths', '2', '--no-landscape', '--no-hessian', '--hessian-every', '1', '--hessian-iterations', '2', '--trace-samples', '0', '--hessian-batches', '1', ...TRAIN_TINY, '--dir', dir],
    root,
  );
  assert.equal(r.code, 0, r.err.slice(-2000));
  const file = readExperiment(dir)!;
  assert.deepEqual(file.config.hessianEpochs, { every: 1, iterations: 2, traceSamples: 0, batches: 1 });
  assert.equal(file.hessian, null, '--no-hessian: no end-of-run probe');
  assert.equal(file.entries.length, 2);
  assert.deepEqual(file.entries.map((e) => e.width), [3.5, 2]);
  for (const entry of file.entries) {
    const runDir = join(dir, 'runs', entry.runId!);
    assert.deepEqual(readRunRecord(runDir).config.hessianEpochs, file.config.hessianEpochs, `${entry.name} trained with the probe`);
    assert.ok(existsSync(join(runDir, HESSIAN_EPOCHS_FILE)), `${entry.name} has ${HESSIAN_EPOCHS_FILE}`);
    const parsed = parseHessianEpochsText(readFileSync(join(runDir, HESSIAN_EPOCHS_FILE), 'utf8'));
    assert.deepEqual(parsed.problems, []);
    assert.deepEqual(parsed.lines.map((l) => [l.epoch, l.iterations <= 2, l.trace, l.batches]), [[1, true, null, 1], [2, true, null, 1]]);
    assert.ok(!existsSync(join(runDir, 'hessian.json')));
  }
  // The trainer said when each probe ran: 2 entries × 2 epochs, each before its epoch's line.
  const lines = r.out.split('\n').map((l) => parseProgressLine(l)).filter((l) => l !== undefined);
  const probes = lines.filter((l) => l.type === 'probe');
  assert.deepEqual(probes.map((p) => [p.runId, p.epoch, p.epochs]), file.entries.flatMap((e) => [[e.runId, 1, 2], [e.runId, 2, 2]]));
  for (const p of probes) {
    const at = lines.indexOf(p);
    assert.ok(lines.slice(at + 1).some((l) => l.type === 'epoch' && l.runId === p.runId && l.metrics.epoch === p.epoch), 'the epoch line follows its probe');
  }

  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  const section = /<section id="hessian-epochs">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
  assert.match(section, /data-chart="hessian-epochs" data-series="2" data-points="4"/);
  assert.equal((section.match(/<g class="series" data-label="[^"]*" data-points="2">/g) ?? []).length, 2);
  assert.ok(section.includes(`The paper: ${SMOOTHNESS_CLAIM.replace(/'/g, '&#39;')}`));
  assert.match(section, /<p class="verdict">Per epoch: the widest group(&#39;|')s mean λ_max \(3\.5c, 1 run\) was below the narrowest group(&#39;|')s \(2c, 1 run\) at [012] of 2 epochs probed in both/);
  assert.match(section, /<table class="hessian-epochs" data-rows="2">/);
  assert.doesNotMatch(section, /No per-epoch Hessian/);

  // What a Slurm array task or a device worker runs (`experiment task DIR --entry K`) trains from experiment.json: the probe comes along.
  const dir2 = join(root, 'exp2');
  const plan: ExperimentPlan = { ref: 'DARTS_V2', name: 'DARTS_V2', genotype: builtin('DARTS_V2')!.genotype, variants: 0, config: file.config, landscape: null, hessian: null };
  openExperiment(dir2, plan);
  const task = await cli(['experiment', 'task', dir2, '--entry', '0'], root);
  assert.equal(task.code, 0, task.err.slice(-2000));
  const taskRun = join(dir2, 'runs', readExperiment(dir2)!.entries[0]!.runId!);
  assert.equal(parseHessianEpochsText(readFileSync(join(taskRun, HESSIAN_EPOCHS_FILE), 'utf8')).lines.length, 2);
  assert.equal(task.out.split('\n').map((l) => parseProgressLine(l)).filter((l) => l?.type === 'probe').length, 2);
});
