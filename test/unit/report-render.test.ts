/**
 * The report's renderers: contour lines lie where the grid's linear
 * interpolation equals the level (rows and columns not swapped), levels,
 * heat-map colours, the trend fit, epochs-to-loss interpolation, and the
 * whole report: self-contained (no script, no fetched resource), with the
 * charts, table and small multiples that its runs call for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtin } from '../../src/genotype/library.js';
import { cellMetrics } from '../../src/genotype/metrics.js';
import { printGenotype } from '../../src/genotype/printer.js';
import { randomConnections } from '../../src/genotype/samplers.js';
import { fitLine, renderLineChart } from '../../src/render/charts.js';
import { contourLevels, contourLines, renderContours } from '../../src/render/contours.js';
import { renderHeatmap } from '../../src/render/heatmap.js';
import { viridis } from '../../src/render/plot.js';
import { epochsToLoss, kindErrors, renderReport, summarizeReport, widthSeparation, type ReportRun } from '../../src/render/report.js';
import { renderSurface } from '../../src/render/surface.js';
import { landscapeCoordinates, type LandscapeFile, type LandscapeGrid } from '../../src/shared/landscapeTypes.js';
import type { MetricsLine, RunRecord } from '../../src/shared/runTypes.js';

function gridOf(n: number, f: (i: number, j: number) => number | null): LandscapeGrid {
  return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => f(i, j)));
}

/** Linear interpolation of the grid at a point on a grid edge (one coordinate whole). */
function onEdge(grid: LandscapeGrid, x: number, y: number): number | undefined {
  const at = (i: number, j: number) => grid[i]![j]!;
  const whole = (v: number) => Math.abs(v - Math.round(v)) < 1e-9;
  if (whole(x)) {
    const j = Math.round(x);
    const i = Math.floor(y);
    const t = y - i;
    return t < 1e-9 ? at(i, j) : at(i, j) + t * (at(i + 1, j) - at(i, j));
  }
  if (whole(y)) {
    const i = Math.round(y);
    const j = Math.floor(x);
    const t = x - j;
    return at(i, j) + t * (at(i, j + 1) - at(i, j));
  }
  return undefined;
}

test('contour points lie on grid edges where the interpolated value equals the level (x = column, y = row)', () => {
  // Asymmetric on purpose: a transposed grid would put the lines elsewhere.
  const grid = gridOf(5, (i, j) => 3 * i + j + 0.1 * i * j);
  const levels = [2.5, 7, 11.3];
  const lines = contourLines(grid, levels);
  assert.deepEqual(lines.map((l) => l.value), levels);
  let checked = 0;
  for (const line of lines) {
    for (const ring of line.rings) {
      for (const [x, y] of ring) {
        // Points outside the data square close rings around the border; they are clipped when drawn.
        if (x < 0 || y < 0 || x > 4 || y > 4) continue;
        const v = onEdge(grid, x, y);
        assert.ok(v !== undefined, `(${x}, ${y}) is not on a grid edge`);
        assert.ok(Math.abs(v - line.value) < 1e-9, `level ${line.value}: value ${v} at (${x}, ${y})`);
        checked++;
      }
    }
  }
  assert.ok(checked >= 6);
});

test('contour levels: log-spaced over a decade or more, even otherwise; the plot draws and labels each', () => {
  const bowl = gridOf(5, (i, j) => 0.1 + (i - 2) ** 2 + (j - 2) ** 2);
  const log = contourLevels(bowl, 4);
  const ratios = log.slice(1).map((v, k) => v / log[k]!);
  assert.ok(ratios.every((r) => Math.abs(r - ratios[0]!) < 0.02 * ratios[0]!), `log levels ${log}`);
  const flat = gridOf(5, (i) => 1 + i * 0.1);
  const even = contourLevels(flat, 3);
  assert.deepEqual(even, [1.1, 1.2, 1.3]);
  const svg = renderContours(bowl, landscapeCoordinates(5, 1), { levels: [1, 2, 4] });
  assert.match(svg, /data-levels="3"/);
  assert.equal((svg.match(/class="contour-label"/g) ?? []).length, 3);
  assert.equal((svg.match(/data-level="/g) ?? []).length, 3);
});

test('heat map: one cell per point, min and max at the ends of the colour scale, missing points grey', () => {
  const grid = gridOf(3, (i, j) => (i === 2 && j === 2 ? null : i * 3 + j));
  const svg = renderHeatmap(grid, [-1, 0, 1], { log: false });
  const cells = svg.slice(svg.indexOf('<g class="cells">'), svg.indexOf('</g>', svg.indexOf('<g class="cells">')));
  const fills = [...cells.matchAll(/<rect x="[^"]*" y="[^"]*" width="[^"]*" height="[^"]*" fill="(#[0-9a-f]{6}|#bbb)"/g)].map((m) => m[1]);
  assert.equal(fills.length, 9);
  assert.ok(fills.includes(viridis(0)));
  assert.ok(fills.includes(viridis(1)));
  assert.ok(fills.includes('#bbb'));
  assert.match(svg, /data-points="8"/);
  const surface = renderSurface(grid, [-1, 0, 1]);
  assert.equal((surface.match(/<polygon/g) ?? []).length, 4 + 1, 'four quads and the base outline');
});

test('trend line and epochs-to-loss by hand', () => {
  const fit = fitLine([
    { x: 1, y: 3 },
    { x: 2, y: 5 },
    { x: 3, y: 7 },
  ])!;
  assert.ok(Math.abs(fit.slope - 2) < 1e-12 && Math.abs(fit.intercept - 1) < 1e-12 && Math.abs(fit.r2 - 1) < 1e-12);
  assert.equal(fitLine([{ x: 1, y: 1 }, { x: 1, y: 2 }]), undefined);
  const m = metrics([2.0, 1.0, 0.5]);
  assert.equal(epochsToLoss(m, 0.75), 2.5); // between epoch 2 (1.0) and 3 (0.5)
  assert.equal(epochsToLoss(m, 2.5), 1);
  assert.equal(epochsToLoss(m, 0.1), null);
  const chart = renderLineChart([{ label: 'a', colour: '#000', points: [{ x: 1, y: 1 }, { x: 2, y: 0.5 }] }], { title: 't', xLabel: 'x', yLabel: 'y' });
  assert.match(chart, /data-series="1"/);
  assert.match(chart, /data-points="2"/);
});

function metrics(trainLosses: number[]): MetricsLine[] {
  return trainLosses.map((loss, k) => ({
    epoch: k + 1,
    trainLoss: loss,
    trainAcc: 0.5,
    testLoss: loss * 1.1,
    testAcc: 0.4 + 0.1 * k,
    gradVariance: 1 / (k + 1),
    gradVarianceRatio: 1,
    gradMeanNormSq: 1,
    lr: 0.1,
    dropPath: 0,
    seconds: 1,
    imagesPerSecond: 10,
    steps: 2,
  }));
}

function run(id: string, seed: number | undefined, losses: number[], landscape: boolean): ReportRun {
  const base = builtin('DARTS_V2')!.genotype;
  const genotype = seed === undefined ? base : randomConnections(base, seed);
  const name = seed === undefined ? 'DARTS_V2' : `DARTS_V2_connections_s${seed}`;
  const normal = cellMetrics(genotype.normal);
  const reduce = cellMetrics(genotype.reduce);
  const record = {
    format: 1,
    id,
    status: 'completed',
    genotype: {
      name,
      text: printGenotype(name, genotype),
      ref: name,
      origin: 'built-in',
      ...(seed !== undefined ? { variant: { kind: 'connections', seed, of: 'DARTS_V2' } } : {}),
      normal: { width: normal.width, depth: normal.depth },
      reduce: { width: reduce.width, depth: reduce.depth },
    },
    params: 1234,
    config: { dataset: 'synthetic', preset: 'quick', epochs: losses.length, channels: 4, layers: 3, batchSize: 8, backend: 'wasm' },
    seed: 0,
    backend: null,
    dataset: null,
    versions: { cellscope: '0', node: 'v20', tfjs: '4' },
    pid: 1,
    host: 'h',
    startedAt: '2025-01-01T00:00:00Z',
    updatedAt: '2025-01-01T00:00:00Z',
    epochsCompleted: losses.length,
    resumes: [],
  } as unknown as RunRecord;
  const n = 5;
  const file: LandscapeFile | undefined = landscape
    ? {
        format: 1,
        runId: id,
        epoch: losses.length,
        grid: n,
        range: 1,
        seed: 0,
        subset: null,
        varianceBatches: 2,
        varianceBatchSize: 8,
        directions: 'filter-normalized',
        images: 20,
        coordinates: landscapeCoordinates(n, 1),
        loss: gridOf(n, (i, j) => 0.5 + (i - 2) ** 2 + (j - 2) ** 2 * (seed ?? 1)),
        accuracy: gridOf(n, () => 0.5),
        variance: gridOf(n, (i, j) => 1 + i + j),
        backend: 'wasm',
        createdAt: '2025-01-01T00:00:00Z',
      }
    : undefined;
  return { record, metrics: metrics(losses), ...(file ? { landscape: file } : {}) };
}

test('the report: self-contained HTML with cells, curves, table, speed scatter, contours and variance maps', () => {
  const runs = [run('r0', undefined, [2, 1.2, 0.8], true), run('r1', 1, [2.2, 1.5, 1.0], true), run('r2', 2, [2.1, 1.0, 0.6], false)];
  // One convergence panel per variant width, the original drawn in each (the paper's Fig. 13).
  const widths = new Set(runs.slice(1).map((r) => r.record.genotype.normal.width));
  const html = renderReport({ title: 'Wide vs narrow <test>', runs, generatedAt: '2025-01-01T00:00:00Z' });
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<link|<img|@import|url\((?!#)/i, 'nothing to fetch');
  // The only URL is the SVG namespace.
  assert.deepEqual([...new Set(html.match(/https?:\/\/[^"' )]+/g))], ['http://www.w3.org/2000/svg']);
  assert.match(html, /Wide vs narrow &lt;test&gt;/);
  assert.match(html, /data-chart="convergence-test"[^>]*data-series="3"/);
  assert.equal((html.match(/data-chart="convergence-width"/g) ?? []).length, widths.size);
  for (const panel of html.split('data-chart="convergence-width"').slice(1)) assert.match(panel.slice(0, 4000), /data-label="DARTS_V2 \(original, /);
  assert.equal((html.match(/data-chart="contours"/g) ?? []).length, 2);
  assert.equal((html.match(/data-chart="variance-heatmap"/g) ?? []).length, 2);
  assert.match(html, /data-chart="speed-width"[^>]*data-points="2"/, 'only the runs that reach the threshold');
  assert.match(html, /data-chart="speed-depth"/);
  assert.match(html, /<table class="results" data-rows="3">/);
  assert.match(html, /No landscape yet for <code>r2<\/code>/);
  // Cell diagrams: one per run.
  assert.equal((html.match(/Normal cell|\(original\) ·|_connections_s\d+ ·/g) ?? []).length >= 3, true);

  const summary = summarizeReport({ title: 't', runs, generatedAt: '' });
  // The threshold is the median of the runs' lowest training losses (0.8, 1.0, 0.6 → 0.8).
  assert.equal(summary.lossThreshold, 0.8);
  const byId = new Map(summary.rows.map((r) => [r.id, r]));
  assert.equal(byId.get('r0')!.epochsToLoss, 3); // reaches 0.8 exactly at epoch 3
  assert.equal(byId.get('r1')!.epochsToLoss, null); // never below 1.0
  assert.equal(byId.get('r2')!.epochsToLoss, 2 + (1.0 - 0.8) / (1.0 - 0.6));
  assert.ok(Math.abs(byId.get('r0')!.finalTestError! - 40) < 1e-9);
  assert.equal(summary.rows[0]!.original, true);
  assert.equal(summary.widthGroups.reduce((n, g) => n + g.runIds.length, 0), 3);
});

test('the variance section says which data and BatchNorm mode the surface was measured with, and whether that is the paper\'s', () => {
  const legacy = [run('r0', undefined, [2, 1], true)];
  assert.match(renderReport({ title: 't', runs: legacy, generatedAt: '' }), /2 mini-batches of 8 training images, BatchNorm in training mode[^<]*<\/span> — not the paper(&#39;|')s setting/);
  const paper = legacy.map((r) => ({ ...r, landscape: { ...r.landscape!, varianceSplit: 'test' as const, bnMode: 'eval' as const } }));
  assert.match(renderReport({ title: 't', runs: paper, generatedAt: '' }), /2 mini-batches of 8 test images, BatchNorm in evaluation mode[^<]*<\/span> — the paper(&#39;|')s setting \(Fig\. 22: test set\)/);
});

test('the smoothness section plots the top Hessian eigenvalue against width, with the paper\'s claim and what the numbers say', () => {
  const hessian = (runId: string, topEigenvalue: number) => ({
    format: 1 as const, runId, epoch: 3, topEigenvalue, iterations: 5, converged: true, history: [topEigenvalue], trace: 10 * topEigenvalue, traceStandardError: 1,
    traceSamples: 4, batches: 2, batchSize: 8, method: 'gradient-central-difference' as const, stepRelative: 5e-3, parameters: 100, seed: 0, backend: 'wasm', createdAt: '',
  });
  const runs = [run('r0', undefined, [2, 1], true), run('r1', 1, [2, 1], true), run('r2', 2, [2, 1], true)];
  const widthOf = (r: (typeof runs)[number]) => r.record.genotype.normal.width;
  const sorted = [...runs].sort((a, b) => widthOf(a) - widthOf(b));
  // Smoother (smaller λ_max) the wider the cell: the numbers agree with the claim.
  const agreeing = sorted.map((r, k) => ({ ...r, hessian: hessian(r.record.id, 10 - k) }));
  const html = renderReport({ title: 't', runs: agreeing, generatedAt: '' });
  assert.match(html, /<section id="smoothness"><h2>Smoothness \(Section 4\.3\)<\/h2><p>The paper: Section 4\.3: /);
  assert.match(html, /data-chart="hessian-width"[^>]*data-points="3"/);
  assert.match(html, /the wider cells are smoother here, as the paper says/);
  const disagreeing = sorted.map((r, k) => ({ ...r, hessian: hessian(r.record.id, 1 + k) }));
  assert.match(renderReport({ title: 't', runs: disagreeing, generatedAt: '' }), /these runs do not show the paper(&#39;|'|&apos;)s effect/);
  // No probe, no section.
  assert.doesNotMatch(renderReport({ title: 't', runs, generatedAt: '' }), /id="smoothness"/);
});

test('1D slices: loss and accuracy along direction 1, the grid\'s centre row', () => {
  const html = renderReport({ title: 't', runs: [run('r0', undefined, [2, 1], true)], generatedAt: '' });
  assert.match(html, /data-chart="slices"/);
  assert.match(html, /data-chart="slices-accuracy"/);
});

test('narrowest against widest: the training-loss gap per epoch against the seed-to-seed spread, and how many variants it rests on', () => {
  // Seeds 2, 13, 14 give 2c variants of DARTS_V2; 4, 10, 16 give 3.5c ones (the authors' sampler).
  const narrow = [2, 13, 14].map((s, k) => run(`n${s}`, s, [2.0, 1.5 + 0.01 * k], false));
  const wide = [4, 10, 16].map((s, k) => run(`w${s}`, s, [1.9, 1.2 + 0.01 * k], false));
  const sep = widthSeparation([run('o', undefined, [2, 1.4], false), ...narrow, ...wide])!;
  assert.deepEqual([sep.narrow, sep.wide, sep.seeds], [2, 3.5, [3, 3]]);
  assert.equal(sep.epochs.length, 2);
  assert.ok(Math.abs(sep.epochs[1]!.narrow.mean - 1.51) < 1e-9 && Math.abs(sep.epochs[1]!.wide.mean - 1.21) < 1e-9);
  const html = renderReport({ title: 't', runs: [...narrow, ...wide], generatedAt: '' });
  assert.match(html, /training loss is 0\.300 below the 2c variants(&#39;|'|&apos;), more than the larger seed-to-seed spread \(0\.010\): the paper(&#39;|'|&apos;)s effect, on 3 \+ 3 variants/);
  // Overlapping groups: said so, not claimed.
  const close = [2, 13, 14].map((s, k) => run(`c${s}`, s, [2.0, 1.2 + 0.2 * k], false));
  assert.match(renderReport({ title: 't', runs: [...close, ...wide], generatedAt: '' }), /cannot show the paper(&#39;|'|&apos;)s effect \(3 \+ 3 variants\)/);
});

test('the error table says which regularisation the runs had, and calls it Section 5 only when it was', () => {
  const plain = [run('r0', undefined, [2, 1], false)];
  assert.match(renderReport({ title: 't', runs: plain, generatedAt: '' }), /Trained with no cutout, no auxiliary head, no drop path: not the paper(&#39;|'|&apos;)s Section 5 setting/);
  const regularised = plain.map((r) => ({ ...r, record: { ...r.record, config: { ...r.record.config, cutout: true, cutoutLength: 16, auxiliary: true, auxiliaryWeight: 0.4, dropPath: 0.2 } } }));
  assert.match(renderReport({ title: 't', runs: regularised, generatedAt: '' }), /cutout 16, auxiliary head \(weight 0\.4\), drop path 0\.2: regularised as in the paper(&#39;|'|&apos;)s Section 5/);
});

test('test error per kind: mean ± sd over cells and training seeds with counts, incomplete runs left out, Section 5 named only for its protocol', () => {
  // A run of `kind` with training seed `seed` whose last test accuracy is `acc`.
  const of = (id: string, kind: 'original' | 'connections' | 'ops' | 'adapt', name: string, seed: number, acc: number, status = 'completed'): ReportRun => {
    const base = run(id, kind === 'connections' ? 2 : undefined, [2, 1], false);
    const variant = kind === 'original' ? undefined : { kind, seed: kind === 'adapt' ? 0 : 1, of: 'DARTS_V2' };
    const { variant: _old, ...genotype } = base.record.genotype;
    return {
      ...base,
      record: { ...base.record, status, genotype: { ...genotype, name, text: genotype.text.replace(genotype.name, name), ...(variant !== undefined ? { variant } : {}) }, config: { ...base.record.config, seed } } as RunRecord,
      metrics: base.metrics.map((m, k) => (k === base.metrics.length - 1 ? { ...m, testAcc: acc } : m)),
    };
  };
  const runs = [
    of('o0', 'original', 'DARTS_V2', 0, 0.9),
    of('o1', 'original', 'DARTS_V2', 1, 0.8),
    of('c0', 'connections', 'DARTS_V2_connections_s2', 0, 0.7),
    of('c1', 'connections', 'DARTS_V2_connections_s2', 1, 0.5, 'running'),
    of('p0', 'ops', 'DARTS_V2_ops_s1', 0, 0.6),
    of('p1', 'ops', 'DARTS_V2_ops_s2', 0, 0.7),
    of('a0', 'adapt', 'DARTS_V2_adapt', 0, 0.85),
  ];
  const kinds = kindErrors(runs);
  assert.deepEqual(kinds.map((k) => [k.kind, k.cells, k.seeds, k.runs, k.incomplete]), [
    ['original', 1, [0, 1], 2, 0],
    ['connections', 1, [0], 1, 1],
    ['ops', 2, [0], 2, 0],
    ['adapt', 1, [0], 1, 0],
  ]);
  assert.ok(Math.abs(kinds[0]!.mean! - 15) < 1e-9 && Math.abs(kinds[0]!.sd! - Math.sqrt(50)) < 1e-9);
  assert.ok(Math.abs(kinds[2]!.mean! - 35) < 1e-9);
  assert.equal(kinds[3]!.sd, 0);
  const html = renderReport({ title: 't', runs, generatedAt: '' });
  assert.match(html, /<h2>Test error by kind<\/h2>/);
  assert.doesNotMatch(html, /Generalisation \(Section 5\)|--protocol section5/);
  assert.match(html, /<tr data-kind="original" data-runs="2"><td>Original<\/td><td>1<\/td><td>2<\/td><td>2<\/td><td>15\.00 ± 7\.07<\/td><\/tr>/);
  assert.match(html, /Ran original: 1 cell × 2 seeds \(2 runs\); random connections: 1 cell × 1 seed \(1 run\); random operations: 2 cells × 1 seed \(2 runs\); adapted \(widest, shallowest\): 1 cell × 1 seed \(1 run\); training seeds 0, 1\. 1 run not completed is left out\./);
  // The training seed is a column of the run table once runs differ in it; the cell is drawn once.
  assert.match(html, /<th>Architecture<\/th><th>Seed<\/th>/);
  const cells = html.slice(html.indexOf('<section id="cells">'), html.indexOf('<section id="convergence">'));
  assert.equal((cells.match(/data-cell="normal"/g) ?? []).length, 5, 'five cells, seven runs');
  assert.match(renderReport({ title: 't', runs, generatedAt: '', protocol: 'section5' }), /<h2>Generalisation \(Section 5\)<\/h2><p>Planned with --protocol section5\./);
  // The width separation is about connection variants: operation variants and the adapted cell stay out of it.
  assert.equal(widthSeparation(runs), undefined);
  // One kind and one seed, no protocol: no such table (a plain experiment's report as before).
  assert.doesNotMatch(renderReport({ title: 't', runs: [run('r0', undefined, [2, 1], false), run('r1', 2, [2, 1], false)], generatedAt: '' }), /id="section5"|<th>Seed<\/th>/);
});
