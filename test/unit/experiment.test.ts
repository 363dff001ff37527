/**
 * The wide-vs-narrow experiment (src/train/experiment.ts, stratify.ts): the
 * variants are stratified by normal-cell width with the lowest matching
 * seeds, and a tiny experiment stopped in the middle of its second run
 * continues to the end without retraining what was done; a finished one
 * recomputes nothing; another experiment's folder is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze, findGenotype } from '../../src/genotype/document.js';
import { builtin } from '../../src/genotype/library.js';
import { cellMetrics } from '../../src/genotype/metrics.js';
import { randomConnections } from '../../src/genotype/samplers.js';
import type { RunConfig } from '../../src/shared/runTypes.js';
import { ExperimentError, planEntries, readExperiment, runExperiment, type ExperimentPlan } from '../../src/train/experiment.js';
import { presetSettings } from '../../src/runs/presets.js';
import { readLandscape } from '../../src/runs/reportRuns.js';
import { readRunRecord } from '../../src/runs/runStore.js';
import { frequentWidths, stratifiedVariants } from '../../src/train/stratify.js';
import { parseArgs } from '../../src/cli/args.js';
import { EXPERIMENT_FLAGS, experimentLandscape } from '../../src/cli/commands/experiment.js';

const darts = builtin('DARTS_V2')!.genotype;
const widthOf = (seed: number) => cellMetrics(randomConnections(darts, seed).normal).width;

test('variants are dealt over the widths, narrow first, each with the lowest seeds of its width', () => {
  const variants = stratifiedVariants(darts, 5, { widths: [3, 2, 2.5] });
  assert.deepEqual(variants.map((v) => v.width), [2, 2, 2.5, 2.5, 3]);
  for (const v of variants) {
    assert.equal(widthOf(v.seed), v.width);
    assert.equal(cellMetrics(v.genotype.normal).width, v.width);
  }
  // The seeds of a width are the first ones (from 1) whose variant has that width.
  for (const width of [2, 2.5, 3]) {
    const chosen = variants.filter((v) => v.width === width).map((v) => v.seed);
    const expected: number[] = [];
    for (let seed = 1; expected.length < chosen.length; seed++) if (widthOf(seed) === width) expected.push(seed);
    assert.deepEqual(chosen, expected);
  }
});

test('by default the most frequent widths are used, and the plan puts the original first', () => {
  const widths = frequentWidths(darts, 3, 100);
  assert.equal(widths.length, 3);
  assert.deepEqual([...widths].sort((a, b) => a - b), widths);
  const counts = new Map<number, number>();
  for (let seed = 1; seed <= 100; seed++) counts.set(widthOf(seed), (counts.get(widthOf(seed)) ?? 0) + 1);
  const least = Math.min(...widths.map((w) => counts.get(w)!));
  for (const [w, c] of counts) if (!widths.includes(w)) assert.ok(c <= least, `width ${w} (${c} seeds) is more frequent than a chosen one`);

  const { entries } = planEntries({ name: 'DARTS_V2', genotype: darts, variants: 3 });
  assert.equal(entries[0]!.role, 'original');
  assert.equal(entries[0]!.width, 3.5);
  assert.equal(entries.length, 4);
  for (const e of entries.slice(1)) {
    assert.equal(e.name, `DARTS_V2_connections_s${e.seed}`);
    // The printed text parses back to the variant itself.
    assert.deepEqual(findGenotype(analyze(e.text), e.name)?.genotype, randomConnections(darts, e.seed!));
  }
});

test('a tiny experiment stopped in its second run continues to the end; a finished one recomputes nothing', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'cellscope-experiment-')), 'exp');
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
    gradVarianceBatches: 2,
  };
  const plan: ExperimentPlan = {
    ref: 'DARTS_V2',
    name: 'DARTS_V2',
    genotype: darts,
    variants: 1,
    widths: [2],
    config,
    landscape: { grid: 3, range: 1, seed: 0, subset: null, what: ['loss', 'variance'] },
  };
  const cancel = { requested: false };
  let starts = 0;
  const first = await runExperiment(dir, plan, {
    stdout: (text) => {
      // Stop as soon as the second run has started.
      if (text.includes('"type":"start"') && ++starts === 2) cancel.requested = true;
    },
    stderr: () => {},
    cancel,
  });
  assert.equal(first.status, 'cancelled');
  const stopped = readExperiment(dir)!;
  assert.equal(stopped.entries.length, 2);
  const [originalId, variantId] = stopped.entries.map((e) => e.runId);
  assert.ok(originalId !== null && variantId !== null, 'both runs are recorded once started');
  assert.equal(readRunRecord(join(dir, 'runs', variantId)).status, 'cancelled');
  const originalStarted = readRunRecord(join(dir, 'runs', originalId)).startedAt;

  const second = await runExperiment(dir, plan, { stdout: () => {}, stderr: () => {} });
  assert.equal(second.status, 'completed');
  assert.ok(second.report !== undefined && existsSync(second.report));
  const done = readExperiment(dir)!;
  assert.deepEqual(done.entries.map((e) => e.runId), [originalId, variantId]);
  const original = readRunRecord(join(dir, 'runs', originalId));
  const variant = readRunRecord(join(dir, 'runs', variantId));
  assert.equal(original.startedAt, originalStarted);
  assert.equal(original.resumes.length, 0, 'the finished run was not trained again');
  assert.equal(variant.status, 'completed');
  assert.equal(variant.resumes.length, 1, 'the stopped run resumed from its checkpoint');
  const landscapes = [originalId, variantId].map((id) => readLandscape(join(dir, 'runs', id))!);
  for (const l of landscapes) {
    assert.equal(l.grid, 3);
    assert.ok(l.variance !== undefined);
  }
  const html = readFileSync(second.report, 'utf8');
  assert.match(html, /data-chart="contours"/);
  assert.match(html, /<table class="results" data-rows="2">/);

  const third = await runExperiment(dir, plan, { stdout: () => {}, stderr: () => {} });
  assert.equal(third.status, 'completed');
  assert.deepEqual(
    [originalId, variantId].map((id) => readLandscape(join(dir, 'runs', id))!.createdAt),
    landscapes.map((l) => l.createdAt),
    'landscapes are reused, not recomputed',
  );

  await assert.rejects(runExperiment(dir, { ...plan, config: { ...config, epochs: 2 } }, { stdout: () => {}, stderr: () => {} }), ExperimentError);
});

test('experiment\'s landscape defaults are the paper\'s: 51×51 over the whole test set, variance on test batches in eval-mode BatchNorm', () => {
  const settings = experimentLandscape(parseArgs([], EXPERIMENT_FLAGS));
  assert.deepEqual(settings, { grid: 51, range: 1, seed: 0, subset: null, what: ['loss', 'variance'], varianceSplit: 'test', bnMode: 'eval' });
  // Smaller grids and the training split stay available as explicit choices.
  const quick = experimentLandscape(parseArgs(['--grid', '11', '--subset', '500', '--variance-split', 'train', '--bn', 'train'], EXPERIMENT_FLAGS))!;
  assert.deepEqual([quick.grid, quick.subset, quick.varianceSplit, quick.bnMode], [11, 500, 'train', 'train']);
  assert.throws(() => parseArgs(['--bn', 'running'], EXPERIMENT_FLAGS), /--bn must be one of eval, train/);
});
