/**
 * Loss contours as in Li et al. and Shu, Wang & Cai's figures: iso-loss lines
 * (marching squares with linear interpolation, by d3-contour) over the grid
 * of two filter-normalised directions, each level labelled with its value,
 * the trained weights marked at the centre.
 *
 * d3-contour places grid value k at coordinate k + 0.5 of a [0, n] frame and
 * closes rings around regions that touch the border outside the data; the
 * lines are therefore mapped so that value k lands on coordinate k and are
 * clipped to the data's square.
 */
import { contours as d3Contours } from 'd3-contour';
import type { LandscapeGrid } from '../shared/landscapeTypes.js';
import { axes, chartSvg, formatTick, gridExtent, makeScale, unit, viridis, wantsLog } from './plot.js';
import { safeId, type Markup } from './markup.js';
import { el, num, textEl } from './svg.js';

export interface ContourOptions {
  readonly title?: string;
  /** Side of the plot area in pixels (default 240). */
  readonly size?: number;
  /** Contour values; default `contourLevels(grid)`. */
  readonly levels?: readonly number[];
  /** Name of the chart in its data-chart attribute. */
  readonly chart?: string;
  /** A unique id prefix for the clip path (several contour plots share one HTML page); any text (made a safe id here). */
  readonly id?: string;
}

/**
 * `count` contour values spanning the finite values of the grid: evenly on a
 * log scale when they span a decade or more (a loss valley is narrow at the
 * bottom and steep at the rim), otherwise evenly; the extremes themselves
 * are left out (a contour at the minimum is a point).
 */
export function contourLevels(grid: LandscapeGrid, count = 10, extent = gridExtent(grid)): number[] {
  if (extent === undefined || !(extent.max > extent.min)) return [];
  const { min, max } = extent;
  const log = wantsLog(min, max);
  const out: number[] = [];
  for (let k = 1; k <= count; k++) {
    const t = k / (count + 1);
    const v = log ? min * (max / min) ** t : min + (max - min) * t;
    out.push(Number(v.toPrecision(3)));
  }
  return [...new Set(out)];
}

export interface ContourLine {
  readonly value: number;
  /** Rings in grid coordinates: x = column index, y = row index (fractional). */
  readonly rings: readonly (readonly (readonly [number, number])[])[];
}

/** The contour rings of each level in grid coordinates (value (i, j) at (x = j, y = i)). */
export function contourLines(grid: LandscapeGrid, levels: readonly number[]): ContourLine[] {
  const n = grid.length;
  if (n < 2 || levels.length === 0) return [];
  const extent = gridExtent(grid);
  // Missing values (diverged points) count as higher than everything: they lie outside every valley.
  const above = extent === undefined ? 1 : extent.max + Math.abs(extent.max) + 1;
  const values = new Array<number>(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) values[i * n + j] = grid[i]![j] ?? above;
  const generator = d3Contours().size([n, n]).thresholds([...levels]);
  return generator(values).map((multi) => ({
    value: multi.value,
    rings: multi.coordinates.flatMap((polygon) => polygon.map((ring) => ring.map(([cx, cy]) => [cx - 0.5, cy - 0.5] as const))),
  }));
}

/** Contour plot of `grid` ([row = second direction][column = first]) over `coordinates`. */
export function renderContours(grid: LandscapeGrid, coordinates: readonly number[], options: ContourOptions = {}): string {
  const size = options.size ?? 240;
  const n = grid.length;
  const frame = { left: 52, top: 26, width: size, height: size };
  const lo = coordinates[0] ?? -1;
  const hi = coordinates[n - 1] ?? 1;
  const x = makeScale(lo, hi, frame.left, frame.left + size);
  const y = makeScale(lo, hi, frame.top + size, frame.top);
  const extent = gridExtent(grid);
  const levels = options.levels ?? contourLevels(grid);
  const log = extent !== undefined && wantsLog(extent.min, extent.max);
  const lines = contourLines(grid, levels);
  const step = n > 1 ? (hi - lo) / (n - 1) : 1;
  const px = (gx: number) => x(lo + gx * step);
  const py = (gy: number) => y(lo + gy * step);
  // The id may come from a run id (untrusted, any characters): safeId keeps it from ending the attribute or the url(#…).
  const clipId = `${safeId(options.id ?? 'contours')}-clip`;
  const paths: Markup[] = [];
  const labels: Markup[] = [];
  const placed: { x: number; y: number }[] = [];
  let drawn = 0;
  for (const line of lines) {
    if (line.rings.length === 0) continue;
    const colour = extent === undefined ? '#333' : viridis(0.85 * unit(line.value, extent.min, extent.max, log));
    const d = line.rings.map((ring) => `M${ring.map(([gx, gy]) => `${num(px(gx))} ${num(py(gy))}`).join('L')}Z`).join('');
    paths.push(el('path', { d, fill: 'none', stroke: colour, 'stroke-width': 1.3, 'data-level': formatTick(line.value) }));
    drawn++;
    // The label sits on the ring point deepest inside the data square (never clipped away) that is not on top of
    // an earlier label: crowded lines near a steep rim would otherwise stack their labels.
    const candidates = line.rings
      .flatMap((ring) => ring.map((p) => ({ p, inside: Math.min(p[0], p[1], n - 1 - p[0], n - 1 - p[1]) })))
      .filter((c) => c.inside >= 0.3)
      .sort((a, b) => b.inside - a.inside);
    const spot = candidates.find((c) => placed.every((q) => Math.hypot(px(c.p[0]) - q.x, py(c.p[1]) - q.y) > 22));
    if (spot !== undefined) {
      placed.push({ x: px(spot.p[0]), y: py(spot.p[1]) });
      labels.push(textEl('text', { x: px(spot.p[0]), y: py(spot.p[1]) + 3.5, 'text-anchor': 'middle', class: 'contour-label' }, formatTick(line.value)));
    }
  }
  const title = options.title ?? 'loss contours';
  return chartSvg(
    frame.left + size + 20,
    frame.top + size + 42,
    { chart: options.chart ?? 'contours', grid: n, levels: drawn },
    title,
    el('defs', {}, el('clipPath', { id: clipId }, el('rect', { x: frame.left, y: frame.top, width: size, height: size }))),
    el('g', { 'clip-path': `url(#${clipId})` }, ...paths),
    el('path', { d: `M${num(x(0) - 5)} ${num(y(0))}h10M${num(x(0))} ${num(y(0) - 5)}v10`, stroke: '#d62728', 'stroke-width': 2 }),
    el('g', { 'font-size': 9, fill: '#222', stroke: '#fff', 'stroke-width': 3, 'paint-order': 'stroke' }, ...labels),
    axes(frame, x, y, { x: 'α (direction 1)', y: 'β (direction 2)', title }, false),
  );
}
