/**
 * Random-connection variants stratified by normal-cell width, as the paper's
 * figures group them (DARTS: three variants each at 2c, 2.5c, 3c, 3.5c).
 *
 * Which widths: given ones, or else the widths random connections produce
 * most often (counted over the first `probeSeeds` seeds, so the choice is
 * the authors' seeding and deterministic), up to one width per variant,
 * reported narrow to wide. How many per width: the variants are dealt out
 * in turn, narrowest width first. Which seeds: per width, the lowest seeds
 * whose variant has that width (findVariants). Pure.
 */
import { cellMetrics } from '../genotype/metrics.js';
import type { Genotype } from '../genotype/model.js';
import { findVariants, randomConnections } from '../genotype/samplers.js';

export interface StratifiedVariant {
  readonly seed: number;
  readonly genotype: Genotype;
  readonly width: number;
  readonly depth: number;
}

export interface StratifyOptions {
  /** Widths (in c) to sample at; default: the most frequent ones. */
  readonly widths?: readonly number[];
  /** Seeds counted to find the frequent widths (default 200). */
  readonly probeSeeds?: number;
}

/** The most frequent normal-cell widths of random-connection variants (ties: narrower first), at most `count`, ascending. */
export function frequentWidths(genotype: Genotype, count: number, probeSeeds = 200): number[] {
  const counts = new Map<number, number>();
  for (let seed = 1; seed <= probeSeeds; seed++) {
    const w = cellMetrics(randomConnections(genotype, seed).normal).width;
    counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, Math.max(0, count))
    .map(([w]) => w)
    .sort((a, b) => a - b);
}

export function stratifiedVariants(genotype: Genotype, count: number, options: StratifyOptions = {}): StratifiedVariant[] {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`variant count must be a whole number, got ${count}`);
  if (count === 0) return [];
  const widths = options.widths !== undefined ? [...new Set(options.widths)].sort((a, b) => a - b) : frequentWidths(genotype, count, options.probeSeeds);
  if (widths.length === 0) throw new RangeError('no widths to sample at');
  const perWidth = widths.map((_, k) => Math.floor(count / widths.length) + (k < count % widths.length ? 1 : 0));
  const out: StratifiedVariant[] = [];
  widths.forEach((width, k) => {
    if (perWidth[k] === 0) return;
    for (const v of findVariants(genotype, 'connections', { normalWidth: width }, { count: perWidth[k]! })) {
      const m = cellMetrics(v.genotype.normal);
      out.push({ seed: v.seed, genotype: v.genotype, width: m.width, depth: m.depth });
    }
  });
  return out;
}
