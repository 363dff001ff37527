/**
 * The one protocol module between the extension host and every webview panel.
 * Each panel has a discriminated union of messages in each direction and the
 * state its webview persists (what a WebviewPanelSerializer gets back after a
 * window reload). Both sides import these types; messages from a webview are
 * checked with the panel's parse function before use, since a webview is a
 * separate document whose messages arrive as plain JSON.
 *
 * Pure types and checks: no vscode, no DOM.
 */
import type { CellKind } from '../genotype/model.js';
import { PANEL_CHART_IDS, TABLE_COLUMNS, type ChartRun, type ChartRunInfo, type PanelChartId, type RunProbes, type SortDirection, type TableColumn } from './chartData.js';
import type { MetricsLine } from './runTypes.js';

// ---- shared ----------------------------------------------------------------

/** The API `acquireVsCodeApi()` returns inside a webview, typed per panel. */
export interface WebviewApi<ToHost, State> {
  postMessage(message: ToHost): void;
  getState(): State | undefined;
  setState(state: State): void;
}

/** Where a drawn genotype comes from. */
export type GenotypeSource =
  | { readonly kind: 'document'; readonly uri: string; readonly name: string }
  | { readonly kind: 'builtin'; readonly name: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isIndex(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 1 << 20;
}

export function isGenotypeSource(value: unknown): value is GenotypeSource {
  if (!isRecord(value) || typeof value['name'] !== 'string') return false;
  if (value['kind'] === 'builtin') return true;
  return value['kind'] === 'document' && typeof value['uri'] === 'string';
}

// ---- cell panel (Cellscope: Show Cell / Compare Cells) --------------------

export const CELL_PANEL_VIEW_TYPE = 'cellscope.cellPanel';

/** What the cell panel's webview persists; enough to draw the panel again after a reload. */
export interface CellPanelState {
  readonly panel: 'cell';
  /** One genotype, or two side by side (compared with each other). */
  readonly sources: readonly GenotypeSource[];
  /** Whether the panel follows the genotype under the editor's cursor (single-genotype panels only). */
  readonly follow: boolean;
}

/** One drawing in the panel. */
export interface CellPanelView {
  readonly title: string;
  /** Where it comes from, for the header: a workspace-relative path or 'built-in'. */
  readonly origin: string;
  /** Standalone SVG from src/render/cellSvg.ts. */
  readonly svg: string;
  /** Whether clicking can reveal source (false for built-ins). */
  readonly hasSource: boolean;
}

export type CellPanelToWebview =
  /** Replace the drawings; `state` is what the webview should persist. */
  | { readonly type: 'render'; readonly views: readonly CellPanelView[]; readonly state: CellPanelState }
  /** The source is invalid right now: keep the drawing, show why for a while. */
  | { readonly type: 'problem'; readonly message: string }
  /** A short confirmation or failure line (exports). */
  | { readonly type: 'status'; readonly message: string };

/** What was clicked in a drawing, as named by the SVG's data attributes. */
export type CellTarget =
  | { readonly kind: 'node'; readonly node: string }
  | { readonly kind: 'entry'; readonly entry: number }
  | { readonly kind: 'concat'; readonly concat: number };

export type CellPanelFromWebview =
  /** The webview's script has loaded and listens. */
  | { readonly type: 'ready' }
  /** Show the source of a clicked node or edge of drawing `view`. */
  | { readonly type: 'reveal'; readonly view: number; readonly cell: CellKind; readonly target: CellTarget }
  /** Save drawing `view` as SVG (the extension renders the standalone file). */
  | { readonly type: 'exportSvg'; readonly view: number }
  /** Save drawing `view` as PNG: the webview rasterised what it shows. */
  | { readonly type: 'exportPng'; readonly view: number; readonly pngBase64: string }
  | { readonly type: 'setFollow'; readonly follow: boolean };

function isCellTarget(value: unknown): value is CellTarget {
  if (!isRecord(value)) return false;
  switch (value['kind']) {
    case 'node':
      return typeof value['node'] === 'string' && /^(\d{1,4}|out)$/.test(value['node']);
    case 'entry':
      return isIndex(value['entry']);
    case 'concat':
      return isIndex(value['concat']);
    default:
      return false;
  }
}

/** A message from the cell panel's webview, or undefined when it is not one. */
export function parseCellPanelMessage(value: unknown): CellPanelFromWebview | undefined {
  if (!isRecord(value)) return undefined;
  switch (value['type']) {
    case 'ready':
      return { type: 'ready' };
    case 'reveal': {
      const { view, cell, target } = value;
      if (!isIndex(view) || (cell !== 'normal' && cell !== 'reduce') || !isCellTarget(target)) return undefined;
      return { type: 'reveal', view, cell, target };
    }
    case 'exportSvg':
      return isIndex(value['view']) ? { type: 'exportSvg', view: value['view'] } : undefined;
    case 'exportPng': {
      const { view, pngBase64 } = value;
      if (!isIndex(view) || typeof pngBase64 !== 'string' || !/^[A-Za-z0-9+/]+=*$/.test(pngBase64)) return undefined;
      return { type: 'exportPng', view, pngBase64 };
    }
    case 'setFollow':
      return typeof value['follow'] === 'boolean' ? { type: 'setFollow', follow: value['follow'] } : undefined;
    default:
      return undefined;
  }
}

/** The persisted state of a cell panel, or undefined when it is not one (e.g. from an older version). */
export function parseCellPanelState(value: unknown): CellPanelState | undefined {
  if (!isRecord(value) || value['panel'] !== 'cell') return undefined;
  const sources = value['sources'];
  if (!Array.isArray(sources) || sources.length < 1 || sources.length > 2 || !sources.every(isGenotypeSource)) return undefined;
  return { panel: 'cell', sources, follow: value['follow'] === true };
}

// ---- results panel (Cellscope: Open Results) --------------------------------

export const RESULTS_PANEL_VIEW_TYPE = 'cellscope.resultsPanel';

/** What the results panel's webview persists; the runs are read again from disk after a reload. */
export interface ResultsPanelState {
  readonly panel: 'results';
  readonly runIds: readonly string[];
  /** The test loss the table's "epochs to loss" column counts to. */
  readonly lossThreshold: number;
  readonly sort: { readonly column: TableColumn; readonly direction: SortDirection };
}

export type ResultsPanelToWebview =
  /** Draw these runs from scratch (first show, a changed selection, a rewritten metrics file). */
  | { readonly type: 'render'; readonly runs: readonly ChartRun[]; readonly state: ResultsPanelState }
  /** New epochs of one run (and its current status): appended to the charts, not redrawn. */
  | { readonly type: 'append'; readonly info: ChartRunInfo; readonly metrics: readonly MetricsLine[] }
  /**
   * One run's probe files changed (hessian.json or landscape.json written by
   * the CLI, a per-epoch Hessian line appended): its smoothness, per-epoch
   * λ_max and 1D slices, replacing what the panel had for that run.
   */
  | { readonly type: 'probes'; readonly runId: string; readonly probes: RunProbes }
  /** A short confirmation or failure line (exports). */
  | { readonly type: 'status'; readonly message: string };

export type ResultsPanelFromWebview =
  | { readonly type: 'ready' }
  /** Save the table as CSV, in the order and with the threshold the webview shows. */
  | { readonly type: 'exportCsv'; readonly sort: ResultsPanelState['sort']; readonly lossThreshold: number }
  /** Save chart `chart` (an epoch chart or a probe chart) as PNG: the webview rasterised it. */
  | { readonly type: 'exportPng'; readonly chart: PanelChartId; readonly pngBase64: string }
  /** The table's threshold or sort changed (kept for the serializer and CSV). */
  | { readonly type: 'setView'; readonly sort: ResultsPanelState['sort']; readonly lossThreshold: number };

function isSort(value: unknown): value is ResultsPanelState['sort'] {
  return (
    isRecord(value) &&
    (TABLE_COLUMNS as readonly unknown[]).includes(value['column']) &&
    (value['direction'] === 'asc' || value['direction'] === 'desc')
  );
}

function isThreshold(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/** A message from the results panel's webview, or undefined when it is not one. */
export function parseResultsPanelMessage(value: unknown): ResultsPanelFromWebview | undefined {
  if (!isRecord(value)) return undefined;
  switch (value['type']) {
    case 'ready':
      return { type: 'ready' };
    case 'exportCsv':
    case 'setView': {
      const { sort, lossThreshold } = value;
      if (!isSort(sort) || !isThreshold(lossThreshold)) return undefined;
      return { type: value['type'], sort: { column: sort.column, direction: sort.direction }, lossThreshold };
    }
    case 'exportPng': {
      const { chart, pngBase64 } = value;
      if (!(PANEL_CHART_IDS as readonly unknown[]).includes(chart) || typeof pngBase64 !== 'string' || !/^[A-Za-z0-9+/]+=*$/.test(pngBase64)) return undefined;
      return { type: 'exportPng', chart: chart as PanelChartId, pngBase64 };
    }
    default:
      return undefined;
  }
}

export const DEFAULT_RESULTS_STATE: Omit<ResultsPanelState, 'runIds'> = {
  panel: 'results',
  lossThreshold: 1,
  sort: { column: 'bestTestAcc', direction: 'desc' },
};

/** The persisted state of a results panel, or undefined when it is not one. */
export function parseResultsPanelState(value: unknown): ResultsPanelState | undefined {
  if (!isRecord(value) || value['panel'] !== 'results') return undefined;
  const ids = value['runIds'];
  if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string' && /^[\w.-]+$/.test(id))) return undefined;
  return {
    panel: 'results',
    runIds: ids as string[],
    lossThreshold: isThreshold(value['lossThreshold']) ? value['lossThreshold'] : DEFAULT_RESULTS_STATE.lossThreshold,
    sort: isSort(value['sort']) ? value['sort'] : DEFAULT_RESULTS_STATE.sort,
  };
}

// ---- registry --------------------------------------------------------------

/** Every panel's protocol, by panel id; other panels add their entry here. */
export interface PanelProtocols {
  readonly cell: {
    readonly toWebview: CellPanelToWebview;
    readonly fromWebview: CellPanelFromWebview;
    readonly state: CellPanelState;
  };
  readonly results: {
    readonly toWebview: ResultsPanelToWebview;
    readonly fromWebview: ResultsPanelFromWebview;
    readonly state: ResultsPanelState;
  };
}

export type PanelId = keyof PanelProtocols;
