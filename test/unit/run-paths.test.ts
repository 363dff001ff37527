/**
 * Run ids read from files never reach outside the runs folder: every path
 * built from one goes through runDirOf (src/runs/runPaths.ts), and the files
 * that carry run ids (experiment.json, queue.json, run.json) are refused when
 * one is `..`, a path or absolute. A hostile experiment.json leaves a run
 * folder outside the experiment untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtin } from '../../src/genotype/library.js';
import { presetSettings } from '../../src/runs/presets.js';
import { runDirOf, RunIdError } from '../../src/runs/runPaths.js';
import { experimentReportInput } from '../../src/runs/reportRuns.js';
import { parseQueue } from '../../src/extension/runs/queue.js';
import { EXPERIMENT_FILE, type ExperimentFile } from '../../src/shared/experimentTypes.js';
import { RUN_FORMAT, type RunConfig, type RunRecord } from '../../src/shared/runTypes.js';
import { ExperimentError, planEntries, runExperiment } from '../../src/train/experiment.js';

const darts = builtin('DARTS_V2')!.genotype;

const config: RunConfig = {
  ...presetSettings('quick', 'synthetic'),
  dataset: 'synthetic',
  dataDir: null,
  download: false,
  preset: 'quick',
  seed: 0,
  backend: 'wasm',
  epochs: 1,
  layers: 3,
  channels: 4,
  batchSize: 8,
  trainSubset: 16,
  testSubset: 12,
  gradVarianceBatches: 0,
};

function cancelledRun(id: string): RunRecord {
  const now = '2025-01-31T14:25:01.000Z';
  return {
    format: RUN_FORMAT,
    id,
    status: 'cancelled',
    reason: 'cancelled at epoch 1, step 1',
    genotype: { name: 'DARTS_V2', text: planEntries({ name: 'DARTS_V2', genotype: darts, variants: 0 }).entries[0]!.text, ref: 'DARTS_V2', origin: 'experiment', normal: { width: 3.5, depth: 3 }, reduce: { width: 4, depth: 2 } },
    params: 10,
    config,
    seed: 0,
    backend: null,
    dataset: null,
    versions: { cellscope: '0', node: process.version, tfjs: '4' },
    pid: 4242,
    host: hostname(),
    startedAt: now,
    updatedAt: now,
    epochsCompleted: 0,
    resumes: [],
  };
}

/** Every file under `dir` with its bytes and modification time. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    out[name] = `${statSync(path).mtimeMs} ${readFileSync(path, 'utf8')}`;
  }
  return out;
}

test('runDirOf accepts run ids and refuses anything that is not one folder inside the runs folder', () => {
  assert.equal(runDirOf('/w/runs', '20250131-142501-DARTS_V2-2'), join('/w/runs', '20250131-142501-DARTS_V2-2'));
  assert.equal(runDirOf('/w/runs', 'a..b'), join('/w/runs', 'a..b'));
  for (const id of ['..', '.', '../x', '../../etc', '/etc', 'a/b', 'a\\b', '', '.hidden', 'x\0y', 'x'.repeat(201)]) {
    assert.throws(() => runDirOf('/w/runs', id, 'experiment.json entries[0].runId'), (e: unknown) => e instanceof RunIdError && /^experiment\.json entries\[0\]\.runId: .*refusing to use it as a folder of \/w\/runs$/.test(e.message), id);
  }
});

test('a hostile experiment.json is refused before anything is read or written outside the experiment', async () => {
  const root = mkdtempSync(join(tmpdir(), 'cellscope-paths-'));
  // A run folder outside the experiment, resumable as far as its run.json goes.
  const outside = join(root, 'outside-run');
  mkdirSync(outside);
  writeFileSync(join(outside, 'run.json'), JSON.stringify(cancelledRun('outside-run')));
  writeFileSync(join(outside, 'sentinel.txt'), 'must stay as it is\n');
  const before = snapshot(outside);

  const dir = join(root, 'exp');
  mkdirSync(join(dir, 'runs'), { recursive: true });
  const entry = planEntries({ name: 'DARTS_V2', genotype: darts, variants: 0 }).entries[0]!;
  const hostile: ExperimentFile = {
    format: 1,
    ref: 'DARTS_V2',
    architecture: 'DARTS_V2',
    variants: 0,
    widths: [],
    config,
    landscape: null,
    entries: [{ ...entry, runId: '../../outside-run' }],
    createdAt: '2025-01-31T14:25:01.000Z',
    updatedAt: '2025-01-31T14:25:01.000Z',
  };
  writeFileSync(join(dir, EXPERIMENT_FILE), JSON.stringify(hostile));
  const plan = { ref: 'DARTS_V2', name: 'DARTS_V2', genotype: darts, variants: 0, config, landscape: null };
  let out = '';
  await assert.rejects(
    runExperiment(dir, plan, { stdout: (t) => (out += t), stderr: () => {} }),
    (e: unknown) => e instanceof ExperimentError && /experiment\.json: not a Cellscope experiment: field entries\[0\]\.runId: "\.\.\/\.\.\/outside-run" is not a run id/.test(e.message),
  );
  assert.equal(out, '');
  assert.deepEqual(snapshot(outside), before);
  assert.deepEqual(readdirSync(join(dir, 'runs')), []);

  // The report (the CLI's and the editor's panel) refuses the id even in a file object that skipped the check.
  assert.throws(() => experimentReportInput(dir, hostile, 'now'), (e: unknown) => e instanceof RunIdError && /entries\[0\]\.runId/.test(e.message));
  assert.deepEqual(snapshot(outside), before);
});

test('queue entries whose id or resumed run id is not a plain name are dropped', () => {
  const entry = (id: string, runId: string) => ({ id, experiment: 'E', queuedAt: 'now', request: { kind: 'resume', runId, name: 'A', device: 'cpu' } });
  const queue = parseQueue(JSON.stringify({ format: 1, entries: [entry('q1', 'r1'), entry('q2', '../../elsewhere'), entry('../../x', 'r3'), entry('q4', '/abs')], experiments: {} }));
  assert.deepEqual(queue.entries.map((e) => e.id), ['q1']);
});
