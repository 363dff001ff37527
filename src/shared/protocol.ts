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

// ---- registry --------------------------------------------------------------

/** Every panel's protocol, by panel id; other panels add their entry here. */
export interface PanelProtocols {
  readonly cell: {
    readonly toWebview: CellPanelToWebview;
    readonly fromWebview: CellPanelFromWebview;
    readonly state: CellPanelState;
  };
}

export type PanelId = keyof PanelProtocols;
