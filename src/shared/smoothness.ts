/**
 * What the Section 4.3 smoothness probe's numbers say, in one place: the
 * standalone report (src/render/report.ts) and the editor's results panel
 * (src/webview/resultsPanel.ts) both group the runs' λ_max and trace by
 * normal-cell width and state the paper's claim, how the numbers were
 * measured and whether they agree, with these functions, so the two never
 * word it differently.
 *
 * Pure: no DOM, no node, no vscode.
 */
import { formatWidth } from '../genotype/metrics.js';
import type { HessianFile } from './landscapeTypes.js';
import { formatTick } from './numberFormat.js';

export { SMOOTHNESS_CLAIM } from './landscapeTypes.js';

/** One run's measured smoothness at its normal-cell width. */
export interface SmoothnessPoint {
  readonly width: number;
  readonly topEigenvalue: number | null;
  readonly trace: number | null;
}

/** The runs of one normal-cell width: how many, and their mean λ_max and trace (null: none finite). */
export interface SmoothnessGroup {
  readonly width: number;
  readonly count: number;
  readonly lambda: number | null;
  readonly trace: number | null;
}

/** Mean of the finite values; null when there are none. */
export function meanOf(values: readonly (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** The points grouped by width, narrowest first. */
export function smoothnessGroups(points: readonly SmoothnessPoint[]): SmoothnessGroup[] {
  const widths = [...new Set(points.map((p) => p.width))].sort((a, b) => a - b);
  return widths.map((width) => {
    const members = points.filter((p) => p.width === width);
    return { width, count: members.length, lambda: meanOf(members.map((m) => m.topEigenvalue)), trace: meanOf(members.map((m) => m.trace)) };
  });
}

/**
 * The narrowest group's mean λ_max against the widest's, and whether that
 * agrees with the paper (the wider cells smoother: a lower λ_max).
 */
export function smoothnessVerdict(groups: readonly SmoothnessGroup[]): string {
  const narrow = groups[0];
  const wide = groups.at(-1);
  if (groups.length < 2 || narrow === undefined || wide === undefined || narrow.lambda === null || wide.lambda === null) return 'One width only: nothing to compare.';
  return (
    `Measured: mean λ_max ${formatTick(narrow.lambda)} at ${formatWidth(narrow.width)} (${narrow.count} run${narrow.count === 1 ? '' : 's'}) and ${formatTick(wide.lambda)} at ${formatWidth(wide.width)} (${wide.count}) — ` +
    (wide.lambda < narrow.lambda ? 'the wider cells are smoother here, as the paper says.' : "the wider cells are not smoother here: these runs do not show the paper's effect.")
  );
}

/** How the numbers were measured, from one run's hessian.json (its numbers printed through String(): the file is untrusted). */
export function smoothnessMethod(file: Pick<HessianFile, 'iterations' | 'traceSamples' | 'batches' | 'batchSize'>): string {
  return `Measured here: the largest eigenvalue λ_max of the Hessian of the training loss at the trained weights (power iteration, up to ${String(file.iterations)} steps) and its trace (Hutchinson, ${String(file.traceSamples)} Rademacher vectors), on ${String(file.batches)} fixed training batches of ${String(file.batchSize)}; Hv by central differences of gradients. Lower λ_max: a smoother loss, larger stable steps.`;
}
