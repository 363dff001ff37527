/**
 * A grid drawn as a 3D-looking surface (as the paper draws its gradient-
 * variance surfaces): each grid cell is a quadrilateral lifted to its
 * values, projected obliquely (azimuth −45°, elevation 30°), painted back to
 * front so nearer quads hide farther ones, coloured on viridis by height and
 * shaded by slope. Pure SVG polygons; no 3D engine.
 */
import type { LandscapeGrid } from '../shared/landscapeTypes.js';
import { chartSvg, formatTick, gridExtent, unit, viridis, wantsLog } from './plot.js';
import { el, num, textEl } from './svg.js';

export interface SurfaceOptions {
  readonly title?: string;
  readonly width?: number;
  /** Force a log or linear height scale (default: log when the values span a decade). */
  readonly log?: boolean;
  readonly valueLabel?: string;
  readonly chart?: string;
}

/** Rotates (x, y) ∈ [−1, 1]² by the azimuth and tilts by the elevation: screen (sx, sy) and depth. */
function project(x: number, y: number, z: number): { sx: number; sy: number; depth: number } {
  const c = Math.SQRT1_2;
  const rx = c * (x - y);
  const ry = c * (x + y);
  const elevation = Math.PI / 6;
  return { sx: rx, sy: -ry * Math.sin(elevation) - z * Math.cos(elevation), depth: ry };
}

/** Darkens a #rrggbb colour by `f` ∈ [0, 1]. */
function shade(hex: string, f: number): string {
  const v = [1, 3, 5].map((k) => Math.round(parseInt(hex.slice(k, k + 2), 16) * (1 - f)));
  return `#${v.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

export function renderSurface(grid: LandscapeGrid, coordinates: readonly number[], options: SurfaceOptions = {}): string {
  const n = grid.length;
  const width = options.width ?? 320;
  const height = Math.round(width * 0.8);
  const extent = gridExtent(grid) ?? { min: 0, max: 1 };
  const log = options.log ?? wantsLog(extent.min, extent.max);
  // Heights in [0, 1]; missing values sit at the top (they are where the loss blew up).
  const h = (i: number, j: number) => {
    const v = grid[i]![j];
    return v === null || v === undefined || !Number.isFinite(v) ? 1 : unit(log ? Math.max(v, extent.min) : v, extent.min, extent.max, log);
  };
  const lo = coordinates[0] ?? -1;
  const hi = coordinates[n - 1] ?? 1;
  const gx = (j: number) => (n > 1 ? (2 * j) / (n - 1) - 1 : 0);
  const quads: { depth: number; points: string; fill: string }[] = [];
  const scale = width * 0.34;
  const cx = width / 2;
  const cy = height * 0.56;
  const toScreen = (p: { sx: number; sy: number }) => `${num(cx + p.sx * scale)},${num(cy + p.sy * scale)}`;
  const zScale = 0.9;
  for (let i = 0; i + 1 < n; i++) {
    for (let j = 0; j + 1 < n; j++) {
      const corners = [
        [i, j],
        [i, j + 1],
        [i + 1, j + 1],
        [i + 1, j],
      ] as const;
      const projected = corners.map(([a, b]) => project(gx(b), gx(a), h(a, b) * zScale));
      const mean = corners.reduce((s, [a, b]) => s + h(a, b), 0) / 4;
      // Steeper cells (larger height differences) are drawn darker, as a light from above would.
      const slope = Math.min(1, Math.abs(h(i, j + 1) - h(i, j)) + Math.abs(h(i + 1, j) - h(i, j))) * (n - 1) * 0.08;
      quads.push({
        depth: projected.reduce((s, p) => s + p.depth, 0) / 4,
        points: projected.map(toScreen).join(' '),
        fill: shade(viridis(mean), Math.min(0.45, slope)),
      });
    }
  }
  // Painter's algorithm: the farthest (largest depth: towards the back corner) first.
  quads.sort((a, b) => b.depth - a.depth);
  const polygons = quads.map((q) => el('polygon', { points: q.points, fill: q.fill, stroke: '#0003', 'stroke-width': 0.3 }));
  const base = [
    [-1, -1],
    [1, -1],
    [1, 1],
    [-1, 1],
  ].map(([x, y]) => toScreen(project(x!, y!, 0)));
  const title = options.title ?? 'surface';
  const alphaLabel = project(0, -1.25, 0);
  const betaLabel = project(1.25, 0, 0);
  return chartSvg(
    width,
    height,
    { chart: options.chart ?? 'surface', grid: n, points: n * n },
    title,
    el('polygon', { points: base.join(' '), fill: 'none', stroke: '#999', 'stroke-dasharray': '3 3' }),
    el('g', { class: 'quads' }, ...polygons),
    el(
      'g',
      { 'font-size': 10, fill: '#555' },
      textEl('text', { x: width / 2, y: 16, 'text-anchor': 'middle', 'font-weight': 'bold', 'font-size': 12 }, title),
      textEl('text', { x: cx + alphaLabel.sx * scale, y: cy + alphaLabel.sy * scale + 12, 'text-anchor': 'middle' }, `α ∈ [${formatTick(lo)}, ${formatTick(hi)}]`),
      textEl('text', { x: cx + betaLabel.sx * scale, y: cy + betaLabel.sy * scale + 12, 'text-anchor': 'middle' }, 'β'),
      textEl('text', { x: 8, y: height - 8 }, `${options.valueLabel ?? 'value'}: ${formatTick(extent.min)} – ${formatTick(extent.max)}${log ? ' (log height)' : ''}`),
    ),
  );
}
