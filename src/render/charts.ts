/**
 * Line charts (convergence curves, 1D loss slices) and scatter plots with a
 * fitted trend line (epochs-to-loss against width or depth) as standalone
 * SVG, for the experiment report. Series are given already shaped (colour,
 * label, points), e.g. by src/shared/chartData.ts.
 */
import { axes, chartSvg, formatTick, makeScale } from './plot.js';
import type { Markup } from './markup.js';
import { el, num, textEl } from './svg.js';

export interface LineSeries {
  readonly label: string;
  readonly colour: string;
  readonly dashed?: boolean;
  readonly points: readonly { readonly x: number; readonly y: number }[];
}

export interface LineChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
  /** Log y axis (only used when every value is positive). */
  readonly logY?: boolean;
  readonly chart?: string;
  /** Draw the legend (default true). */
  readonly legend?: boolean;
}

function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return Number.isFinite(lo) ? [lo, hi] : [0, 1];
}

function legend(items: readonly { label: string; colour: string; dashed?: boolean }[], x: number, y: number): Markup {
  return el(
    'g',
    { class: 'legend', 'font-size': 10, fill: '#333' },
    ...items.map((item, k) =>
      el(
        'g',
        {},
        el('line', { x1: x, y1: y + k * 14, x2: x + 18, y2: y + k * 14, stroke: item.colour, 'stroke-width': 2, 'stroke-dasharray': item.dashed ? '4 3' : undefined }),
        textEl('text', { x: x + 22, y: y + k * 14 + 3.5 }, item.label),
      ),
    ),
  );
}

export function renderLineChart(series: readonly LineSeries[], options: LineChartOptions): string {
  const withLegend = options.legend ?? true;
  const legendWidth = withLegend ? Math.min(220, 30 + Math.max(0, ...series.map((s) => s.label.length)) * 6) : 0;
  const width = options.width ?? 420 + legendWidth;
  const height = options.height ?? 260;
  const frame = { left: 58, top: 26, width: width - 58 - 16 - legendWidth, height: height - 26 - 44 };
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.map((p) => p.y));
  const [x0, x1] = extent(xs);
  const [y0, y1] = extent(ys);
  const logY = (options.logY ?? false) && y0 > 0;
  const x = makeScale(x0, x1, frame.left, frame.left + frame.width);
  const y = makeScale(logY ? y0 : Math.min(y0, y1 - (y1 - y0) * 1.05), logY ? y1 : y1 + (y1 - y0) * 0.05, frame.top + frame.height, frame.top, logY);
  const lines = series
    .filter((s) => s.points.length > 0)
    .map((s) =>
      el(
        'g',
        { class: 'series', 'data-label': s.label, 'data-points': s.points.length },
        s.points.length > 1
          ? el('path', {
              d: `M${s.points.map((p) => `${num(x(p.x))} ${num(y(p.y))}`).join('L')}`,
              fill: 'none',
              stroke: s.colour,
              'stroke-width': 1.6,
              'stroke-dasharray': s.dashed ? '5 3' : undefined,
            })
          : undefined,
        ...s.points.map((p) => el('circle', { cx: x(p.x), cy: y(p.y), r: 2, fill: s.colour })),
      ),
    );
  return chartSvg(
    width,
    height,
    { chart: options.chart ?? 'line', series: lines.length, points: ys.length },
    options.title,
    axes(frame, x, y, { x: options.xLabel, y: options.yLabel, title: options.title }),
    el('g', { class: 'lines' }, ...lines),
    withLegend && legend(series, frame.left + frame.width + 12, frame.top + 6),
  );
}

/** Least-squares line y = a + b·x; undefined when x does not vary. */
export function fitLine(points: readonly { x: number; y: number }[]): { intercept: number; slope: number; r2: number } | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
    syy += (p.y - my) ** 2;
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  return { intercept: my - slope * mx, slope, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}

export interface ScatterPoint {
  readonly x: number;
  readonly y: number;
  readonly colour: string;
  readonly label: string;
}

export interface ScatterOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
  readonly chart?: string;
  /** Formats x ticks (e.g. widths as "2.5c"). */
  readonly formatX?: (x: number) => string;
}

/** Points with a least-squares trend line and its equation. */
export function renderScatter(points: readonly ScatterPoint[], options: ScatterOptions): string {
  const width = options.width ?? 360;
  const height = options.height ?? 260;
  const frame = { left: 58, top: 26, width: width - 58 - 16, height: height - 26 - 44 };
  const [x0, x1] = extent(points.map((p) => p.x));
  const [y0, y1] = extent(points.map((p) => p.y));
  const padX = (x1 - x0) * 0.08 || 0.5;
  const padY = (y1 - y0) * 0.1 || 0.5;
  const x = makeScale(x0 - padX, x1 + padX, frame.left, frame.left + frame.width);
  const y = makeScale(Math.max(0, y0 - padY), y1 + padY, frame.top + frame.height, frame.top);
  const fit = fitLine(points);
  const trend =
    fit === undefined
      ? undefined
      : el(
          'g',
          { class: 'trend', 'data-slope': fit.slope.toPrecision(4) },
          el('line', {
            x1: x(x0 - padX),
            y1: y(fit.intercept + fit.slope * (x0 - padX)),
            x2: x(x1 + padX),
            y2: y(fit.intercept + fit.slope * (x1 + padX)),
            stroke: '#444',
            'stroke-dasharray': '6 4',
          }),
          textEl(
            'text',
            { x: frame.left + frame.width - 4, y: frame.top + 14, 'text-anchor': 'end', 'font-size': 10, fill: '#444' },
            `trend: ${fit.slope >= 0 ? '+' : '−'}${formatTick(Math.abs(fit.slope))} per unit, R² ${fit.r2.toFixed(2)}`,
          ),
        );
  const dots = points.map((p) =>
    el('circle', { cx: x(p.x), cy: y(p.y), r: 4.5, fill: p.colour, stroke: '#fff', 'stroke-width': 1 }, textEl('title', {}, p.label)),
  );
  const axesSvg = axes(frame, x, y, { x: options.xLabel, y: options.yLabel, title: options.title, ...(options.formatX ? { formatX: options.formatX } : {}) });
  return chartSvg(width, height, { chart: options.chart ?? 'scatter', points: points.length }, options.title, axesSvg, trend, el('g', { class: 'dots' }, ...dots));
}
