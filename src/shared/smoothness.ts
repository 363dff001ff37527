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

// ---- λ_max per epoch (`--hessian-every N`, hessian-epochs.jsonl) -----------------

/** What the per-epoch chart shows, said the same way under the report's chart and the panel's. */
export const SMOOTHNESS_EPOCHS_METHOD =
  'λ_max of the training loss after every N-th epoch and the last (cellscope train or experiment --hessian-every N; power iteration on a few fixed training batches, small settings because it runs inside training): how the smoothness develops as the runs converge.';

/** One run's per-epoch λ_max at its normal-cell width (hessian-epochs.jsonl). */
export interface EpochSmoothnessRun {
  readonly width: number;
  readonly lines: readonly { readonly epoch: number; readonly topEigenvalue: number }[];
}

/** The narrowest and widest groups' mean λ_max at one epoch both were probed at. */
export interface EpochSmoothnessRow {
  readonly epoch: number;
  readonly narrow: number;
  readonly wide: number;
}

/** The narrowest group against the widest, epoch by epoch. */
export interface EpochSmoothnessComparison {
  readonly narrow: { readonly width: number; readonly count: number };
  readonly wide: { readonly width: number; readonly count: number };
  /** Epochs probed in both groups, in order. */
  readonly rows: readonly EpochSmoothnessRow[];
  /** Of `rows`, how many have the wide group's mean below the narrow group's. */
  readonly wideBelow: number;
}

function finiteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/**
 * The per-epoch λ_max of the narrowest width against the widest: each
 * group's mean over its runs probed at that epoch (finite values only; a run
 * counts in its group when it has one). Undefined with fewer than two widths
 * that have data.
 */
export function epochSmoothnessComparison(runs: readonly EpochSmoothnessRun[]): EpochSmoothnessComparison | undefined {
  const withData = runs.filter((r) => r.lines.some((l) => finiteNumber(l.topEigenvalue) && finiteNumber(l.epoch)));
  const widths = [...new Set(withData.map((r) => r.width))].sort((a, b) => a - b);
  if (widths.length < 2) return undefined;
  const group = (width: number) => withData.filter((r) => r.width === width);
  const narrowRuns = group(widths[0]!);
  const wideRuns = group(widths.at(-1)!);
  const meanAt = (members: readonly EpochSmoothnessRun[], epoch: number) =>
    meanOf(members.flatMap((r) => r.lines.filter((l) => l.epoch === epoch && finiteNumber(l.topEigenvalue)).map((l) => l.topEigenvalue)));
  const epochs = [...new Set(withData.flatMap((r) => r.lines.map((l) => l.epoch)).filter(finiteNumber))].sort((a, b) => a - b);
  const rows = epochs.flatMap((epoch) => {
    const narrow = meanAt(narrowRuns, epoch);
    const wide = meanAt(wideRuns, epoch);
    return narrow === null || wide === null ? [] : [{ epoch, narrow, wide }];
  });
  return {
    narrow: { width: widths[0]!, count: narrowRuns.length },
    wide: { width: widths.at(-1)!, count: wideRuns.length },
    rows,
    wideBelow: rows.filter((r) => r.wide < r.narrow).length,
  };
}

/**
 * What the per-epoch data shows against the paper: whether the widest
 * group's mean λ_max stays below the narrowest group's at every epoch both
 * were probed at, with the runs each group rests on.
 */
export function epochSmoothnessVerdict(comparison: EpochSmoothnessComparison | undefined): string {
  if (comparison === undefined) return 'One width only: nothing to compare.';
  const { narrow, wide, rows, wideBelow } = comparison;
  const runs = (n: number) => `${n} run${n === 1 ? '' : 's'}`;
  if (rows.length === 0) {
    return `Per epoch: the widest group (${formatWidth(wide.width)}, ${runs(wide.count)}) and the narrowest (${formatWidth(narrow.width)}, ${runs(narrow.count)}) were probed at no common epoch: nothing to compare.`;
  }
  const last = rows.at(-1)!;
  const head =
    `Per epoch: the widest group's mean λ_max (${formatWidth(wide.width)}, ${runs(wide.count)}) was below the narrowest group's (${formatWidth(narrow.width)}, ${runs(narrow.count)}) ` +
    `at ${wideBelow} of ${rows.length} epoch${rows.length === 1 ? '' : 's'} probed in both (after epoch ${last.epoch}: ${formatTick(last.wide)} against ${formatTick(last.narrow)}) — `;
  if (wideBelow === rows.length) {
    return rows.length === 1 ? `${head}the wider cells are smoother at that epoch, as the paper says.` : `${head}the wider cells stay smoother throughout training, as the paper says.`;
  }
  if (wideBelow === 0) return `${head}the wider cells are never smoother here: these runs do not show the paper's effect.`;
  return `${head}the wider cells are not smoother at every epoch: these runs show the paper's effect only in part.`;
}
