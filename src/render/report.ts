/**
 * The wide-vs-narrow experiment report (Shu, Wang & Cai, Sections 4–5) as one
 * self-contained HTML page: every chart and cell diagram is inline SVG, the
 * style is inline CSS, there is no script and nothing is fetched, so the
 * file works offline and in a webview with a strict content policy; the
 * standalone page carries its own (REPORT_CSP). Every piece is built with
 * markup.ts's `html`, which escapes what it interpolates.
 *
 * Sections: the cells grouped by normal-cell width; convergence curves
 * (test and training loss per epoch, runs coloured narrow→wide); the final
 * test error table with means per width; epochs-to-loss against width and
 * depth with a fitted trend; loss contours, 1D slices and gradient-variance
 * heat maps and surfaces as small multiples grouped by width; Section 4.3's
 * λ_max and trace against width, and λ_max per epoch (runs trained with
 * `--hessian-every N`), each beside the paper's claim.
 *
 * Pure: runs come in as parsed run.json / metrics.jsonl / landscape.json.
 */
import { analyze, findGenotype } from '../genotype/document.js';
import { formatCount, formatWidth } from '../genotype/metrics.js';
import type { Genotype } from '../genotype/model.js';
import { chartSeries, epochSmoothnessSummary, missingProbeNote, NO_PROBES, probeChartSpec, probeSeries, sliceOf, widthColour, widthRange, type ChartRun } from '../shared/chartData.js';
import { SMOOTHNESS_CLAIM, varianceCaption, type HessianEpochLine, type HessianFile, type LandscapeFile } from '../shared/landscapeTypes.js';
import { smoothnessGroups, smoothnessMethod, smoothnessVerdict } from '../shared/smoothness.js';
import type { MetricsLine, RunRecord } from '../shared/runTypes.js';
import { SECTION5_REGULARISATION, type ExperimentProtocol } from '../shared/experimentTypes.js';
import { renderCellSvg } from './cellSvg.js';
import { renderLineChart, renderScatter, type LineSeries } from './charts.js';
import { contourLevels, renderContours } from './contours.js';
import { renderHeatmap } from './heatmap.js';
import { formatTick, gridExtent } from './plot.js';
import { renderSurface } from './surface.js';
import { createHash } from 'node:crypto';
import { html, joinMarkup, type Markup, trustedMarkup } from './markup.js';

export interface ReportRun {
  readonly record: RunRecord;
  readonly metrics: readonly MetricsLine[];
  readonly landscape?: LandscapeFile;
  /** The smoothness probe's hessian.json (Section 4.3). */
  readonly hessian?: HessianFile;
  /** The lines of hessian-epochs.jsonl that fit their shape (`--hessian-every N`); absent or empty: none. */
  readonly hessianEpochs?: readonly HessianEpochLine[];
  /** Lines of the run's probe files that did not fit and were left out, named with their field. */
  readonly probeProblems?: readonly string[];
}

export interface ReportInput {
  readonly title: string;
  readonly runs: readonly ReportRun[];
  /** ISO time stamp printed in the header (given, so that output is deterministic). */
  readonly generatedAt: string;
  /** Training loss the epochs-to-loss figures count to; default: the median of the runs' lowest training losses. */
  readonly lossThreshold?: number;
  /** Extra lines under the title (the command that made the experiment, say). */
  readonly notes?: readonly string[];
  /** The protocol the experiment was planned with (experiment.json); absent: none, and the report claims no protocol. */
  readonly protocol?: ExperimentProtocol;
  /** false: an experiment planned without landscapes (Section 5 compares test error), so none missing is a gap; absent: true. */
  readonly landscapesPlanned?: boolean;
}

/** The report's figures in numbers, for tests and for the panel's summary. */
export interface ReportSummary {
  readonly lossThreshold: number | null;
  readonly rows: readonly ReportRow[];
  readonly widthGroups: readonly { readonly width: number; readonly runIds: readonly string[]; readonly meanFinalTestError: number | null }[];
}

export interface ReportRow {
  readonly id: string;
  readonly name: string;
  readonly original: boolean;
  readonly kind: RunKind;
  /** The run's training seed. */
  readonly seed: number;
  readonly width: number;
  readonly depth: number;
  readonly params: number;
  readonly epochs: number;
  /** Percent; null before the first epoch. */
  readonly finalTestError: number | null;
  readonly bestTestError: number | null;
  /** Epochs (interpolated) until the training loss first reaches the threshold; null when it never does. */
  readonly epochsToLoss: number | null;
}

/**
 * Epochs until `field` first falls to `threshold`, linearly interpolated
 * between the epochs around the crossing (epoch 0 is not measured, so a run
 * already below at its first epoch counts 1); null when it never does.
 */
export function epochsToLoss(metrics: readonly MetricsLine[], threshold: number, field: 'trainLoss' | 'testLoss' = 'trainLoss'): number | null {
  let previous: MetricsLine | undefined;
  for (const m of metrics) {
    const v = m[field];
    if (typeof v === 'number' && Number.isFinite(v) && v <= threshold) {
      const p = previous?.[field];
      if (previous === undefined || typeof p !== 'number' || !Number.isFinite(p) || p === v) return m.epoch;
      return previous.epoch + (p - threshold) / (p - v);
    }
    previous = m;
  }
  return null;
}

/**
 * The default threshold of epochs-to-loss: the median over runs of the lowest
 * training loss each reached, so that about half the runs reach it and the
 * figure separates fast from slow (a threshold every run reaches would be set
 * by the worst run).
 */
export function defaultLossThreshold(runs: readonly ReportRun[]): number | null {
  const lows: number[] = [];
  for (const run of runs) {
    const losses = run.metrics.map((m) => m.trainLoss).filter((v) => typeof v === 'number' && Number.isFinite(v));
    if (losses.length > 0) lows.push(Math.min(...losses));
  }
  if (lows.length === 0) return null;
  lows.sort((a, b) => a - b);
  const mid = Math.floor(lows.length / 2);
  return lows.length % 2 === 1 ? lows[mid]! : (lows[mid - 1]! + lows[mid]!) / 2;
}

function isOriginal(record: RunRecord): boolean {
  return record.genotype.variant === undefined;
}

/** What a run's cell is, from run.json's `variant` (the experiment's entry kinds; a kind we did not write counts as connections, as before kinds existed). */
export type RunKind = 'original' | 'connections' | 'ops' | 'adapt';

export const RUN_KIND_ORDER: readonly RunKind[] = ['original', 'connections', 'ops', 'adapt'];

const RUN_KIND_LABEL: Record<RunKind, string> = {
  original: 'Original',
  connections: 'Random connections',
  ops: 'Random operations',
  adapt: 'Adapted (widest, shallowest)',
};

export function runKind(record: RunRecord): RunKind {
  const kind = record.genotype.variant?.kind;
  return kind === undefined ? 'original' : kind === 'ops' || kind === 'adapt' ? kind : 'connections';
}

function chartRun(run: ReportRun): ChartRun {
  const r = run.record;
  return {
    info: {
      id: r.id,
      genotype: r.genotype.name,
      width: r.genotype.normal.width,
      depth: r.genotype.normal.depth,
      params: r.params,
      status: r.status,
      ...(r.reason !== undefined ? { reason: r.reason } : {}),
      epochs: r.config.epochs,
      dataset: r.config.dataset,
      backend: r.backend?.backend ?? '-',
    },
    metrics: run.metrics,
  };
}

export function summarizeReport(input: ReportInput): ReportSummary {
  const threshold = input.lossThreshold ?? defaultLossThreshold(input.runs);
  const rows: ReportRow[] = input.runs.map(({ record, metrics }) => {
    const last = metrics.at(-1);
    const accs = metrics.map((m) => m.testAcc).filter((a) => typeof a === 'number' && Number.isFinite(a));
    return {
      id: record.id,
      name: record.genotype.name,
      original: isOriginal(record),
      kind: runKind(record),
      seed: record.config.seed,
      width: record.genotype.normal.width,
      depth: record.genotype.normal.depth,
      params: record.params,
      epochs: last?.epoch ?? 0,
      finalTestError: last !== undefined && typeof last.testAcc === 'number' ? 100 * (1 - last.testAcc) : null,
      bestTestError: accs.length > 0 ? 100 * (1 - Math.max(...accs)) : null,
      epochsToLoss: threshold === null ? null : epochsToLoss(metrics, threshold),
    };
  });
  rows.sort((a, b) => Number(b.original) - Number(a.original) || a.width - b.width || a.name.localeCompare(b.name));
  const widths = [...new Set(rows.map((r) => r.width))].sort((a, b) => a - b);
  const widthGroups = widths.map((width) => {
    const members = rows.filter((r) => r.width === width);
    const errors = members.map((r) => r.finalTestError).filter((e): e is number => e !== null);
    return { width, runIds: members.map((r) => r.id), meanFinalTestError: errors.length > 0 ? errors.reduce((a, b) => a + b, 0) / errors.length : null };
  });
  return { lossThreshold: threshold, rows, widthGroups };
}

function genotypeOf(record: RunRecord): Genotype | undefined {
  return findGenotype(analyze(record.genotype.text), record.genotype.name)?.genotype;
}

/** A renderer's SVG text as markup: the renderers build it from escaped Markup (markup.ts), so it passes as is. */
function svg(text: string): Markup {
  return trustedMarkup(text);
}

function figure(svgText: string, caption?: string): Markup {
  return html`<figure>${svg(svgText)}${caption ? html`<figcaption>${caption}</figcaption>` : ''}</figure>`;
}

/** One width's small multiples under a heading; groups sit side by side, narrow to wide. */
function group(heading: string, figures: readonly Markup[]): Markup {
  return html`<div class="group"><h3>${heading}</h3><div class="multiples">${figures}</div></div>`;
}

function percent(x: number | null): string {
  return x === null ? '–' : `${x.toFixed(2)}`;
}

/** Runs grouped by normal-cell width, narrow first; the original cell leads its group. */
function byWidth(runs: readonly ReportRun[]): { width: number; runs: ReportRun[] }[] {
  const widths = [...new Set(runs.map((r) => r.record.genotype.normal.width))].sort((a, b) => a - b);
  return widths.map((width) => ({
    width,
    runs: runs
      .filter((r) => r.record.genotype.normal.width === width)
      .sort((a, b) => Number(isOriginal(b.record)) - Number(isOriginal(a.record)) || a.record.genotype.name.localeCompare(b.record.genotype.name)),
  }));
}

function runTitle(record: RunRecord): string {
  return `${record.genotype.name}${isOriginal(record) ? ' (original)' : ''} · ${formatWidth(record.genotype.normal.width)}, depth ${record.genotype.normal.depth}`;
}

function cellsSection(runs: readonly ReportRun[]): Markup {
  // One drawing per cell: the runs of one cell with several training seeds share it.
  const firstOfCell = new Map<string, ReportRun>();
  for (const r of runs) if (!firstOfCell.has(r.record.genotype.name)) firstOfCell.set(r.record.genotype.name, r);
  const cellRuns = [...firstOfCell.values()];
  const groups = byWidth(cellRuns).map(({ width, runs: members }) => {
    const cells = members.map(({ record }) => {
      const g = genotypeOf(record);
      return g === undefined
        ? html`<p class="note">${record.genotype.name}: the recorded genotype text does not parse</p>`
        : figure(renderCellSvg(g.normal, 'normal', { title: runTitle(record), legend: false }));
    });
    return group(`Normal-cell width ${formatWidth(width)}`, cells);
  });
  const kinds = new Set(runs.map((r) => runKind(r.record)));
  const what = [
    kinds.has('original') ? 'the original architecture' : undefined,
    kinds.has('connections') ? 'random-connection variants (same operations, re-drawn inputs)' : undefined,
    kinds.has('ops') ? 'random-operation variants (same connections, re-drawn operations)' : undefined,
    kinds.has('adapt') ? 'the adapted cell (every input re-pointed to node 0 or 1)' : undefined,
  ].filter((w): w is string => w !== undefined);
  const list = what.length <= 1 ? what.join('') : `${what.slice(0, -1).join(', ')} and ${what.at(-1)!}`;
  return html`<section id="cells"><h2>Cells</h2><p>Normal cells of ${list}, grouped by width.</p><div class="groups">${groups}</div></section>`;
}

function convergenceSection(runs: readonly ReportRun[]): Markup {
  const chartRuns = runs.map(chartRun);
  const all = chartSeries('loss', chartRuns);
  const toLine = (s: (typeof all)[number]): LineSeries => ({ label: s.label.replace(/ \((test|train)\)$/, ''), colour: s.colour, dashed: s.dashed, points: s.points });
  const test = all.filter((s) => s.field === 'testLoss').map(toLine);
  const train = all.filter((s) => s.field === 'trainLoss').map((s) => ({ ...toLine(s), dashed: false }));
  const logY = (series: LineSeries[]) => {
    const ys = series.flatMap((s) => s.points.map((p) => p.y)).filter((y) => y > 0);
    return ys.length > 0 && Math.max(...ys) / Math.min(...ys) >= 10;
  };
  const charts = [
    renderLineChart(test, { title: 'Test loss', xLabel: 'epoch', yLabel: 'cross-entropy', chart: 'convergence-test', logY: logY(test) }),
    renderLineChart(train, { title: 'Training loss', xLabel: 'epoch', yLabel: 'cross-entropy', chart: 'convergence-train', logY: logY(train) }),
  ];
  const { min, max } = widthRange(chartRuns.map((r) => r.info));
  // As the paper's Fig. 13: every width's panel holds that width's variants and, for reference, the original cell.
  const original = runs.find((r) => isOriginal(r.record));
  const testPoints = (metrics: readonly MetricsLine[]) => metrics.filter((m) => typeof m.testLoss === 'number' && Number.isFinite(m.testLoss)).map((m) => ({ x: m.epoch, y: m.testLoss }));
  const perWidth = byWidth(runs.filter((r) => !isOriginal(r.record))).map(({ width, runs: members }) =>
    renderLineChart(
      [
        ...(original !== undefined
          ? [{ label: `${original.record.genotype.name} (original, ${formatWidth(original.record.genotype.normal.width)})`, colour: '#222222', dashed: false, points: testPoints(original.metrics) }]
          : []),
        ...members.map(({ record, metrics }) => ({ label: record.genotype.name, colour: widthColour(width, min, max), dashed: true, points: testPoints(metrics) })),
      ],
      { title: `Width ${formatWidth(width)}: test loss (${members.length} variant${members.length === 1 ? '' : 's'})`, xLabel: 'epoch', yLabel: 'cross-entropy', chart: 'convergence-width', width: 360, height: 220, legend: false },
    ),
  );
  const variance = chartSeries('gradVariance', chartRuns).filter((s) => s.points.length > 0);
  const varianceChart =
    variance.length > 0
      ? figure(
          renderLineChart(
            variance.map((s) => ({ label: s.label, colour: s.colour, points: s.points })),
            { title: 'Gradient variance at the end of each epoch', xLabel: 'epoch', yLabel: '(1/K) Σ‖g_k − ḡ‖²', chart: 'grad-variance-epochs', logY: logY(variance.map((s) => ({ label: s.label, colour: s.colour, points: s.points }))) },
          ),
        )
      : undefined;
  return html`<section id="convergence"><h2>Convergence</h2><p>Runs coloured by normal-cell width, blue (narrow) to red (wide). The paper's claim: wider, shallower cells converge faster.</p><div class="multiples">${charts.map((c) => figure(c))}</div><h3>By width (solid black: the original in every panel; dashed: that width's variants)</h3><div class="multiples">${perWidth.map((c) => figure(c))}</div>${separationParagraph(runs)}${varianceChart}</section>`;
}

/** Mean and sample standard deviation. */
function meanSd(xs: readonly number[]): { mean: number; sd: number } {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean: m, sd };
}

/** The narrowest and widest variant groups' training loss per epoch (mean and spread over their variants). */
export interface WidthSeparation {
  readonly narrow: number;
  readonly wide: number;
  /** Variants behind each side. */
  readonly seeds: readonly [number, number];
  readonly epochs: readonly { readonly epoch: number; readonly narrow: { mean: number; sd: number }; readonly wide: { mean: number; sd: number } }[];
}

/**
 * How far the narrowest and widest variant groups' training-loss curves are apart against their seed-to-seed
 * spread, epoch by epoch: the number the paper's convergence claim rests on, with how many runs each side has.
 */
export function widthSeparation(runs: readonly ReportRun[]): WidthSeparation | undefined {
  // The paper groups random-connection variants by width; operation variants and the adapted cell are other questions.
  const groups = byWidth(runs.filter((r) => runKind(r.record) === 'connections'));
  if (groups.length < 2) return undefined;
  const narrow = groups[0]!;
  const wide = groups.at(-1)!;
  if (narrow.runs.length < 2 || wide.runs.length < 2) return undefined;
  const lossAt = (r: ReportRun, epoch: number) => r.metrics.find((m) => m.epoch === epoch)?.trainLoss;
  const last = Math.min(...[...narrow.runs, ...wide.runs].map((r) => r.metrics.length));
  const epochs = [];
  for (let epoch = 1; epoch <= last; epoch++) {
    const n = narrow.runs.map((r) => lossAt(r, epoch)).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
    const w = wide.runs.map((r) => lossAt(r, epoch)).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
    if (n.length === narrow.runs.length && w.length === wide.runs.length) epochs.push({ epoch, narrow: meanSd(n), wide: meanSd(w) });
  }
  return { narrow: narrow.width, wide: wide.width, seeds: [narrow.runs.length, wide.runs.length], epochs };
}

function separationParagraph(runs: readonly ReportRun[]): Markup | undefined {
  const s = widthSeparation(runs);
  if (s === undefined || s.epochs.length === 0) return undefined;
  const rows = s.epochs.map(({ epoch, narrow, wide }) => {
    const gap = narrow.mean - wide.mean;
    const spread = Math.max(narrow.sd, wide.sd);
    return html`<tr><td>${epoch}</td><td>${narrow.mean.toFixed(3)} ± ${narrow.sd.toFixed(3)}</td><td>${wide.mean.toFixed(3)} ± ${wide.sd.toFixed(3)}</td><td>${gap.toFixed(3)}</td><td>${gap > spread ? 'yes' : 'no'}</td></tr>`;
  });
  const final = s.epochs.at(-1)!;
  const gap = final.narrow.mean - final.wide.mean;
  const spread = Math.max(final.narrow.sd, final.wide.sd);
  const said =
    gap > spread
      ? `After ${final.epoch} epochs the ${formatWidth(s.wide)} variants' training loss is ${gap.toFixed(3)} below the ${formatWidth(s.narrow)} variants', more than the larger seed-to-seed spread (${spread.toFixed(3)}): the paper's effect, on ${s.seeds[0]} + ${s.seeds[1]} variants.`
      : `After ${final.epoch} epochs the gap between the ${formatWidth(s.narrow)} and ${formatWidth(s.wide)} variants' training loss (${gap.toFixed(3)}) is not larger than the seed-to-seed spread (${spread.toFixed(3)}): at this size these runs cannot show the paper's effect (${s.seeds[0]} + ${s.seeds[1]} variants).`;
  return html`<h3>Narrowest against widest</h3><p class="separation" data-gap="${gap.toFixed(4)}" data-spread="${spread.toFixed(4)}">${said}</p><table class="separation"><thead><tr><th>Epoch</th><th>Training loss ${formatWidth(s.narrow)} (mean ± sd)</th><th>Training loss ${formatWidth(s.wide)} (mean ± sd)</th><th>Gap</th><th>Gap &gt; spread</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** One run's regularisation in words. */
function regularisationOf(c: RunRecord['config']): string {
  return `${c.cutout ? `cutout ${String(c.cutoutLength)}` : 'no cutout'}, ${c.auxiliary ? `auxiliary head (weight ${String(c.auxiliaryWeight)})` : 'no auxiliary head'}, ${c.dropPath > 0 ? `drop path ${String(c.dropPath)}` : 'no drop path'}`;
}

/** Whether a run had exactly the paper's full regularisation (cutout 16, auxiliary head 0.4, drop path 0.2). */
function fullyRegularised(c: RunRecord['config']): boolean {
  const r = SECTION5_REGULARISATION;
  return c.cutout === r.cutout && c.cutoutLength === r.cutoutLength && c.auxiliary === r.auxiliary && c.auxiliaryWeight === r.auxiliaryWeight && c.dropPath === r.dropPath;
}

/** What the runs were trained with, against what the paper's Section 5 uses (cutout 16, auxiliary 0.4, drop path 0.2). */
function regularisationCaption(runs: readonly ReportRun[]): string {
  const configs = [...new Set(runs.map(({ record: { config: c } }) => regularisationOf(c)))];
  const full = runs.length > 0 && runs.every(({ record: { config: c } }) => fullyRegularised(c));
  return full
    ? `Trained with ${configs.join('; ')}: regularised as in the paper's Section 5.`
    : `Trained with ${configs.join('; ')}: not the paper's Section 5 setting (cutout 16, auxiliary head 0.4, drop path 0.2), which compares generalisation under full regularisation.`;
}

/** Test error of one kind of cell over its runs (Section 5's comparison). */
export interface KindErrors {
  readonly kind: RunKind;
  /** Distinct cells (genotype names) among its completed runs. */
  readonly cells: number;
  /** Distinct training seeds among its completed runs. */
  readonly seeds: readonly number[];
  /** Completed runs with a test accuracy: what the mean and spread are over. */
  readonly runs: number;
  /** Percent: mean and sample standard deviation of the final test error; null without runs. */
  readonly mean: number | null;
  readonly sd: number | null;
  /** Runs of this kind left out because they have not completed. */
  readonly incomplete: number;
}

/**
 * Final test error per kind (original, connection variants, operation variants, adapted): mean ± sample
 * standard deviation over every completed run of the kind, i.e. over its cells and training seeds together.
 */
export function kindErrors(runs: readonly ReportRun[], summary: ReportSummary = summarizeReport({ title: '', runs, generatedAt: '' })): KindErrors[] {
  const statusOf = new Map(runs.map((r) => [r.record.id, r.record.status]));
  return RUN_KIND_ORDER.flatMap((kind) => {
    const rows = summary.rows.filter((r) => r.kind === kind);
    if (rows.length === 0) return [];
    const done = rows.filter((r) => statusOf.get(r.id) === 'completed' && r.finalTestError !== null);
    const errors = done.map((r) => r.finalTestError!);
    const stats = errors.length > 0 ? meanSd(errors) : undefined;
    return [{
      kind,
      cells: new Set(done.map((r) => r.name)).size,
      seeds: [...new Set(done.map((r) => r.seed))].sort((a, b) => a - b),
      runs: done.length,
      mean: stats?.mean ?? null,
      sd: stats === undefined ? null : stats.sd,
      incomplete: rows.length - done.length,
    }];
  });
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * The Section 5 comparison: test error per kind with its spread and counts, captioned with what ran (the kinds,
 * the training seeds, the regularisation). Shown for an experiment planned with --protocol section5, and wherever
 * the runs hold more than one kind of variant or several training seeds; only the first is called Section 5.
 */
function kindSection(summary: ReportSummary, runs: readonly ReportRun[], protocol: ExperimentProtocol | undefined): Markup | undefined {
  const kinds = kindErrors(runs, summary);
  const several = new Set(summary.rows.map((r) => r.seed)).size > 1 || kinds.some((k) => k.kind === 'ops' || k.kind === 'adapt');
  if (protocol !== 'section5' && !several) return undefined;
  const rows = kinds.map(
    (k) =>
      html`<tr data-kind="${k.kind}" data-runs="${k.runs}"><td>${RUN_KIND_LABEL[k.kind]}</td><td>${k.cells}</td><td>${k.seeds.length}</td><td>${k.runs}</td><td>${k.mean === null ? '–' : `${k.mean.toFixed(2)} ± ${k.sd!.toFixed(2)}`}</td></tr>`,
  );
  const ran = kinds
    .filter((k) => k.runs > 0)
    .map((k) => `${RUN_KIND_LABEL[k.kind].toLowerCase()}: ${plural(k.cells, 'cell')} × ${plural(k.seeds.length, 'seed')} (${plural(k.runs, 'run')})`);
  const seeds = [...new Set(kinds.flatMap((k) => k.seeds))].sort((a, b) => a - b);
  const incomplete = kinds.reduce((n, k) => n + k.incomplete, 0);
  const completed = runs.filter((r) => r.record.status === 'completed');
  const heading = protocol === 'section5' ? 'Generalisation (Section 5)' : 'Test error by kind';
  const intro =
    protocol === 'section5'
      ? "Planned with --protocol section5. The paper's Section 5: the architecture against its random variants and its adapted (widest, shallowest) cell; wide, shallow cells converge faster but do not necessarily generalise better."
      : 'The runs grouped by what their cell is.';
  const caption = `Final test error (%) of the completed runs, mean ± sample standard deviation over each kind's cells and training seeds. Ran ${ran.length > 0 ? ran.join('; ') : 'nothing to completion yet'}${seeds.length > 0 ? `; training seed${seeds.length === 1 ? '' : 's'} ${seeds.join(', ')}` : ''}.${incomplete > 0 ? ` ${plural(incomplete, 'run')} not completed ${incomplete === 1 ? 'is' : 'are'} left out.` : ''}`;
  return html`<section id="section5"><h2>${heading}</h2><p>${intro}</p><p class="kinds-caption">${caption} ${completed.length > 0 ? regularisationCaption(completed) : ''}</p><table class="by-kind" data-rows="${kinds.length}"><thead><tr><th>Kind</th><th>Cells</th><th>Training seeds</th><th>Runs</th><th>Final test error (%), mean ± sd</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

function tableSection(summary: ReportSummary, runs: readonly ReportRun[]): Markup {
  const threshold = summary.lossThreshold;
  // The training seed only where runs differ in it (several seeds per cell), so a plain experiment's table stays as it was.
  const seeds = new Set(summary.rows.map((r) => r.seed)).size > 1;
  const head = html`<tr><th>Architecture</th>${seeds ? html`<th>Seed</th>` : ''}<th>Width</th><th>Depth</th><th>Params</th><th>Epochs</th><th>Final test error (%)</th><th>Best test error (%)</th><th>Epochs to training loss ${threshold === null ? '–' : formatTick(threshold)}</th><th>Run</th></tr>`;
  const rows = summary.rows.map(
    (r) =>
      html`<tr${r.original ? html` class="original"` : ''} data-run="${r.id}">${[
        html`<td>${r.name}${r.original ? ' (original)' : ''}</td>${seeds ? html`<td>${r.seed}</td>` : ''}<td>${formatWidth(r.width)}</td><td>${r.depth}</td>`,
        html`<td>${formatCount(r.params)}</td><td>${r.epochs}</td><td>${percent(r.finalTestError)}</td><td>${percent(r.bestTestError)}</td>`,
        html`<td>${r.epochsToLoss === null ? '–' : r.epochsToLoss.toFixed(2)}</td><td class="run-id">${r.id}</td>`,
      ]}</tr>`,
  );
  const groups = summary.widthGroups.map((g) => html`<tr><td>${formatWidth(g.width)}</td><td>${g.runIds.length}</td><td>${percent(g.meanFinalTestError)}</td></tr>`);
  return html`<section id="errors"><h2>Final test error</h2><p>What the architectures reach after training, the original against its variants. ${regularisationCaption(runs)}</p><table class="results" data-rows="${summary.rows.length}"><thead>${head}</thead><tbody>${rows}</tbody></table><h3>Mean final test error by width</h3><table class="by-width"><thead><tr><th>Width</th><th>Runs</th><th>Mean final test error (%)</th></tr></thead><tbody>${groups}</tbody></table></section>`;
}

function speedSection(summary: ReportSummary): Markup {
  const widths = summary.rows.map((r) => r.width);
  const min = Math.min(...widths);
  const max = Math.max(...widths);
  const reached = summary.rows.filter((r) => r.epochsToLoss !== null);
  if (reached.length === 0) return html`<section id="speed"><h2>Convergence speed</h2><p class="note">No run has metrics yet.</p></section>`;
  const points = (axis: 'width' | 'depth') =>
    reached.map((r) => ({ x: r[axis], y: r.epochsToLoss!, colour: widthColour(r.width, min, max), label: `${r.name}: ${r.epochsToLoss!.toFixed(2)} epochs` }));
  const label = summary.lossThreshold === null ? '' : ` ≤ ${formatTick(summary.lossThreshold)}`;
  const scatters = [
    figure(renderScatter(points('width'), { title: 'Epochs to loss vs width', xLabel: 'normal-cell width (c)', yLabel: 'epochs', chart: 'speed-width', formatX: (x) => formatWidth(x) })),
    figure(renderScatter(points('depth'), { title: 'Epochs to loss vs depth', xLabel: 'normal-cell depth', yLabel: 'epochs', chart: 'speed-depth' })),
  ];
  return html`<section id="speed"><h2>Convergence speed against width and depth</h2><p>Epochs until the training loss first reaches${label} (interpolated between epochs), with a least-squares trend.</p><div class="multiples">${scatters}</div></section>`;
}

function landscapeSection(runs: readonly ReportRun[], planned: boolean): Markup {
  const withLandscape = runs.filter((r) => r.landscape !== undefined);
  if (withLandscape.length === 0 && !planned) {
    return html`<section id="landscapes"><h2>Loss landscapes</h2><p class="note">Not part of this experiment's plan (planned without landscapes); <code>cellscope landscape RUN</code> computes one for a run.</p></section>`;
  }
  const missing = runs.filter((r) => r.landscape === undefined).map((r) => r.record.id);
  const missingNote =
    missing.length > 0
      ? html`<p class="note">No landscape yet for ${joinMarkup(missing.map((id) => html`<code>${id}</code>`), ', ')} (compute with <code>cellscope landscape RUN</code>).</p>`
      : undefined;
  if (withLandscape.length === 0) return html`<section id="landscapes"><h2>Loss landscapes</h2>${missingNote}</section>`;
  // One set of contour levels for all runs, so equal lines mean equal loss across the small multiples.
  // The levels span the lowest loss of any run up to the median of the runs' highest, so one run that blows up far
  // from its centre does not leave the others with a single line.
  const allLoss = withLandscape.flatMap((r) => r.landscape!.loss);
  const highs = withLandscape.map((r) => gridExtent(r.landscape!.loss)?.max).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  const lowest = gridExtent(allLoss);
  const levels =
    lowest === undefined || highs.length === 0 ? [] : contourLevels(allLoss, 10, { min: lowest.min, max: Math.max(lowest.min, highs[Math.floor((highs.length - 1) / 2)]!) });
  const groups = byWidth(withLandscape).map(({ width, runs: members }) => {
    const plots = members.map(({ record, landscape }) =>
      figure(renderContours(landscape!.loss, landscape!.coordinates, { title: runTitle(record), levels, id: `contours-${record.id}`, size: 200 })),
    );
    return group(`Width ${formatWidth(width)}`, plots);
  });
  // 1D plots as the authors' fork draws them (plot_1D): loss and accuracy along one filter-normalised direction
  // through the trained weights. The centre row of the grid is exactly that slice (β = 0), on the grid's α points.
  // Shaped as the results panel shapes them (src/shared/chartData.ts), coloured on the width scale of all runs.
  const sliced = runs.map((r) => {
    const slice = r.landscape !== undefined ? sliceOf(r.landscape) : undefined;
    return { ...chartRun(r), probes: { ...NO_PROBES, ...(slice !== undefined ? { slice } : {}) } };
  });
  const slices: LineSeries[] = probeSeries('sliceLoss', sliced).map(({ label, colour, points }) => ({ label, colour, points }));
  const accuracySlices: LineSeries[] = probeSeries('sliceAccuracy', sliced).map(({ label, colour, points }) => ({ label, colour, points }));
  const sliceChart =
    slices.length > 0
      ? html`<h3>1D slices along direction 1 (β = 0)</h3><div class="multiples">${[
          figure(renderLineChart(slices, { title: '1D slice: test loss', xLabel: 'α', yLabel: 'test loss', chart: 'slices' })),
          figure(renderLineChart(accuracySlices, { title: '1D slice: test accuracy', xLabel: 'α', yLabel: 'test accuracy (%)', chart: 'slices-accuracy' })),
        ]}</div>`
      : undefined;
  const spec = withLandscape[0]!.landscape!;
  // landscape.json is read from disk: its numbers are printed through String(), never trusted as text.
  const description = `Test loss around the trained weights along two seeded filter-normalised directions (Li et al. 2018; biases and BatchNorm left out), ${String(spec.grid)}×${String(spec.grid)} grid over [−${formatTick(spec.range)}, ${formatTick(spec.range)}]², seed ${String(spec.seed)}, ${String(spec.images)} test images; the same contour levels in every plot. Wider contours: a smoother landscape.`;
  return html`<section id="landscapes"><h2>Loss landscapes</h2><p>${description}</p><div class="groups">${groups}</div>${sliceChart}${missingNote}</section>`;
}

function varianceSection(runs: readonly ReportRun[]): Markup | undefined {
  const withVariance = runs.filter((r) => r.landscape?.variance !== undefined);
  if (withVariance.length === 0) return undefined;
  const all = withVariance.flatMap((r) => r.landscape!.variance!);
  const extent = gridExtent(all);
  const groups = byWidth(withVariance).map(({ width, runs: members }) => {
    const maps = members.map(({ record, landscape }) =>
      figure(renderHeatmap(landscape!.variance!, landscape!.coordinates, { title: runTitle(record), valueLabel: 'variance', chart: 'variance-heatmap', size: 180, ...(extent ? { extent } : {}) })),
    );
    return group(`Width ${formatWidth(width)}`, maps);
  });
  const groupsByWidth = byWidth(withVariance);
  const narrowest = groupsByWidth[0]!.runs[0]!;
  const widest = groupsByWidth.at(-1)!.runs[0]!;
  const surfaces = [narrowest, ...(widest !== narrowest ? [widest] : [])].map(({ record, landscape }) =>
    figure(renderSurface(landscape!.variance!, landscape!.coordinates, { title: runTitle(record), valueLabel: 'gradient variance', chart: 'variance-surface' })),
  );
  // Say what was measured, run by run when the runs were measured differently (never a label that is not true of every plot).
  const captions = [...new Set(withVariance.map((r) => varianceCaption(r.landscape!)))];
  const how = captions.length === 1 ? captions[0]! : `measured differently per run: ${captions.join('; ')}`;
  const paperSetting = captions.length === 1 && withVariance[0]!.landscape!.varianceSplit === 'test' && withVariance[0]!.landscape!.bnMode === 'eval';
  const versus = paperSetting ? " — the paper's setting (Fig. 22: test set)" : " — not the paper's setting (Fig. 22 uses the test set, BatchNorm as for the loss)";
  return html`<section id="variance"><h2>Gradient variance</h2><p>Variance of K mini-batch gradients about their mean, summed over parameters, at every grid point (one colour scale for all runs): <span class="variance-setting">${how}</span>${versus}. The paper: wide, shallow cells show lower variance.</p><div class="groups">${groups}</div><h3>Narrowest and widest as surfaces</h3><div class="multiples">${surfaces}</div></section>`;
}

/**
 * Section 4.3 measured: the top Hessian eigenvalue (and trace) of each run's training loss against its
 * normal-cell width, the paper's claim beside the numbers, and whether the numbers agree with it
 * (grouping, verdict and wording in src/shared/smoothness.ts, shared with the results panel).
 */
function smoothnessSection(runs: readonly ReportRun[]): Markup | undefined {
  const probed = runs.filter((r) => r.hessian !== undefined);
  if (probed.length === 0) return undefined;
  const { min, max } = widthRange(runs.map((r) => ({ width: r.record.genotype.normal.width })));
  const points = (value: (h: HessianFile) => number | null) =>
    probed.flatMap(({ record, hessian }) => {
      const y = value(hessian!);
      return y === null || !Number.isFinite(y) ? [] : [{ x: record.genotype.normal.width, y, colour: widthColour(record.genotype.normal.width, min, max), label: `${record.genotype.name}: ${formatTick(y)}` }];
    });
  const groups = smoothnessGroups(probed.map(({ record, hessian }) => ({ width: record.genotype.normal.width, topEigenvalue: hessian!.topEigenvalue, trace: hessian!.trace })));
  const rows = groups.map(
    (g) => html`<tr><td>${formatWidth(g.width)}</td><td>${g.count}</td><td>${g.lambda === null ? '–' : formatTick(g.lambda)}</td><td>${g.trace === null ? '–' : formatTick(g.trace)}</td></tr>`,
  );
  const verdict = smoothnessVerdict(groups);
  const how = smoothnessMethod(probed[0]!.hessian!);
  const scatters = [
    figure(renderScatter(points((h) => h.topEigenvalue), { title: 'Top Hessian eigenvalue vs width', xLabel: 'normal-cell width (c)', yLabel: 'λ_max', chart: 'hessian-width', formatX: (x) => formatWidth(x) })),
    figure(renderScatter(points((h) => h.trace), { title: 'Hessian trace vs width', xLabel: 'normal-cell width (c)', yLabel: 'trace', chart: 'hessian-trace-width', formatX: (x) => formatWidth(x) })),
  ];
  return html`<section id="smoothness"><h2>Smoothness (Section 4.3)</h2><p>The paper: ${SMOOTHNESS_CLAIM}</p><p>${how}</p><p class="verdict">${verdict}</p><div class="multiples">${scatters}</div><table class="smoothness"><thead><tr><th>Width</th><th>Runs</th><th>Mean λ_max</th><th>Mean trace</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

/**
 * Section 4.3 during training: λ_max per epoch (hessian-epochs.jsonl, `--hessian-every N`), one curve per run
 * coloured by normal-cell width as the convergence figures, the paper's claim beside it, and whether the widest
 * group's λ_max stays below the narrowest's epoch by epoch. Shaped (series, colours) and worded by
 * src/shared/chartData.ts and smoothness.ts, as the results panel's chart. Absent when no run has the data
 * and no file was refused.
 */
function epochSmoothnessSection(runs: readonly ReportRun[]): Markup | undefined {
  const chartRuns: ChartRun[] = runs.map((r) => ({ ...chartRun(r), probes: { ...NO_PROBES, hessianEpochs: r.hessianEpochs ?? [] } }));
  const problems = runs.flatMap((r) => r.probeProblems ?? []);
  const summary = epochSmoothnessSummary(chartRuns);
  const problemList =
    problems.length > 0 ? html`<ul class="problems">${problems.map((p) => html`<li>Skipped ${p}</li>`)}</ul>` : undefined;
  if (summary === undefined) {
    if (problems.length === 0) return undefined;
    return html`<section id="hessian-epochs"><h2>Smoothness during training (Section 4.3)</h2><p class="note">${missingProbeNote('hessianEpochs', chartRuns) ?? ''}</p>${problemList}</section>`;
  }
  const spec = probeChartSpec('hessianEpochs');
  const series: LineSeries[] = probeSeries('hessianEpochs', chartRuns).map(({ label, colour, points }) => ({ label, colour, points }));
  const chart = figure(renderLineChart(series, { title: spec.title, xLabel: spec.xLabel, yLabel: spec.yLabel, chart: 'hessian-epochs' }));
  const c = summary.comparison;
  const table =
    c !== undefined && c.rows.length > 0
      ? html`<table class="hessian-epochs" data-rows="${c.rows.length}"><thead><tr><th>Epoch</th><th>Mean λ_max at ${formatWidth(c.narrow.width)} (${c.narrow.count} run${c.narrow.count === 1 ? '' : 's'})</th><th>Mean λ_max at ${formatWidth(c.wide.width)} (${c.wide.count} run${c.wide.count === 1 ? '' : 's'})</th></tr></thead><tbody>${c.rows.map(
          (r) => html`<tr${r.wide < r.narrow ? html` class="wide-below"` : ''}><td>${r.epoch}</td><td>${formatTick(r.narrow)}</td><td>${formatTick(r.wide)}</td></tr>`,
        )}</tbody></table>`
      : undefined;
  const missing = missingProbeNote('hessianEpochs', chartRuns);
  return html`<section id="hessian-epochs"><h2>Smoothness during training (Section 4.3)</h2><p>The paper: ${summary.claim}</p><p>${summary.method}</p><p class="verdict">${summary.verdict}</p><div class="multiples">${chart}</div>${table}${missing !== undefined ? html`<p class="note">${missing}</p>` : ''}${problemList}</section>`;
}

const STYLE = `
body{font-family:system-ui,-apple-system,'Segoe UI','DejaVu Sans',sans-serif;margin:24px;color:#222;background:#fafafa;max-width:1400px}
h1{font-size:1.5em;margin-bottom:0.2em}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:1.8em}h3{font-size:1em;margin:1.2em 0 0.4em}
.meta{color:#555;font-size:0.9em}.note{color:#8a5300}
.multiples{display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start}
.groups{display:flex;flex-wrap:wrap;gap:8px 28px;align-items:flex-start}.group{border-left:3px solid #ddd;padding-left:10px}
figure{margin:0;background:#fff;border:1px solid #ddd;padding:4px}figure svg{display:block;max-width:100%;height:auto}figcaption{font-size:0.8em;color:#555}
table{border-collapse:collapse;font-size:0.9em;background:#fff}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th{background:#f0f0f0}
td:first-child,th:first-child{text-align:left}tr.original{font-weight:bold}td.run-id{font-family:monospace;font-size:0.85em;color:#666}
`;

/** The report's sections as markup; run.json values are escaped here even where their type says number (a shared folder may hold anything). */
function reportBody(input: ReportInput): Markup {
  const summary = summarizeReport(input);
  const first = input.runs[0]?.record;
  const meta = first
    ? html`${first.config.dataset}, preset ${first.config.preset}, ${first.config.epochs} epochs, C = ${first.config.channels}, ${first.config.layers} cells, batch ${first.config.batchSize}, backend ${first.backend?.backend ?? first.config.backend}`
    : 'no runs';
  const notes = (input.notes ?? []).map((n) => html`<p class="meta">${n}</p>`);
  const sections =
    input.runs.length === 0
      ? html`<p class="note">No runs to report.</p>`
      : [cellsSection(input.runs), convergenceSection(input.runs), tableSection(summary, input.runs), kindSection(summary, input.runs, input.protocol), speedSection(summary), landscapeSection(input.runs, input.landscapesPlanned !== false), varianceSection(input.runs), smoothnessSection(input.runs), epochSmoothnessSection(input.runs)];
  return html`<header><h1>${input.title}</h1><p class="meta">${input.runs.length} runs · ${meta} · generated ${input.generatedAt}</p>${notes}</header>${sections}`;
}

/** The report's sections as an HTML fragment (the panel embeds the same). */
export function renderReportBody(input: ReportInput): string {
  return reportBody(input).toString();
}

/** The CSP source that allows exactly this inline text (a <style> or <script> element's content). */
export function cspHash(inline: string): string {
  return `'sha256-${createHash('sha256').update(inline, 'utf8').digest('base64')}'`;
}

/**
 * The standalone report's Content-Security-Policy: nothing remote, no script
 * at all, the one inline stylesheet by its hash, images only as data: URLs.
 * A report travels with run folders that other people wrote; should escaping
 * ever miss a place, the browser still runs none of it.
 */
export const REPORT_CSP = `default-src 'none'; style-src ${cspHash(STYLE)}; img-src data:; script-src 'none'; base-uri 'none'; form-action 'none'`;

/** The whole report as a standalone HTML document. */
export function renderReport(input: ReportInput): string {
  return html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${REPORT_CSP}"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${input.title}</title><style>${trustedMarkup(STYLE)}</style></head>
<body>${reportBody(input)}</body></html>
`.toString();
}

export const REPORT_STYLE = STYLE;
