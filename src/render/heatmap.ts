/**
 * A grid as a heat map: one cell per grid point coloured on viridis (log
 * scale when the values span a decade or more), a colour bar, the two
 * directions as axes and the trained weights marked at the centre. Used for
 * the gradient-variance surface and, beside the contours, for the loss.
 */
import type { LandscapeGrid } from '../shared/landscapeTypes.js';
import { axes, chartSvg, colourBar, gridExtent, makeScale, unit, viridis, wantsLog } from './plot.js';
import type { Markup } from './markup.js';
import { el } from './svg.js';

export interface HeatmapOptions {
  readonly title?: string;
  /** Label of the colour bar (what the values are). */
  readonly valueLabel?: string;
  /** Side of the plot area in pixels (default 240). */
  readonly size?: number;
  /** Force a log or linear colour scale (default: log when the values span a decade). */
  readonly log?: boolean;
  /** Shared colour range across small multiples. */
  readonly extent?: { readonly min: number; readonly max: number };
  /** Name of the chart in its data-chart attribute. */
  readonly chart?: string;
}

const MISSING = '#bbb';

/** Heat map of `grid` ([row = second direction][column = first]) over `coordinates`. */
export function renderHeatmap(grid: LandscapeGrid, coordinates: readonly number[], options: HeatmapOptions = {}): string {
  const size = options.size ?? 240;
  const n = grid.length;
  const frame = { left: 52, top: 26, width: size, height: size };
  const extent = options.extent ?? gridExtent(grid) ?? { min: 0, max: 1 };
  const log = options.log ?? wantsLog(extent.min, extent.max);
  const lo = coordinates[0] ?? -1;
  const hi = coordinates[n - 1] ?? 1;
  // Cells are centred on their coordinates, so the axes extend half a step beyond them.
  const half = n > 1 ? (hi - lo) / (n - 1) / 2 : 0.5;
  const x = makeScale(lo - half, hi + half, frame.left, frame.left + size);
  const y = makeScale(lo - half, hi + half, frame.top + size, frame.top);
  const cell = size / n;
  const cells: Markup[] = [];
  let finite = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = grid[i]![j];
      const ok = v !== null && v !== undefined && Number.isFinite(v);
      if (ok) finite++;
      cells.push(
        el('rect', {
          x: frame.left + j * cell,
          y: frame.top + size - (i + 1) * cell,
          width: cell + 0.3,
          height: cell + 0.3,
          fill: ok ? viridis(unit(log ? Math.max(v, extent.min) : v, extent.min, extent.max, log)) : MISSING,
        }),
      );
    }
  }
  const centre = el('path', { d: `M${x(0) - 5} ${y(0)}h10M${x(0)} ${y(0) - 5}v10`, stroke: '#fff', 'stroke-width': 2 });
  const title = options.title ?? 'heat map';
  return chartSvg(
    frame.left + size + 80,
    frame.top + size + 42,
    { chart: options.chart ?? 'heatmap', grid: n, points: finite },
    title,
    el('g', { class: 'cells' }, ...cells),
    centre,
    axes(frame, x, y, { x: 'α (direction 1)', y: 'β (direction 2)', title }, false),
    colourBar(frame.left + size + 14, frame.top, size, extent.min, extent.max, log, options.valueLabel),
  );
}
