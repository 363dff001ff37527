/**
 * How training runs become charts and tables: which metrics are drawn, one
 * series per run and metric with points (epoch, value), labels that carry the
 * normal cell's width and depth, colours ordered by width (narrow cool, wide
 * warm, so the paper's wide-vs-narrow story shows at a glance), when a log
 * scale helps, and the summary table with its sorting and CSV text.
 *
 * Also the probes' charts (Section 4.3 smoothness against width, λ_max per
 * epoch, 1D loss and accuracy slices), shaped from what the host read of each
 * run's hessian.json, hessian-epochs.jsonl and landscape.json (`RunProbes`).
 *
 * Pure (no DOM, no vscode, no node): the results panel's host and webview both
 * use it, and so does the standalone report.
 */
import { formatWidth } from '../genotype/metrics.js';
import { centreSlices, type HessianEpochLine, type HessianFile, type LandscapeFile } from './landscapeTypes.js';
import type { MetricsLine, RunStatus } from './runTypes.js';
import {
  epochSmoothnessComparison,
  epochSmoothnessVerdict,
  SMOOTHNESS_CLAIM,
  SMOOTHNESS_EPOCHS_METHOD,
  smoothnessGroups,
  smoothnessMethod,
  smoothnessVerdict,
  type EpochSmoothnessComparison,
  type SmoothnessGroup,
} from './smoothness.js';

/** What a chart or table needs to know about one run (a digest of run.json). */
export interface ChartRunInfo {
  readonly id: string;
  readonly genotype: string;
  /** Normal cell width (in c) and depth: the paper's axes. */
  readonly width: number;
  readonly depth: number;
  readonly params: number;
  readonly status: RunStatus;
  readonly reason?: string;
  /** Epochs the run is configured for. */
  readonly epochs: number;
  readonly dataset: string;
  /** The engine that ran it ('-' before it has been chosen). */
  readonly backend: string;
}

export interface ChartRun {
  readonly info: ChartRunInfo;
  readonly metrics: readonly MetricsLine[];
  /** What the probes computed besides the per-epoch metrics (absent: not read, as for the report's own charts). */
  readonly probes?: RunProbes;
}

/** The numeric fields of a metrics line that can be plotted against the epoch. */
export type MetricField = 'trainLoss' | 'testLoss' | 'trainAcc' | 'testAcc' | 'gradVariance' | 'gradVarianceRatio' | 'lr' | 'imagesPerSecond';

export interface ChartSeriesSpec {
  readonly field: MetricField;
  /** Appended to the run's label in the legend ('test', 'train'); empty for single-series charts. */
  readonly suffix: string;
  /** Training curves are dashed, test curves solid. */
  readonly dashed: boolean;
}

export interface ChartSpec {
  readonly id: ChartId;
  readonly title: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeriesSpec[];
  /** Whether a log y axis may be chosen (see `useLogScale`). */
  readonly logCandidate: boolean;
  /** Values shown as percentages (accuracies are stored as fractions). */
  readonly percent: boolean;
}

export const CHART_IDS = ['loss', 'accuracy', 'gradVariance', 'lr', 'throughput'] as const;
export type ChartId = (typeof CHART_IDS)[number];

export const CHARTS: readonly ChartSpec[] = [
  {
    id: 'loss',
    title: 'Loss',
    yLabel: 'cross-entropy',
    series: [
      { field: 'testLoss', suffix: 'test', dashed: false },
      { field: 'trainLoss', suffix: 'train', dashed: true },
    ],
    logCandidate: true,
    percent: false,
  },
  {
    id: 'accuracy',
    title: 'Accuracy',
    yLabel: 'accuracy (%)',
    series: [
      { field: 'testAcc', suffix: 'test', dashed: false },
      { field: 'trainAcc', suffix: 'train', dashed: true },
    ],
    logCandidate: false,
    percent: true,
  },
  {
    id: 'gradVariance',
    title: 'Gradient variance',
    yLabel: '(1/K) Σ‖g_k − ḡ‖²',
    series: [{ field: 'gradVariance', suffix: '', dashed: false }],
    logCandidate: true,
    percent: false,
  },
  {
    id: 'lr',
    title: 'Learning rate',
    yLabel: 'learning rate',
    series: [{ field: 'lr', suffix: '', dashed: false }],
    logCandidate: false,
    percent: false,
  },
  {
    id: 'throughput',
    title: 'Throughput',
    yLabel: 'training images / s',
    series: [{ field: 'imagesPerSecond', suffix: '', dashed: false }],
    logCandidate: false,
    percent: false,
  },
];

export function chartSpec(id: ChartId): ChartSpec {
  return CHARTS.find((c) => c.id === id)!;
}

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
}

/** One line of a chart: one run's values of one field. */
export interface ChartSeries {
  readonly runId: string;
  readonly field: MetricField;
  readonly label: string;
  readonly colour: string;
  readonly dashed: boolean;
  readonly points: readonly ChartPoint[];
}

/** `DARTS_V2 · 3.5c d3`: the legend names a run by genotype and normal-cell shape. */
export function runLabel(info: Pick<ChartRunInfo, 'genotype' | 'width' | 'depth'>): string {
  return `${info.genotype} · ${formatWidth(info.width)} d${info.depth}`;
}

/**
 * The points of `field` from metrics lines `from` onwards (so live updates send
 * only the new ones). A missing value (no probe: null; a NaN loss is written
 * as null) gives no point rather than a zero; accuracies become percentages.
 */
export function pointsOf(metrics: readonly MetricsLine[], field: MetricField, percent: boolean, from = 0): ChartPoint[] {
  const out: ChartPoint[] = [];
  for (let i = Math.max(0, from); i < metrics.length; i++) {
    const line = metrics[i]!;
    const value = line[field];
    if (typeof value !== 'number' || !Number.isFinite(value)) continue;
    out.push({ x: line.epoch, y: percent ? value * 100 : value });
  }
  return out;
}

/** Narrowest and widest colours of the width scale, as HSL hues (blue → red). */
const NARROW_HUE = 220;
const WIDE_HUE = 0;

/**
 * The colour of a run of normal-cell width `width` among runs whose widths
 * span [min, max]: hue from blue (narrowest) to red (widest). Equal widths get
 * equal colours; a single width gets the middle of the scale.
 */
export function widthColour(width: number, min: number, max: number): string {
  const t = max > min ? Math.min(1, Math.max(0, (width - min) / (max - min))) : 0.5;
  const hue = Math.round(NARROW_HUE + (WIDE_HUE - NARROW_HUE) * t);
  return `hsl(${hue}, 70%, 55%)`;
}

export function widthRange(runs: readonly Pick<ChartRunInfo, 'width'>[]): { min: number; max: number } {
  if (runs.length === 0) return { min: 0, max: 0 };
  let min = Infinity;
  let max = -Infinity;
  for (const r of runs) {
    min = Math.min(min, r.width);
    max = Math.max(max, r.width);
  }
  return { min, max };
}

/** Every series of chart `id` for `runs`, runs ordered by width then id so legends read narrow → wide. */
export function chartSeries(id: ChartId, runs: readonly ChartRun[]): ChartSeries[] {
  const spec = chartSpec(id);
  const { min, max } = widthRange(runs.map((r) => r.info));
  const ordered = [...runs].sort((a, b) => a.info.width - b.info.width || a.info.id.localeCompare(b.info.id));
  const out: ChartSeries[] = [];
  for (const run of ordered) {
    const colour = widthColour(run.info.width, min, max);
    const base = runLabel(run.info);
    for (const s of spec.series) {
      out.push({
        runId: run.info.id,
        field: s.field,
        label: s.suffix ? `${base} (${s.suffix})` : base,
        colour,
        dashed: s.dashed,
        points: pointsOf(run.metrics, s.field, spec.percent),
      });
    }
  }
  return out;
}

/**
 * Whether chart `id` reads better on a log axis: only for charts where that
 * makes sense, only when every value is positive, and only when the values
 * span at least `minDecades` orders of magnitude (a loss falling from 2.3 to
 * 0.05, gradient variance shrinking a hundredfold).
 */
export function useLogScale(id: ChartId, series: readonly Pick<ChartSeries, 'points'>[], minDecades = 1): boolean {
  if (!chartSpec(id).logCandidate) return false;
  let min = Infinity;
  let max = -Infinity;
  for (const s of series) {
    for (const p of s.points) {
      if (p.y <= 0) return false;
      min = Math.min(min, p.y);
      max = Math.max(max, p.y);
    }
  }
  return Number.isFinite(min) && Math.log10(max / min) >= minDecades;
}

// ---- the table -----------------------------------------------------------

export interface RunTableRow {
  readonly id: string;
  readonly genotype: string;
  readonly width: number;
  readonly depth: number;
  readonly params: number;
  readonly status: RunStatus;
  readonly epochs: number;
  readonly totalEpochs: number;
  /** Fractions; null before the first epoch. */
  readonly bestTestAcc: number | null;
  readonly finalTestAcc: number | null;
  readonly finalTestLoss: number | null;
  /** First epoch whose test loss is at or below the threshold; null when none is. */
  readonly epochsToLoss: number | null;
  /** Seconds of training so far (sum of the epochs' seconds). */
  readonly seconds: number;
}

export const TABLE_COLUMNS = [
  'genotype',
  'width',
  'depth',
  'params',
  'status',
  'epochs',
  'bestTestAcc',
  'finalTestAcc',
  'finalTestLoss',
  'epochsToLoss',
  'seconds',
] as const;
export type TableColumn = (typeof TABLE_COLUMNS)[number];

export const COLUMN_TITLES: Record<TableColumn, string> = {
  genotype: 'Genotype',
  width: 'Width (c)',
  depth: 'Depth',
  params: 'Params',
  status: 'Status',
  epochs: 'Epochs',
  bestTestAcc: 'Best test acc',
  finalTestAcc: 'Final test acc',
  finalTestLoss: 'Final test loss',
  epochsToLoss: 'Epochs to loss',
  seconds: 'Time (s)',
};

/** First epoch at which `field` is at or below `threshold` (losses fall), or null. */
export function epochsToReach(metrics: readonly MetricsLine[], field: 'testLoss' | 'trainLoss', threshold: number): number | null {
  for (const m of metrics) {
    const v = m[field];
    if (typeof v === 'number' && v <= threshold) return m.epoch;
  }
  return null;
}

export function tableRow(run: ChartRun, lossThreshold: number): RunTableRow {
  const { info, metrics } = run;
  let best: number | null = null;
  let seconds = 0;
  for (const m of metrics) {
    if (typeof m.testAcc === 'number' && (best === null || m.testAcc > best)) best = m.testAcc;
    if (typeof m.seconds === 'number') seconds += m.seconds;
  }
  const last = metrics[metrics.length - 1];
  return {
    id: info.id,
    genotype: info.genotype,
    width: info.width,
    depth: info.depth,
    params: info.params,
    status: info.status,
    epochs: last?.epoch ?? 0,
    totalEpochs: info.epochs,
    bestTestAcc: best,
    finalTestAcc: typeof last?.testAcc === 'number' ? last.testAcc : null,
    finalTestLoss: typeof last?.testLoss === 'number' ? last.testLoss : null,
    epochsToLoss: epochsToReach(metrics, 'testLoss', lossThreshold),
    seconds,
  };
}

export type SortDirection = 'asc' | 'desc';

/**
 * Rows sorted by `column`; missing values (null: no epoch yet, threshold never
 * reached) go last in either direction, and ties keep the run id order so the
 * result does not depend on the input order.
 */
export function sortRows(rows: readonly RunTableRow[], column: TableColumn, direction: SortDirection): RunTableRow[] {
  const sign = direction === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = a[column];
    const y = b[column];
    if (x === null || y === null) {
      if (x === y) return a.id.localeCompare(b.id);
      return x === null ? 1 : -1;
    }
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return c !== 0 ? sign * c : a.id.localeCompare(b.id);
  });
}

/** A CSV field, quoted when it holds a separator, quote or line break (RFC 4180). */
function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The table as CSV: machine-readable values (fractions, seconds), empty for missing ones. */
export function rowsToCsv(rows: readonly RunTableRow[], lossThreshold: number): string {
  const header = ['run', 'genotype', 'width_c', 'depth', 'params', 'status', 'epochs', 'total_epochs', 'best_test_acc', 'final_test_acc', 'final_test_loss', `epochs_to_test_loss_${lossThreshold}`, 'seconds'];
  const lines = [header.join(',')];
  for (const r of rows) {
    const cells = [r.id, r.genotype, r.width, r.depth, r.params, r.status, r.epochs, r.totalEpochs, r.bestTestAcc, r.finalTestAcc, r.finalTestLoss, r.epochsToLoss, r.seconds];
    lines.push(cells.map((c) => csvField(c === null ? '' : String(c))).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** A table cell for display. */
export function formatCell(row: RunTableRow, column: TableColumn): string {
  const pct = (x: number | null) => (x === null ? '–' : `${(x * 100).toFixed(2)}%`);
  switch (column) {
    case 'width':
      return formatWidth(row.width);
    case 'params':
      return row.params.toLocaleString('en-US');
    case 'epochs':
      return `${row.epochs}/${row.totalEpochs}`;
    case 'bestTestAcc':
      return pct(row.bestTestAcc);
    case 'finalTestAcc':
      return pct(row.finalTestAcc);
    case 'finalTestLoss':
      return row.finalTestLoss === null ? '–' : row.finalTestLoss.toFixed(4);
    case 'epochsToLoss':
      return row.epochsToLoss === null ? '–' : String(row.epochsToLoss);
    case 'seconds':
      return row.seconds.toFixed(1);
    default:
      return String(row[column]);
  }
}

// ---- the probes: smoothness against width, λ_max per epoch, 1D slices ------------------

/** The 1D slice through the trained weights along the first direction (β = 0): the landscape grid's centre row. */
export interface ProbeSlice {
  /** α, −range … range. */
  readonly coordinates: readonly number[];
  readonly loss: readonly (number | null)[];
  /** Fractions in [0, 1]. */
  readonly accuracy: readonly (number | null)[];
  /** Epochs of training behind the centre weights. */
  readonly epoch: number;
}

/** The smoothness probe's numbers of one run, as the panel shows them (a digest of hessian.json). */
export type ProbeHessian = Pick<HessianFile, 'epoch' | 'topEigenvalue' | 'trace' | 'iterations' | 'traceSamples' | 'batches' | 'batchSize' | 'converged'>;

/**
 * What the probes computed for one run, read by the host from the run's
 * files (only what the charts need: the slice, not the whole grid). Files
 * that were there but did not fit are named in `problems` and left out.
 */
export interface RunProbes {
  readonly hessian?: ProbeHessian;
  readonly hessianEpochs: readonly HessianEpochLine[];
  readonly slice?: ProbeSlice;
  readonly problems: readonly string[];
}

export const NO_PROBES: RunProbes = { hessianEpochs: [], problems: [] };

/** The slice the panel draws from a landscape file; undefined for an even grid (no centre through the trained weights). */
export function sliceOf(file: Pick<LandscapeFile, 'grid' | 'loss' | 'accuracy' | 'coordinates' | 'epoch'>): ProbeSlice | undefined {
  const s = centreSlices(file);
  if (s === undefined) return undefined;
  return { coordinates: [...file.coordinates], loss: s.first, accuracy: s.firstAccuracy, epoch: file.epoch };
}

/** The digest of a hessian.json the panel carries. */
export function probeHessianOf(file: HessianFile): ProbeHessian {
  const { epoch, topEigenvalue, trace, iterations, traceSamples, batches, batchSize, converged } = file;
  return { epoch, topEigenvalue, trace, iterations, traceSamples, batches, batchSize, converged };
}

export const PROBE_CHART_IDS = ['hessianWidth', 'traceWidth', 'hessianEpochs', 'sliceLoss', 'sliceAccuracy'] as const;
export type ProbeChartId = (typeof PROBE_CHART_IDS)[number];
/** Every chart the results panel draws (and exports as PNG). */
export type PanelChartId = ChartId | ProbeChartId;
export const PANEL_CHART_IDS: readonly PanelChartId[] = [...CHART_IDS, ...PROBE_CHART_IDS];

export interface ProbeChartSpec {
  readonly id: ProbeChartId;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Points only, no lines (one point per run against its width). */
  readonly scatter: boolean;
  /** The x axis is the normal-cell width: ticks read `3.5c`. */
  readonly widthAxis: boolean;
}

export const PROBE_CHARTS: readonly ProbeChartSpec[] = [
  { id: 'hessianWidth', title: 'Top Hessian eigenvalue vs width', xLabel: 'normal-cell width (c)', yLabel: 'λ_max', scatter: true, widthAxis: true },
  { id: 'traceWidth', title: 'Hessian trace vs width', xLabel: 'normal-cell width (c)', yLabel: 'trace', scatter: true, widthAxis: true },
  { id: 'hessianEpochs', title: 'Top Hessian eigenvalue per epoch', xLabel: 'epoch', yLabel: 'λ_max', scatter: false, widthAxis: false },
  { id: 'sliceLoss', title: '1D slice: test loss', xLabel: 'α (direction 1, β = 0)', yLabel: 'test loss', scatter: false, widthAxis: false },
  { id: 'sliceAccuracy', title: '1D slice: test accuracy', xLabel: 'α (direction 1, β = 0)', yLabel: 'test accuracy (%)', scatter: false, widthAxis: false },
];

export function probeChartSpec(id: ProbeChartId): ProbeChartSpec {
  return PROBE_CHARTS.find((c) => c.id === id)!;
}

/** One run's points in a probe chart. */
export interface ProbeSeries {
  readonly runId: string;
  readonly label: string;
  readonly colour: string;
  readonly points: readonly ChartPoint[];
}

function finite(y: number | null | undefined): y is number {
  return typeof y === 'number' && Number.isFinite(y);
}

/** The points of probe chart `id` for one run (none when the run lacks that probe). */
export function probePoints(id: ProbeChartId, run: ChartRun): ChartPoint[] {
  const probes = run.probes ?? NO_PROBES;
  switch (id) {
    case 'hessianWidth':
      return finite(probes.hessian?.topEigenvalue) ? [{ x: run.info.width, y: probes.hessian.topEigenvalue }] : [];
    case 'traceWidth':
      return finite(probes.hessian?.trace) ? [{ x: run.info.width, y: probes.hessian.trace }] : [];
    case 'hessianEpochs':
      return probes.hessianEpochs.flatMap((l) => (finite(l.topEigenvalue) ? [{ x: l.epoch, y: l.topEigenvalue }] : []));
    case 'sliceLoss':
    case 'sliceAccuracy': {
      const slice = probes.slice;
      if (slice === undefined) return [];
      const values = id === 'sliceLoss' ? slice.loss : slice.accuracy;
      // A point that diverged (null) is left out, not drawn as zero.
      return values.flatMap((v, k) => (finite(v) && finite(slice.coordinates[k]) ? [{ x: slice.coordinates[k], y: id === 'sliceAccuracy' ? 100 * v : v }] : []));
    }
  }
}

/**
 * Every run's series of probe chart `id`, narrow to wide as the epoch charts,
 * coloured on the width scale of all `runs` (so a run has one colour
 * everywhere); runs without that probe give no series.
 */
export function probeSeries(id: ProbeChartId, runs: readonly ChartRun[]): ProbeSeries[] {
  const { min, max } = widthRange(runs.map((r) => r.info));
  const ordered = [...runs].sort((a, b) => a.info.width - b.info.width || a.info.id.localeCompare(b.info.id));
  return ordered.flatMap((run) => {
    const points = probePoints(id, run);
    return points.length === 0 ? [] : [{ runId: run.info.id, label: runLabel(run.info), colour: widthColour(run.info.width, min, max), points }];
  });
}

/** The smoothness section's text and table: the paper's claim beside what these runs measured. */
export interface SmoothnessSummary {
  readonly claim: string;
  readonly method: string;
  readonly verdict: string;
  readonly groups: readonly SmoothnessGroup[];
}

/** Undefined when no run has the end-of-run probe (hessian.json). */
export function smoothnessSummary(runs: readonly ChartRun[]): SmoothnessSummary | undefined {
  const probed = runs.filter((r) => r.probes?.hessian !== undefined);
  const first = probed[0]?.probes?.hessian;
  if (first === undefined) return undefined;
  const groups = smoothnessGroups(probed.map((r) => ({ width: r.info.width, topEigenvalue: r.probes!.hessian!.topEigenvalue, trace: r.probes!.hessian!.trace })));
  return { claim: SMOOTHNESS_CLAIM, method: smoothnessMethod(first), verdict: smoothnessVerdict(groups), groups };
}

/** The per-epoch λ_max section's text: the paper's claim, how it was measured, and the narrowest group against the widest epoch by epoch. */
export interface EpochSmoothnessSummary {
  readonly claim: string;
  readonly method: string;
  readonly verdict: string;
  /** Undefined with fewer than two widths that have per-epoch data. */
  readonly comparison: EpochSmoothnessComparison | undefined;
  /** Runs with per-epoch data. */
  readonly runs: number;
}

/** Undefined when no run has per-epoch data (hessian-epochs.jsonl). */
export function epochSmoothnessSummary(runs: readonly ChartRun[]): EpochSmoothnessSummary | undefined {
  const probed = runs.filter((r) => hasProbe('hessianEpochs', r));
  if (probed.length === 0) return undefined;
  const comparison = epochSmoothnessComparison(probed.map((r) => ({ width: r.info.width, lines: r.probes!.hessianEpochs })));
  return { claim: SMOOTHNESS_CLAIM, method: SMOOTHNESS_EPOCHS_METHOD, verdict: epochSmoothnessVerdict(comparison), comparison, runs: probed.length };
}

/** The panel's probe sections and the runs each one lacks. */
export const PROBE_SECTIONS = ['smoothness', 'hessianEpochs', 'slices'] as const;
export type ProbeSection = (typeof PROBE_SECTIONS)[number];

/** Whether `run` has what section `section` draws. */
export function hasProbe(section: ProbeSection, run: ChartRun): boolean {
  const probes = run.probes ?? NO_PROBES;
  switch (section) {
    case 'smoothness':
      return probes.hessian !== undefined;
    case 'hessianEpochs':
      return probes.hessianEpochs.length > 0;
    case 'slices':
      return probes.slice !== undefined;
  }
}

/**
 * What to tell about the runs that lack section `section`'s data: which
 * runs, and the command that computes it. Undefined when none lacks it.
 */
export function missingProbeNote(section: ProbeSection, runs: readonly ChartRun[]): string | undefined {
  const missing = runs.filter((r) => !hasProbe(section, r));
  if (missing.length === 0) return undefined;
  const names = missing.map((r) => runLabel(r.info)).join(', ');
  const one = missing.length === 1 ? missing[0]!.info.id : 'RUN';
  switch (section) {
    case 'smoothness':
      return `No smoothness probe (hessian.json) for ${names}. Compute it with: cellscope hessian ${one}`;
    case 'hessianEpochs':
      return `No per-epoch Hessian (hessian-epochs.jsonl) for ${names}. Train with: cellscope train GENOTYPE --hessian-every N (or cellscope experiment ARCH --hessian-every N)`;
    case 'slices':
      return `No loss landscape (landscape.json, odd grid) for ${names}. Compute it with: cellscope landscape ${one}`;
  }
}
