/**
 * The numbers the editor shows for a genotype — the paper's width and depth
 * of both cells and the network's parameters and multiply-accumulates at the
 * configured evaluation size — computed once per genotype object and size.
 * Lens titles and hovers format the same summary, so they always agree.
 */
import { cellMetrics, formatCount, formatWidth, networkCost, type CellMetrics, type NetworkCost, type NetworkSize } from '../genotype/metrics.js';
import type { Genotype } from '../genotype/model.js';

export interface GenotypeSummary {
  readonly normal: CellMetrics;
  readonly reduce: CellMetrics;
  readonly cost: NetworkCost;
}

const cache = new WeakMap<Genotype, Map<string, GenotypeSummary>>();

function sizeKey(size: NetworkSize): string {
  return `${size.channels}/${size.layers}/${size.classes}/${size.inputSize ?? 32}`;
}

export function summarize(genotype: Genotype, size: NetworkSize): GenotypeSummary {
  let bySize = cache.get(genotype);
  if (!bySize) cache.set(genotype, (bySize = new Map()));
  const key = sizeKey(size);
  let summary = bySize.get(key);
  if (!summary) {
    summary = { normal: cellMetrics(genotype.normal), reduce: cellMetrics(genotype.reduce), cost: networkCost(genotype, size) };
    bySize.set(key, summary);
  }
  return summary;
}

/** `normal 3.5c · depth 3 | reduce 2.5c · depth 3 | 3.35M params` */
export function lensTitle(summary: GenotypeSummary): string {
  const cell = (kind: string, m: CellMetrics): string => `${kind} ${formatWidth(m.width)} · depth ${m.depth}`;
  return `${cell('normal', summary.normal)} | ${cell('reduce', summary.reduce)} | ${formatCount(summary.cost.params)} params`;
}

/** `C = 36, 20 cells, 10 classes` */
export function describeSize(size: NetworkSize): string {
  const input = size.inputSize !== undefined && size.inputSize !== 32 ? `, ${size.inputSize}×${size.inputSize} input` : '';
  return `C = ${size.channels}, ${size.layers} cells, ${size.classes} classes${input}`;
}

/** 3349342 → '3,349,342' (grouping is fixed, not locale-dependent, so tests and screenshots agree). */
export function groupDigits(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Markdown lines of a genotype's metrics for hovers. */
export function summaryMarkdown(summary: GenotypeSummary, size: NetworkSize): string[] {
  const dead = (m: CellMetrics): string => (m.deadNodes.length === 0 ? '—' : m.deadNodes.join(', '));
  return [
    '| cell | width | depth | dead nodes |',
    '| --- | --- | --- | --- |',
    `| normal | ${formatWidth(summary.normal.width)} | ${summary.normal.depth} | ${dead(summary.normal)} |`,
    `| reduce | ${formatWidth(summary.reduce.width)} | ${summary.reduce.depth} | ${dead(summary.reduce)} |`,
    '',
    `**${formatCount(summary.cost.params)} parameters** (${groupDigits(summary.cost.params)}) · ` +
      `**${formatCount(summary.cost.macs)} multiply-accumulates** per image, at ${describeSize(size)} (auxiliary head excluded)`,
  ];
}
