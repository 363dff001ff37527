/**
 * Run files are untrusted input (a runs folder is shared between people and
 * machines): a run.json with a missing or mistyped field, a metrics line that
 * is not one, or a dangling link in the runs folder is shown as broken with
 * the file and field, and every other run is still listed and reported
 * (src/shared/shape.ts, the shapes in src/shared/runTypes.ts and
 * experimentTypes.ts, src/runs/runStore.ts, the editor's RunTracker).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli-helpers.js';
import { listRuns } from '../../src/runs/runStore.js';
import { RunTracker } from '../../src/extension/runs/reattach.js';
import { presetSettings } from '../../src/runs/presets.js';
import { parseMetricsText, RUN_FORMAT, runRecordProblem, type MetricsLine, type RunRecord } from '../../src/shared/runTypes.js';
import { experimentFileProblem } from '../../src/shared/experimentTypes.js';
import { hessianFileProblem, parseHessianEpochsText } from '../../src/shared/landscapeTypes.js';
import { readRunProbes } from '../../src/runs/reportRuns.js';

function record(id: string): RunRecord {
  const now = '2025-01-31T14:25:01.000Z';
  return {
    format: RUN_FORMAT,
    id,
    status: 'completed',
    genotype: { name: 'G', text: 'G = ...', ref: 'G', origin: 'built-in', normal: { width: 3, depth: 2 }, reduce: { width: 2, depth: 3 } },
    params: 10,
    config: { ...presetSettings('quick', 'synthetic'), dataset: 'synthetic', dataDir: null, download: false, preset: 'quick', seed: 0, backend: 'cpu' },
    seed: 0,
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
  };
}

function metrics(epoch: number): MetricsLine {
  return {
    epoch,
    trainLoss: 2 / epoch,
    trainAcc: 0.2,
    testLoss: 2.2 / epoch,
    testAcc: 0.25,
    gradVariance: 0.1,
    gradVarianceRatio: 1,
    gradMeanNormSq: 0.1,
    lr: 0.025,
    dropPath: 0,
    seconds: 3,
    imagesPerSecond: 50,
    steps: 4,
  };
}

function writeRun(runsDir: string, id: string, value: unknown, metricsText = `${JSON.stringify(metrics(1))}\n`): void {
  mkdirSync(join(runsDir, id), { recursive: true });
  writeFileSync(join(runsDir, id, 'run.json'), JSON.stringify(value));
  writeFileSync(join(runsDir, id, 'metrics.jsonl'), metricsText);
}

/** A runs folder with one good run and one broken thing of each kind. */
function hostileRunsFolder(): string {
  const cwd = mkdtempSync(join(tmpdir(), 'cellscope-validation-'));
  const runs = join(cwd, 'runs');
  writeRun(runs, '1-good', record('1-good'), `${JSON.stringify(metrics(1))}\n{"epoch":2,"trainLoss":"low"}\n${JSON.stringify(metrics(2))}\n`);
  const { normal: _normal, ...noNormal } = record('2-no-normal').genotype;
  writeRun(runs, '2-no-normal', { ...record('2-no-normal'), genotype: noNormal });
  writeRun(runs, '3-name-number', { ...record('3-name-number'), genotype: { ...record('3-name-number').genotype, name: 7 } });
  writeRun(runs, '4-group-pid', { ...record('4-group-pid'), status: 'running', pid: -1 });
  symlinkSync(join(cwd, 'gone'), join(runs, '5-dangling'));
  return cwd;
}

test('runs lists every good run and names the file and field of each broken one', async () => {
  const cwd = hostileRunsFolder();
  const table = await cli(['runs'], cwd);
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, /1-good\s+completed\s+G/);
  assert.match(table.out, /2-no-normal: .*2-no-normal\/run\.json: .*field genotype\.normal: expected an object, found nothing/);
  assert.match(table.out, /3-name-number: .*field genotype\.name: expected a string, found the number 7/);
  assert.match(table.out, /4-group-pid: .*field pid: expected a positive whole number, found the number -1/);
  assert.match(table.out, /5-dangling: .*5-dangling: a symbolic link to a missing target/);
  // The bad metrics line is left out and named; the good lines around it stay.
  assert.match(table.out, /1-good: skipped .*metrics\.jsonl line 2: field trainLoss: expected a number, found the string "low"/);

  const json = JSON.parse((await cli(['runs', '--json'], cwd)).out) as Array<{ id: string; error?: string; lastMetrics?: MetricsLine }>;
  assert.deepEqual(json.map((r) => r.id), ['1-good', '2-no-normal', '3-name-number', '4-group-pid', '5-dangling']);
  assert.equal(json[0]!.lastMetrics?.epoch, 2);
  assert.ok(json.slice(1).every((r) => typeof r.error === 'string'));
});

test('report of a runs folder with broken runs reports the good ones and names the others', async () => {
  const cwd = hostileRunsFolder();
  const out = join(cwd, 'report.html');
  const result = await cli(['report', '--out', out], cwd);
  assert.equal(result.code, 0, result.err);
  assert.ok(existsSync(out));
  assert.match(readFileSync(out, 'utf8'), /1-good/);
  assert.match(result.err, /skipping 2-no-normal: .*field genotype\.normal/);
  assert.match(result.err, /skipping 5-dangling: /);
});

test('the editor\'s tracker shows broken runs with their reason beside the good one', () => {
  const cwd = hostileRunsFolder();
  const tracker = new RunTracker(join(cwd, 'runs'), () => true);
  tracker.scan();
  const byId = Object.fromEntries(tracker.all().map((r) => [r.id, r]));
  assert.equal(byId['1-good']?.record?.genotype.name, 'G');
  assert.deepEqual(byId['1-good']?.metrics.map((m) => m.epoch), [1, 2]);
  assert.match(byId['2-no-normal']?.error ?? '', /field genotype\.normal: expected an object/);
  assert.equal(byId['2-no-normal']?.record, undefined);
  assert.match(byId['4-group-pid']?.error ?? '', /field pid/);
  assert.match(byId['5-dangling']?.error ?? '', /symbolic link to a missing target/);
  assert.equal(listRuns(join(cwd, 'runs'), () => true).length, 5);
});

test('the shapes name the first wrong field; a line cut by a crash is not a problem', () => {
  assert.equal(runRecordProblem(record('x')), undefined);
  assert.equal(runRecordProblem({ ...record('x'), format: 2 }), 'format 2 is not one this version reads (1)');
  assert.equal(runRecordProblem({ ...record('x'), config: { ...record('x').config, epochs: '10' } }), 'field config.epochs: expected a whole number ≥ 0, found the string "10"');
  assert.equal(runRecordProblem({ ...record('x'), resumes: [{ at: 'now', pid: 0, fromEpoch: 0, fromStep: 0 }] }), 'field resumes[0].pid: expected a positive whole number, found the number 0');
  assert.match(runRecordProblem({ ...record('x'), id: '../elsewhere' }) ?? '', /^field id: "\.\.\/elsewhere" is not a run id/);
  assert.equal(runRecordProblem([]), 'expected an object, found an array');

  const text = `${JSON.stringify(metrics(1))}\nnot json\n${JSON.stringify({ ...metrics(2), epoch: 0 })}\n${JSON.stringify(metrics(3))}\n{"epoch": 4, "trai`;
  const parsed = parseMetricsText(text);
  assert.deepEqual(parsed.lines.map((m) => m.epoch), [1, 3]);
  assert.deepEqual(parsed.problems, ['line 2: not JSON', 'line 3: field epoch: expected a positive whole number, found the number 0']);

  assert.match(experimentFileProblem({ format: 1 }) ?? '', /^field ref: expected a string, found nothing/);
});

test('probe files are run files too: a broken hessian.json or hessian-epochs.jsonl line is named with its field, the run still listed and its good lines shown', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cellscope-validation-probes-'));
  const runs = join(cwd, 'runs');
  const epochLine = (epoch: number) => ({ epoch, topEigenvalue: 4 / epoch, iterations: 10, converged: true, trace: 12, traceStandardError: 1, traceSamples: 2, batches: 2, batchSize: 16, seconds: 0.5 });
  writeRun(runs, '1-probed', record('1-probed'));
  writeFileSync(
    join(runs, '1-probed', 'hessian-epochs.jsonl'),
    `${JSON.stringify(epochLine(1))}\n${JSON.stringify({ ...epochLine(2), topEigenvalue: null })}\n${JSON.stringify(epochLine(3))}\n{"epoch": 4, "top`,
  );
  // NaN written by JSON.stringify arrives as null: not a number to plot.
  writeFileSync(join(runs, '1-probed', 'hessian.json'), JSON.stringify({ format: 1, runId: '1-probed', epoch: 1, topEigenvalue: null, iterations: 3, converged: false, trace: null, traceSamples: 0, batches: 1, batchSize: 16 }));
  writeRun(runs, '2-plain', record('2-plain'));

  const table = await cli(['runs'], cwd);
  assert.equal(table.code, 0, table.err);
  assert.match(table.out, /1-probed\s+completed\s+G/);
  assert.match(table.out, /2-plain\s+completed\s+G/);
  assert.match(table.out, /1-probed: skipped .*1-probed\/hessian\.json: field topEigenvalue: expected a number, found null/);
  assert.match(table.out, /1-probed: skipped .*hessian-epochs\.jsonl line 2: field topEigenvalue: expected a number, found null/);
  // The last line, cut by a crash, is not a problem.
  assert.doesNotMatch(table.out, /line 4/);

  // What the results panel reads: the good lines, the problems named, no hessian.
  const probes = readRunProbes(join(runs, '1-probed'));
  assert.deepEqual(probes.hessianEpochs.map((l) => l.epoch), [1, 3]);
  assert.equal(probes.hessian, undefined);
  assert.equal(probes.problems.length, 2);
  assert.match(probes.problems[0]!, /hessian\.json: field topEigenvalue: expected a number, found null$/);
  assert.match(probes.problems[1]!, /hessian-epochs\.jsonl line 2: field topEigenvalue/);
  assert.deepEqual(readRunProbes(join(runs, '2-plain')), { hessianEpochs: [], problems: [] });

  assert.equal(hessianFileProblem({ format: 1, runId: 'r', epoch: 1, topEigenvalue: 2, iterations: 3, converged: true, trace: '5', traceSamples: 1, batches: 1, batchSize: 8 }), 'field trace: expected a number, found the string "5"');
  assert.deepEqual(parseHessianEpochsText(`${JSON.stringify({ ...epochLine(1), epoch: 0 })}\n`).problems, ['line 1: field epoch: expected a positive whole number, found the number 0']);
  // run.json's per-epoch probe settings are checked as the rest of the config.
  assert.equal(runRecordProblem({ ...record('x'), config: { ...record('x').config, hessianEpochs: { every: 0, iterations: 10, traceSamples: 2, batches: 2 } } }), 'field config.hessianEpochs.every: expected a positive whole number, found the number 0');
});
