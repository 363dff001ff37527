/**
 * The report's λ_max per epoch (hessian-epochs.jsonl, `--hessian-every N`):
 * one curve per run coloured by width, the paper's Section 4.3 claim beside
 * it, what the data shows (the widest group's mean against the narrowest's,
 * epoch by epoch, with the runs each rests on) and a table of those means;
 * absent without data; and lines of the file that do not fit — a string for
 * a number, an infinite λ_max, markup — are refused and named as text, while
 * the run's other fields stay text too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtin } from '../../src/genotype/library.js';
import { printGenotype } from '../../src/genotype/printer.js';
import { renderReport, type ReportRun } from '../../src/render/report.js';
import { loadReportRuns } from '../../src/runs/reportRuns.js';
import { HESSIAN_EPOCHS_FILE, SMOOTHNESS_CLAIM, type HessianEpochLine } from '../../src/shared/landscapeTypes.js';
import { SMOOTHNESS_EPOCHS_METHOD, epochSmoothnessComparison, epochSmoothnessVerdict } from '../../src/shared/smoothness.js';
import type { MetricsLine, RunConfig, RunRecord } from '../../src/shared/runTypes.js';
import { presetSettings } from '../../src/runs/presets.js';

const EVIL = `"><script>alert(1)</script> <img src=x onerror=alert(3)>`;

function metrics(n: number): MetricsLine[] {
  return Array.from({ length: n }, (_, k) => ({
    epoch: k + 1, trainLoss: 2 - 0.3 * k, trainAcc: 0.5, testLoss: 2.1 - 0.3 * k, testAcc: 0.4, gradVariance: null, gradVarianceRatio: null,
    gradMeanNormSq: null, lr: 0.1, dropPath: 0, seconds: 1, imagesPerSecond: 10, steps: 2,
  }));
}

function record(id: string, name: string, width: number, variant: boolean): RunRecord {
  return {
    format: 1,
    id,
    status: 'completed',
    genotype: {
      name,
      text: printGenotype('DARTS_V2', builtin('DARTS_V2')!.genotype),
      ref: name,
      origin: 'built-in',
      ...(variant ? { variant: { kind: 'connections', seed: 1, of: 'DARTS_V2' } } : {}),
      normal: { width, depth: 2 },
      reduce: { width: 2, depth: 2 },
    },
    params: 1234,
    config: { dataset: 'synthetic', preset: 'quick', epochs: 3, channels: 4, layers: 3, batchSize: 8, backend: 'wasm', seed: 0 },
    backend: null,
    dataset: null,
    versions: { cellscope: '0', node: 'v20', tfjs: '4' },
    pid: 1,
    host: 'h',
    startedAt: '2025-01-01T00:00:00Z',
    updatedAt: '2025-01-01T00:00:00Z',
    epochsCompleted: 3,
    resumes: [],
  } as unknown as RunRecord;
}

function line(epoch: number, topEigenvalue: number): HessianEpochLine {
  return { epoch, topEigenvalue, iterations: 3, converged: true, trace: 2 * topEigenvalue, traceStandardError: 0.1, traceSamples: 1, batches: 1, batchSize: 8, seconds: 0.5 };
}

function run(id: string, width: number, lambdas: number[] | undefined, variant = true): ReportRun {
  return {
    record: record(id, `N_${id}`, width, variant),
    metrics: metrics(3),
    ...(lambdas !== undefined ? { hessianEpochs: lambdas.map((l, k) => line(k + 1, l)) } : {}),
  };
}

const report = (runs: ReportRun[]) => renderReport({ title: 't', runs, generatedAt: 'now' });

test('the report plots λ_max per epoch, one curve per run with its points, beside the claim and what the runs show, with the runs each group rests on', () => {
  const runs = [run('a', 2, [30, 20, 12], false), run('b', 2, [28, 18, 10]), run('c', 3.5, [10, 8, 6]), run('d', 3.5, [14, 9, 7]), run('e', 3, undefined)];
  const page = report(runs);
  const section = /<section id="hessian-epochs">([\s\S]*?)<\/section>/.exec(page)?.[1];
  assert.ok(section !== undefined, 'the section is there');
  assert.match(section, /<h2>Smoothness during training \(Section 4\.3\)<\/h2>/);
  // One chart, 4 series (the run without per-epoch data has none), 3 points each.
  assert.match(section, /data-chart="hessian-epochs"[^>]*data-series="4"[^>]*data-points="12"|data-series="4"[^>]*data-points="12"[^>]*data-chart="hessian-epochs"/);
  const series = [...section.matchAll(/<g class="series" data-label="([^"]*)" data-points="(\d+)"/g)].map((m) => [m[1], m[2]]);
  assert.deepEqual(series, [['N_a · 2c d2', '3'], ['N_b · 2c d2', '3'], ['N_c · 3.5c d2', '3'], ['N_d · 3.5c d2', '3']], 'narrow to wide');
  // Coloured by width as the convergence figures: the two 2c runs share a colour, the 3.5c runs another.
  const colours = [...section.matchAll(/<g class="series" data-label="[^"]*" data-points="\d+"><path d="[^"]*" fill="none" stroke="([^"]+)"/g)].map((m) => m[1]);
  assert.equal(colours.length, 4);
  assert.equal(new Set(colours).size, 2);
  const escapeQuote = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/'/g, "(?:&#39;|')");
  assert.match(section, new RegExp(`<p>The paper: ${escapeQuote(SMOOTHNESS_CLAIM)}</p>`));
  assert.match(section, new RegExp(`<p>${escapeQuote(SMOOTHNESS_EPOCHS_METHOD)}</p>`));
  assert.match(
    section,
    /<p class="verdict">Per epoch: the widest group(&#39;|')s mean λ_max \(3\.5c, 2 runs\) was below the narrowest group(&#39;|')s \(2c, 2 runs\) at 3 of 3 epochs probed in both \(after epoch 3: 6\.5 against 11\) — the wider cells stay smoother throughout training, as the paper says\.<\/p>/,
  );
  assert.match(section, /<table class="hessian-epochs" data-rows="3">/);
  assert.equal((section.match(/<tr class="wide-below">/g) ?? []).length, 3);
  assert.match(section, /<tr class="wide-below"><td>1<\/td><td>29<\/td><td>12<\/td><\/tr>/);
  // The run without data is named, with the command that gives it.
  assert.match(section, /No per-epoch Hessian \(hessian-epochs\.jsonl\) for N_e · 3c d2\. Train with: cellscope train GENOTYPE --hessian-every N \(or cellscope experiment ARCH --hessian-every N\)/);
});

test('what the per-epoch data shows when the wide group is not below throughout, or there is one width only', () => {
  const c = epochSmoothnessComparison([
    { width: 2, lines: [line(1, 10), line(2, 8)] },
    { width: 4, lines: [line(1, 12), line(2, 5), line(3, 1)] },
  ]);
  assert.deepEqual(c?.rows, [{ epoch: 1, narrow: 10, wide: 12 }, { epoch: 2, narrow: 8, wide: 5 }], 'epoch 3 was probed in one group only');
  assert.equal(c?.wideBelow, 1);
  assert.match(epochSmoothnessVerdict(c), /at 1 of 2 epochs probed in both \(after epoch 2: 5 against 8\) — the wider cells are not smoother at every epoch: these runs show the paper's effect only in part\.$/);
  const never = epochSmoothnessComparison([{ width: 2, lines: [line(1, 1)] }, { width: 4, lines: [line(1, 2)] }]);
  assert.match(epochSmoothnessVerdict(never), /at 0 of 1 epoch probed in both .* never smoother here: these runs do not show the paper's effect\.$/);
  assert.equal(epochSmoothnessComparison([{ width: 2, lines: [line(1, 1)] }, { width: 2, lines: [line(1, 2)] }, { width: 4, lines: [] }]), undefined);
  assert.equal(epochSmoothnessVerdict(undefined), 'One width only: nothing to compare.');
  // A non-finite value (never written by the trainer; a hand-edited file) counts for nothing.
  const odd = epochSmoothnessComparison([{ width: 2, lines: [line(1, Number.NaN)] }, { width: 4, lines: [line(1, 2)] }]);
  assert.equal(odd, undefined);
});

test('without per-epoch data the section is absent; the one-width report still draws the curves and says there is nothing to compare', () => {
  assert.doesNotMatch(report([run('a', 2, undefined), run('b', 3, undefined)]), /id="hessian-epochs"|data-chart="hessian-epochs"/);
  const one = report([run('a', 2, [3, 2, 1]), run('b', 2, [4, 3, 2])]);
  assert.match(one, /data-chart="hessian-epochs"/);
  assert.match(one, /<p class="verdict">One width only: nothing to compare\.<\/p>/);
  assert.doesNotMatch(one, /<table class="hessian-epochs"/);
});

test('hostile hessian-epochs.jsonl: lines that do not fit are refused and named as text, the good lines drawn, nothing becomes markup', () => {
  const runs = mkdtempSync(join(tmpdir(), 'cellscope-report-he-'));
  const dirs: string[] = [];
  for (const [k, width] of [[0, 2], [1, 3.5]] as const) {
    const id = `r${k}`;
    const dir = join(runs, id);
    mkdirSync(dir);
    const r = record(id, `${EVIL} ${k}`, width, k > 0);
    const config: RunConfig = { ...presetSettings('quick', 'synthetic'), dataset: 'synthetic', dataDir: null, download: false, preset: 'quick', seed: 0, backend: 'wasm', epochs: 3 };
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...r, config, seed: 0 }));
    writeFileSync(join(dir, 'metrics.jsonl'), metrics(3).map((m) => JSON.stringify(m)).join('\n') + '\n');
    dirs.push(dir);
  }
  const good = (epoch: number, l: number) => JSON.stringify(line(epoch, l));
  writeFileSync(
    join(dirs[0]!, HESSIAN_EPOCHS_FILE),
    [
      good(1, 20),
      JSON.stringify({ ...line(2, 1), topEigenvalue: EVIL }),
      '{"epoch":2,"topEigenvalue":1e999,"iterations":3,"converged":true,"trace":null,"traceStandardError":null,"traceSamples":0,"batches":1,"batchSize":8,"seconds":1}',
      JSON.stringify({ ...line(3, 1), epoch: `3${EVIL}` }),
      EVIL,
      good(3, 10),
      '',
    ].join('\n'),
  );
  writeFileSync(join(dirs[1]!, HESSIAN_EPOCHS_FILE), [good(1, 8), good(3, 4), ''].join('\n'));
  const loaded = loadReportRuns(dirs);
  assert.deepEqual(loaded[0]!.hessianEpochs?.map((l) => [l.epoch, l.topEigenvalue]), [[1, 20], [3, 10]]);
  assert.equal(loaded[0]!.probeProblems?.length, 4);
  assert.match(loaded[0]!.probeProblems![0]!, /hessian-epochs\.jsonl line 2: field topEigenvalue: expected a number/);
  assert.match(loaded[0]!.probeProblems![1]!, /line 3: field topEigenvalue: expected a number/);
  assert.match(loaded[0]!.probeProblems![3]!, /line 5: not JSON/);
  assert.equal(loaded[1]!.probeProblems, undefined);

  const page = renderReport({ title: 't', runs: loaded, generatedAt: 'now' });
  const section = /<section id="hessian-epochs">([\s\S]*?)<\/section>/.exec(page)?.[1] ?? '';
  assert.match(section, /data-series="2"/);
  assert.equal((section.match(/<li>Skipped [^<]*hessian-epochs\.jsonl line \d+: [^<]*<\/li>/g) ?? []).length, 4);
  assert.match(section, /at 2 of 2 epochs probed in both \(after epoch 3: 4 against 10\)/);
  for (const raw of ['<script>', '<img', 'onerror=alert(3)>']) assert.ok(!page.includes(raw), `raw ${raw}`);
  assert.ok(page.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the hostile name is there as text');
  assert.doesNotMatch(page, /<(script|img)\b/);
});

test('a file with nothing that fits: the section names the refused lines instead of drawing', () => {
  const runs = [{ ...run('a', 2, undefined), probeProblems: [`x/${HESSIAN_EPOCHS_FILE} line 1: not JSON ${EVIL}`] }, run('b', 3, undefined)];
  const page = report(runs);
  const section = /<section id="hessian-epochs">([\s\S]*?)<\/section>/.exec(page)?.[1] ?? '';
  assert.doesNotMatch(section, /data-chart="hessian-epochs"/);
  assert.match(section, /No per-epoch Hessian \(hessian-epochs\.jsonl\) for N_a · 2c d2, N_b · 3c d2/);
  assert.match(section, /<li>Skipped x\/hessian-epochs\.jsonl line 1: not JSON &quot;&gt;&lt;script&gt;/);
  assert.doesNotMatch(page, /<(script|img)\b/);
});
