/**
 * The pieces every chart of the report shares: linear and log scales with
 * round tick values, a perceptual colour scale (viridis) for grids, the frame
 * of a plot (axes, ticks, labels, title) and a colour bar. Pure SVG text.
 */
import type { Markup } from './markup.js';
import { type Child, el, num, textEl } from './svg.js';
import { formatTick } from '../shared/numberFormat.js';

export const CHART_FONT = "system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', sans-serif";
export const AXIS_COLOUR = '#555';
export const GRID_COLOUR = '#e4e4e4';

export interface Scale {
  (value: number): number;
  readonly domain: readonly [number, number];
  readonly ticks: readonly number[];
  readonly log: boolean;
}

/** 1, 2, 5 × 10^k steps giving about `count` ticks over [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : Number(t.toPrecision(12)));
  return out;
}

/** A scale from [d0, d1] onto [r0, r1]; log scales need a positive domain. */
export function makeScale(d0: number, d1: number, r0: number, r1: number, log = false, tickCount = 5): Scale {
  if (d1 === d0) {
    const pad = d0 === 0 ? 1 : Math.abs(d0) * 0.1;
    d0 -= pad;
    d1 += pad;
  }
  const f = log ? Math.log10 : (x: number) => x;
  const a = f(d0);
  const b = f(d1);
  const scale = ((v: number) => r0 + ((f(v) - a) / (b - a)) * (r1 - r0)) as Scale;
  let ticks: number[];
  if (log) {
    ticks = [];
    for (let k = Math.floor(a); k <= Math.ceil(b); k++) if (10 ** k >= d0 * (1 - 1e-9) && 10 ** k <= d1 * (1 + 1e-9)) ticks.push(10 ** k);
    if (ticks.length < 2) ticks = [d0, d1];
  } else ticks = niceTicks(d0, d1, tickCount);
  return Object.assign(scale, { domain: [d0, d1] as const, ticks, log });
}

/** A short label for a tick value (shared with the results panel: src/shared/numberFormat.ts). */
export { formatTick };

/** Viridis, sampled at nine stops (matplotlib's values). */
const VIRIDIS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [72, 40, 120],
  [62, 73, 137],
  [49, 104, 142],
  [38, 130, 142],
  [31, 158, 137],
  [53, 183, 121],
  [110, 206, 88],
  [253, 231, 37],
];

/** The viridis colour of t ∈ [0, 1] (clamped), as #rrggbb. */
export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 1)) * (VIRIDIS.length - 1);
  const k = Math.min(VIRIDIS.length - 2, Math.floor(x));
  const f = x - k;
  const c = VIRIDIS[k]!.map((v, i) => Math.round(v + (VIRIDIS[k + 1]![i]! - v) * f));
  return `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/** Smallest and largest finite value of a grid (undefined when none is finite). */
export function gridExtent(grid: readonly (readonly (number | null)[])[]): { min: number; max: number } | undefined {
  let min = Infinity;
  let max = -Infinity;
  for (const row of grid) {
    for (const v of row) {
      if (v === null || !Number.isFinite(v)) continue;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  return Number.isFinite(min) ? { min, max } : undefined;
}

/** Whether values over [min, max] read better on a log scale (all positive, at least a decade). */
export function wantsLog(min: number, max: number): boolean {
  return min > 0 && max / min >= 10;
}

/** t ∈ [0, 1] of v between min and max, on a log or linear scale. */
export function unit(v: number, min: number, max: number, log: boolean): number {
  if (max === min) return 0.5;
  return log ? Math.log(v / min) / Math.log(max / min) : (v - min) / (max - min);
}

export interface Frame {
  readonly left: number;
  readonly top: number;
  readonly width: number;
  readonly height: number;
}

/** Axes with ticks, grid lines, axis labels and a title around `frame`. */
export function axes(
  frame: Frame,
  x: Scale,
  y: Scale,
  labels: { x?: string; y?: string; title?: string; formatX?: (v: number) => string },
  gridLines = true,
): Markup {
  const parts: Markup[] = [];
  const bottom = frame.top + frame.height;
  const right = frame.left + frame.width;
  for (const t of x.ticks) {
    const px = x(t);
    if (px < frame.left - 0.5 || px > right + 0.5) continue;
    if (gridLines) parts.push(el('line', { x1: px, y1: frame.top, x2: px, y2: bottom, stroke: GRID_COLOUR }));
    parts.push(el('line', { x1: px, y1: bottom, x2: px, y2: bottom + 4, stroke: AXIS_COLOUR }));
    parts.push(textEl('text', { x: px, y: bottom + 15, 'text-anchor': 'middle' }, (labels.formatX ?? formatTick)(t)));
  }
  for (const t of y.ticks) {
    const py = y(t);
    if (py < frame.top - 0.5 || py > bottom + 0.5) continue;
    if (gridLines) parts.push(el('line', { x1: frame.left, y1: py, x2: right, y2: py, stroke: GRID_COLOUR }));
    parts.push(el('line', { x1: frame.left - 4, y1: py, x2: frame.left, y2: py, stroke: AXIS_COLOUR }));
    parts.push(textEl('text', { x: frame.left - 6, y: py + 4, 'text-anchor': 'end' }, formatTick(t)));
  }
  parts.push(el('rect', { x: frame.left, y: frame.top, width: frame.width, height: frame.height, fill: 'none', stroke: AXIS_COLOUR }));
  if (labels.x) parts.push(textEl('text', { x: frame.left + frame.width / 2, y: bottom + 32, 'text-anchor': 'middle' }, labels.x));
  if (labels.y) {
    parts.push(textEl('text', { x: 0, y: 0, transform: `translate(${num(frame.left - 40)} ${num(frame.top + frame.height / 2)}) rotate(-90)`, 'text-anchor': 'middle' }, labels.y));
  }
  if (labels.title) parts.push(textEl('text', { x: frame.left + frame.width / 2, y: frame.top - 8, 'text-anchor': 'middle', 'font-weight': 'bold' }, labels.title));
  return el('g', { class: 'axes', fill: AXIS_COLOUR, 'font-size': 11 }, ...parts);
}

/** A vertical viridis bar from min (bottom) to max (top) with a few labelled values. */
export function colourBar(x: number, top: number, height: number, min: number, max: number, log: boolean, label?: string): Markup {
  const steps = 32;
  const parts: Markup[] = [];
  for (let k = 0; k < steps; k++) {
    const y = top + height - ((k + 1) * height) / steps;
    parts.push(el('rect', { x, y, width: 12, height: height / steps + 0.5, fill: viridis((k + 0.5) / steps) }));
  }
  const scale = makeScale(min, max, top + height, top, log, 4);
  for (const t of scale.ticks) {
    const py = scale(t);
    if (py < top - 0.5 || py > top + height + 0.5) continue;
    parts.push(el('line', { x1: x + 12, y1: py, x2: x + 16, y2: py, stroke: AXIS_COLOUR }));
    parts.push(textEl('text', { x: x + 18, y: py + 4 }, formatTick(t)));
  }
  if (label) parts.push(textEl('text', { x, y: top - 6 }, label));
  return el('g', { class: 'colour-bar', 'font-size': 10, fill: AXIS_COLOUR }, ...parts);
}

/** The outer <svg> of a chart, with data attributes that say what it holds (read by tests and tools); its text, for the renderers to return. */
export function chartSvg(width: number, height: number, data: Readonly<Record<string, string | number>>, title: string, ...body: readonly Child[]): string {
  const dataAttrs: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(data)) dataAttrs[`data-${k}`] = v;
  return el(
    'svg',
    {
      xmlns: 'http://www.w3.org/2000/svg',
      viewBox: `0 0 ${num(width)} ${num(height)}`,
      width,
      height,
      role: 'img',
      'font-family': CHART_FONT,
      ...dataAttrs,
    },
    textEl('title', {}, title),
    el('rect', { width, height, fill: '#fff' }),
    ...body,
  ).toString();
}
