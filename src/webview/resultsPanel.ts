/**
 * Browser side of the results panel (bundled to dist/webview/resultsPanel.js
 * with Chart.js; no remote content). One line chart per metric group (loss,
 * accuracy, gradient variance, learning rate, throughput) against the epoch,
 * a series per run and metric as shaped by src/shared/chartData.ts: legend
 * entries carry width and depth, colours go from blue (narrow) to red (wide),
 * a log axis where the values span decades. Live updates append points to the
 * existing datasets and update without animation; nothing is rebuilt. Below,
 * a sortable table of the runs with CSV export; each chart exports as PNG.
 *
 * Below them, the probes (section #probes): λ_max and trace of each run
 * against its normal-cell width with the paper's Section 4.3 claim, how it
 * was measured and whether these runs agree (the same words as the report:
 * src/shared/smoothness.ts), λ_max per epoch from the trainer's
 * --hessian-every, and the 1D loss and accuracy slices through the trained
 * weights. A section whose runs lack the data says which and the command
 * that computes it; a broken probe file is listed with its field.
 *
 * Each chart's figure carries `data-points` (points per series) so tests can
 * check what is drawn without reading pixels.
 */
// chart.js is an ES module and this project compiles as CommonJS: the types come with
// resolution-mode 'import', the code through import() (esbuild inlines it into the bundle).
import type { Chart, ChartDataset } from 'chart.js' with { 'resolution-mode': 'import' };
import {
  CHARTS,
  chartSeries,
  COLUMN_TITLES,
  epochSmoothnessSummary,
  formatCell,
  missingProbeNote,
  NO_PROBES,
  pointsOf,
  PROBE_CHARTS,
  probeSeries,
  smoothnessSummary,
  sortRows,
  TABLE_COLUMNS,
  tableRow,
  useLogScale,
  type ChartPoint,
  type ChartRun,
  type ChartRunInfo,
  type PanelChartId,
  type ProbeChartId,
  type ProbeSection,
  type RunProbes,
  type TableColumn,
} from '../shared/chartData.js';
import { formatWidth } from '../genotype/metrics.js';
import { formatTick } from '../shared/numberFormat.js';
import { SMOOTHNESS_CLAIM, SMOOTHNESS_EPOCHS_METHOD } from '../shared/smoothness.js';
import type { ResultsPanelFromWebview, ResultsPanelState, ResultsPanelToWebview, WebviewApi } from '../shared/protocol.js';
import type { MetricsLine } from '../shared/runTypes.js';

declare function acquireVsCodeApi(): WebviewApi<ResultsPanelFromWebview, ResultsPanelState>;

const vscode = acquireVsCodeApi();
const STATUS_MS = 4000;

const chartsEl = document.getElementById('charts')!;
const probesEl = document.getElementById('probes')!;
const tableHead = document.querySelector('#runs-table thead')!;
const tableBody = document.querySelector('#runs-table tbody')!;
const thresholdEl = document.getElementById('threshold') as HTMLInputElement;
const summaryEl = document.getElementById('summary')!;
const statusEl = document.getElementById('status')!;

type LineDataset = ChartDataset<'line', ChartPoint[]> & { key: string };

interface DrawnChart {
  readonly id: PanelChartId;
  readonly figure: HTMLElement;
  readonly chart: Chart<'line', ChartPoint[]>;
  readonly logBox: HTMLInputElement;
  /** Whether the values call for a log axis (never for charts where log makes no sense). */
  readonly autoLog: (series: { points: ChartPoint[] }[]) => boolean;
  /** The user ticked or unticked "log": stop choosing the axis for them. */
  logChosen: boolean;
}

let ChartClass: typeof Chart | undefined;
let state: ResultsPanelState | undefined;
const runs = new Map<string, { info: ChartRunInfo; metrics: MetricsLine[]; probes: RunProbes }>();
/** The epoch charts (they grow with `append`). */
let drawn: DrawnChart[] = [];
/** The probe charts (redrawn whole when a run's probes change). */
let drawnProbes: DrawnChart[] = [];
let statusTimer: ReturnType<typeof setTimeout> | undefined;

function post(message: ResultsPanelFromWebview): void {
  vscode.postMessage(message);
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

/** Text, grid and font from the VS Code theme. */
function themeColours() {
  return {
    text: cssVar('--vscode-foreground', '#cccccc'),
    muted: cssVar('--vscode-descriptionForeground', '#999999'),
    grid: cssVar('--vscode-editorWidget-border', cssVar('--vscode-panel-border', 'rgba(128,128,128,0.3)')),
    font: cssVar('--vscode-font-family', 'sans-serif'),
  };
}

function chartRuns(): ChartRun[] {
  return [...runs.values()].map((r) => ({ info: r.info, metrics: r.metrics, probes: r.probes }));
}

function showStatus(message: string): void {
  statusEl.textContent = message;
  if (statusTimer) clearTimeout(statusTimer);
  statusTimer = setTimeout(() => (statusEl.textContent = ''), STATUS_MS);
}

/** Points per series, on the figure, for tests and screen readers' benefit alike. */
function markPoints(d: DrawnChart): void {
  const counts: Record<string, number> = {};
  for (const ds of d.chart.data.datasets as LineDataset[]) counts[ds.key] = ds.data.length;
  d.figure.dataset['points'] = JSON.stringify(counts);
  d.figure.dataset['scale'] = d.chart.options.scales?.['y']?.type === 'logarithmic' ? 'log' : 'linear';
}

function applyScale(d: DrawnChart): void {
  const log = d.logChosen ? d.logBox.checked : d.autoLog((d.chart.data.datasets as LineDataset[]).map((ds) => ({ points: ds.data })));
  d.logBox.checked = log;
  const y = d.chart.options.scales!['y']!;
  const wanted = log ? 'logarithmic' : 'linear';
  if (y.type !== wanted) y.type = wanted;
}

/** What a figure draws: its title and axes, and its datasets already shaped. */
interface FigureSpec {
  readonly id: PanelChartId;
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logCandidate: boolean;
  readonly autoLog: DrawnChart['autoLog'];
  readonly datasets: LineDataset[];
  /** How x ticks read (widths as `3.5c`); default: numbers, whole for epochs. */
  readonly formatX?: (x: number) => string;
  readonly integerX: boolean;
  /** Tick spacing of the x axis (widths come in half c) and room beyond the data, so edge points are whole. */
  readonly xStep?: number;
  readonly xPad?: number;
}

/** A chart's figure (title, log box, PNG export, canvas) appended to `parent`, drawn by Chart.js. */
function buildFigure(parent: HTMLElement, spec: FigureSpec): DrawnChart {
  const colours = themeColours();
  const figure = document.createElement('figure');
  figure.className = 'chart';
  figure.dataset['chart'] = spec.id;
  const header = document.createElement('header');
  const title = document.createElement('h2');
  title.textContent = spec.title;
  const logLabel = document.createElement('label');
  const logBox = document.createElement('input');
  logBox.type = 'checkbox';
  logBox.hidden = !spec.logCandidate;
  logLabel.hidden = !spec.logCandidate;
  logLabel.append(logBox, ' log scale');
  const png = document.createElement('button');
  png.type = 'button';
  png.textContent = 'Export PNG';
  png.dataset['exportPng'] = spec.id;
  header.append(title, logLabel, png);
  const holder = document.createElement('div');
  holder.className = 'canvas-holder';
  const canvas = document.createElement('canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `${spec.title} against ${spec.xLabel}`);
  holder.append(canvas);
  figure.append(header, holder);
  // Attached before Chart.js sees the canvas: it then sizes and draws at once, rather than
  // waiting for an attach observer and an animation frame that a hidden webview may not get.
  parent.append(figure);

  const formatX = spec.formatX;
  const xs = spec.datasets.flatMap((ds) => ds.data.map((p) => p.x));
  const pad = spec.xPad !== undefined && xs.length > 0 ? { suggestedMin: Math.min(...xs) - spec.xPad, suggestedMax: Math.max(...xs) + spec.xPad } : {};
  const chart = new ChartClass!<'line', ChartPoint[]>(canvas, {
    type: 'line',
    data: { datasets: spec.datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,
      normalized: true,
      interaction: { mode: 'nearest', intersect: false },
      scales: {
        x: {
          type: 'linear',
          ...pad,
          title: { display: true, text: spec.xLabel, color: colours.muted },
          ticks: {
            color: colours.text,
            ...(spec.integerX ? { precision: 0 } : {}),
            ...(spec.xStep !== undefined ? { stepSize: spec.xStep } : {}),
            ...(formatX !== undefined ? { callback: (value: number | string) => formatX(Number(value)) } : {}),
          },
          grid: { color: colours.grid },
        },
        y: {
          type: 'linear',
          title: { display: true, text: spec.yLabel, color: colours.muted },
          ticks: { color: colours.text },
          grid: { color: colours.grid },
        },
      },
      plugins: {
        legend: { labels: { color: colours.text, boxWidth: 14, font: { family: colours.font } } },
        tooltip: { enabled: true },
      },
    },
  });
  const d: DrawnChart = { id: spec.id, figure, chart, logBox, autoLog: spec.autoLog, logChosen: false };
  logBox.addEventListener('change', () => {
    d.logChosen = true;
    applyScale(d);
    chart.update('none');
    markPoints(d);
  });
  applyScale(d);
  chart.update('none');
  markPoints(d);
  return d;
}

function buildChart(spec: (typeof CHARTS)[number], all: ChartRun[]): DrawnChart {
  const datasets: LineDataset[] = chartSeries(spec.id, all).map((s) => ({
    key: `${s.runId}|${s.field}`,
    label: s.label,
    data: [...s.points],
    borderColor: s.colour,
    backgroundColor: s.colour,
    borderDash: s.dashed ? [6, 4] : [],
    borderWidth: 2,
    pointRadius: 2,
    tension: 0,
  }));
  return buildFigure(chartsEl, {
    id: spec.id,
    title: spec.title,
    xLabel: 'epoch',
    yLabel: spec.yLabel,
    logCandidate: spec.logCandidate,
    autoLog: (series) => useLogScale(spec.id, series),
    datasets,
    integerX: true,
  });
}

/** One probe chart: a series per run that has the probe (scatter against width, or a line). */
function buildProbeChart(parent: HTMLElement, id: ProbeChartId, all: ChartRun[]): DrawnChart {
  const spec = PROBE_CHARTS.find((c) => c.id === id)!;
  const datasets: LineDataset[] = probeSeries(id, all).map((s) => ({
    key: `${s.runId}|${id}`,
    label: s.label,
    data: [...s.points],
    borderColor: s.colour,
    backgroundColor: s.colour,
    borderWidth: 2,
    pointRadius: spec.scatter ? 5 : 2,
    showLine: !spec.scatter,
    // Points on the plot's edge (the last epoch, the widest run) drawn whole, not cut by the axes.
    clip: false,
    tension: 0,
  }));
  return buildFigure(parent, {
    id,
    title: spec.title,
    xLabel: spec.xLabel,
    yLabel: spec.yLabel,
    logCandidate: false,
    autoLog: () => false,
    datasets,
    ...(spec.widthAxis ? { formatX: (x: number) => formatWidth(x), xStep: 0.5, xPad: 0.5 } : {}),
    integerX: id === 'hessianEpochs',
  });
}

function paragraph(className: string, text: string): HTMLParagraphElement {
  const p = document.createElement('p');
  p.className = className;
  p.textContent = text;
  return p;
}

/** A probe section: heading, what it says, its charts (only when some run has the data), and which runs lack it. */
function probeSection(section: ProbeSection, heading: string, all: ChartRun[], charts: readonly ProbeChartId[], intro: readonly HTMLElement[]): HTMLElement {
  const el = document.createElement('section');
  el.className = 'probe-section';
  el.dataset['section'] = section;
  const h = document.createElement('h2');
  h.textContent = heading;
  el.append(h, ...intro);
  if (charts.some((id) => probeSeries(id, all).length > 0)) {
    const grid = document.createElement('div');
    grid.className = 'probe-charts';
    el.append(grid);
    for (const id of charts) drawnProbes.push(buildProbeChart(grid, id, all));
  }
  const note = missingProbeNote(section, all);
  if (note !== undefined) el.append(paragraph('note', note));
  return el;
}

/** The smoothness table: per width, how many runs and their mean λ_max and trace. */
function smoothnessTable(groups: NonNullable<ReturnType<typeof smoothnessSummary>>['groups']): HTMLTableElement {
  const table = document.createElement('table');
  table.className = 'smoothness';
  const head = document.createElement('tr');
  for (const title of ['Width', 'Runs', 'Mean λ_max', 'Mean trace']) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = title;
    head.append(th);
  }
  const body = document.createElement('tbody');
  for (const g of groups) {
    const tr = document.createElement('tr');
    for (const text of [formatWidth(g.width), String(g.count), g.lambda === null ? '–' : formatTick(g.lambda), g.trace === null ? '–' : formatTick(g.trace)]) {
      const td = document.createElement('td');
      td.textContent = text;
      tr.append(td);
    }
    body.append(tr);
  }
  const thead = document.createElement('thead');
  thead.append(head);
  table.append(thead, body);
  return table;
}

/** The probe sections, from scratch (they are small: one point per run, a slice per run). */
function renderProbes(): void {
  for (const d of drawnProbes) d.chart.destroy();
  drawnProbes = [];
  probesEl.replaceChildren();
  const all = chartRuns();
  if (all.length === 0) return;
  const summary = smoothnessSummary(all);
  const smoothness = probeSection(
    'smoothness',
    'Smoothness (Section 4.3)',
    all,
    ['hessianWidth', 'traceWidth'],
    summary === undefined
      ? [paragraph('claim', `The paper: ${SMOOTHNESS_CLAIM}`)]
      : [paragraph('claim', `The paper: ${summary.claim}`), paragraph('method', summary.method), paragraph('verdict', summary.verdict)],
  );
  if (summary !== undefined) smoothness.insertBefore(smoothnessTable(summary.groups), smoothness.querySelector('p.note'));
  // The same method and verdict the report prints under its per-epoch chart (src/shared/smoothness.ts).
  const perEpoch = epochSmoothnessSummary(all);
  const epochs = probeSection('hessianEpochs', 'Top Hessian eigenvalue during training', all, ['hessianEpochs'], [
    paragraph('method', SMOOTHNESS_EPOCHS_METHOD),
    ...(perEpoch !== undefined ? [paragraph('verdict', perEpoch.verdict)] : []),
  ]);
  const slices = probeSection('slices', '1D slices along direction 1 (β = 0)', all, ['sliceLoss', 'sliceAccuracy'], [
    paragraph('method', 'Test loss and accuracy along one filter-normalised direction through the trained weights (the centre row of each run\'s loss landscape). A flatter, wider basin: a smoother landscape.'),
  ]);
  probesEl.append(smoothness, epochs, slices);
  const problems = all.flatMap((r) => r.probes?.problems ?? []);
  if (problems.length > 0) {
    const list = document.createElement('ul');
    list.className = 'problems';
    for (const problem of problems) {
      const li = document.createElement('li');
      li.textContent = `Skipped ${problem}`;
      list.append(li);
    }
    probesEl.append(list);
  }
}

function renderCharts(): void {
  for (const d of drawn) d.chart.destroy();
  chartsEl.replaceChildren();
  const all = chartRuns();
  drawn = CHARTS.map((spec) => buildChart(spec, all));
}

function renderTable(): void {
  if (!state) return;
  const { column, direction } = state.sort;
  const headRow = document.createElement('tr');
  for (const c of TABLE_COLUMNS) {
    const th = document.createElement('th');
    th.scope = 'col';
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset['sort'] = c;
    button.textContent = COLUMN_TITLES[c] + (c === column ? (direction === 'asc' ? ' ▲' : ' ▼') : '');
    th.setAttribute('aria-sort', c === column ? (direction === 'asc' ? 'ascending' : 'descending') : 'none');
    th.append(button);
    headRow.append(th);
  }
  tableHead.replaceChildren(headRow);
  const rows = sortRows(
    chartRuns().map((r) => tableRow(r, state!.lossThreshold)),
    column,
    direction,
  );
  tableBody.replaceChildren(
    ...rows.map((row) => {
      const tr = document.createElement('tr');
      tr.dataset['run'] = row.id;
      tr.dataset['status'] = row.status;
      for (const c of TABLE_COLUMNS) {
        const td = document.createElement('td');
        td.dataset['column'] = c;
        td.textContent = formatCell(row, c);
        if (c === 'genotype') td.title = row.id;
        tr.append(td);
      }
      return tr;
    }),
  );
  const running = [...runs.values()].filter((r) => r.info.status === 'running').length;
  summaryEl.textContent = `${runs.size} run${runs.size === 1 ? '' : 's'}${running > 0 ? ` · ${running} running` : ''}`;
}

function render(all: readonly ChartRun[], next: ResultsPanelState): void {
  state = next;
  runs.clear();
  for (const r of all) runs.set(r.info.id, { info: r.info, metrics: [...r.metrics], probes: r.probes ?? NO_PROBES });
  thresholdEl.value = String(next.lossThreshold);
  vscode.setState(next);
  renderCharts();
  renderProbes();
  renderTable();
  if (all.length === 0) summaryEl.textContent = 'These runs are no longer on disk.';
}

/** New epochs of one run: pushed onto its datasets; the charts update in place. */
function append(info: ChartRunInfo, metrics: readonly MetricsLine[]): void {
  const run = runs.get(info.id);
  if (!run) return;
  run.info = info;
  const known = new Set(run.metrics.map((m) => m.epoch));
  const fresh = metrics.filter((m) => !known.has(m.epoch));
  run.metrics.push(...fresh);
  if (fresh.length > 0) {
    for (const d of drawn) {
      const spec = CHARTS.find((c) => c.id === d.id)!;
      for (const s of spec.series) {
        const ds = (d.chart.data.datasets as LineDataset[]).find((x) => x.key === `${info.id}|${s.field}`);
        if (ds) ds.data.push(...pointsOf(fresh, s.field, spec.percent));
      }
      applyScale(d);
      d.chart.update('none');
      markPoints(d);
    }
  }
  renderTable();
}

/** One run's probes changed: the probe sections are drawn again (the epoch charts stay). */
function updateProbes(runId: string, probes: RunProbes): void {
  const run = runs.get(runId);
  if (!run) return;
  run.probes = probes;
  renderProbes();
}

function exportChart(id: PanelChartId): void {
  const d = [...drawn, ...drawnProbes].find((x) => x.id === id);
  if (!d) return;
  const source = d.chart.canvas;
  // The canvas is transparent: give the PNG the panel's background so it reads on its own.
  const out = document.createElement('canvas');
  out.width = source.width;
  out.height = source.height;
  const context = out.getContext('2d');
  if (!context) return;
  context.fillStyle = cssVar('--vscode-editor-background', '#ffffff');
  context.fillRect(0, 0, out.width, out.height);
  context.drawImage(source, 0, 0);
  const url = out.toDataURL('image/png');
  post({ type: 'exportPng', chart: id, pngBase64: url.slice(url.indexOf(',') + 1) });
}

function viewChanged(): void {
  if (!state) return;
  vscode.setState(state);
  post({ type: 'setView', sort: state.sort, lossThreshold: state.lossThreshold });
}

for (const parent of [chartsEl, probesEl]) {
  parent.addEventListener('click', (event) => {
    const target = event.target;
    if (!(target instanceof Element)) return;
    const id = target.closest<HTMLElement>('button[data-export-png]')?.dataset['exportPng'];
    if (id) exportChart(id as PanelChartId);
  });
}

tableHead.addEventListener('click', (event) => {
  const target = event.target;
  if (!(target instanceof Element) || !state) return;
  const column = target.closest<HTMLElement>('button[data-sort]')?.dataset['sort'] as TableColumn | undefined;
  if (!column) return;
  const direction = state.sort.column === column && state.sort.direction === 'desc' ? 'asc' : 'desc';
  state = { ...state, sort: { column, direction } };
  renderTable();
  viewChanged();
});

thresholdEl.addEventListener('change', () => {
  const value = Number(thresholdEl.value);
  if (!state || !Number.isFinite(value) || value <= 0) return;
  state = { ...state, lossThreshold: value };
  renderTable();
  viewChanged();
});

document.getElementById('export-csv')!.addEventListener('click', () => {
  if (state) post({ type: 'exportCsv', sort: state.sort, lossThreshold: state.lossThreshold });
});

/** A theme switch changes the body's class: recolour axes and legends (the data stay). */
new MutationObserver(() => {
  const colours = themeColours();
  for (const d of [...drawn, ...drawnProbes]) {
    const scales = d.chart.options.scales!;
    for (const axis of ['x', 'y'] as const) {
      const a = scales[axis]!;
      if (a.ticks) a.ticks.color = colours.text;
      if (a.grid) a.grid.color = colours.grid;
      if ('title' in a && a.title) a.title.color = colours.muted;
    }
    const legend = d.chart.options.plugins?.legend?.labels;
    if (legend) legend.color = colours.text;
    d.chart.update('none');
  }
}).observe(document.body, { attributes: true, attributeFilter: ['class'] });

window.addEventListener('message', (event: MessageEvent<ResultsPanelToWebview>) => {
  const message = event.data;
  switch (message.type) {
    case 'render':
      render(message.runs, message.state);
      break;
    case 'append':
      append(message.info, message.metrics);
      break;
    case 'probes':
      updateProbes(message.runId, message.probes);
      break;
    case 'status':
      showStatus(message.message);
      break;
  }
});

async function start(): Promise<void> {
  const chartjs = await import('chart.js');
  const { LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Title, Tooltip } = chartjs;
  chartjs.Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Legend, Title, Tooltip);
  ChartClass = chartjs.Chart;
  post({ type: 'ready' });
}

start().catch((error: unknown) => {
  summaryEl.textContent = `The charts could not be loaded: ${error instanceof Error ? error.message : String(error)}`;
});
