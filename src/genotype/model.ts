/**
 * The genotype model: what a DARTS `Genotype(...)` means, independent of how it
 * was written. Every other layer (metrics, samplers, diagrams, the trainer)
 * works on these types; the parser's syntax tree (ast.ts) maps onto them.
 */

export const CELL_KINDS = ['normal', 'reduce'] as const;
export type CellKind = (typeof CELL_KINDS)[number];

/** One `(operation, input)` pair. Entries 2i and 2i+1 feed intermediate node i+2. */
export interface Edge {
  readonly op: string;
  readonly input: number;
}

/** How a concat list was written, so that printing keeps the author's form. */
export type ConcatStyle = 'list' | 'range';

export interface Cell {
  readonly edges: readonly Edge[];
  readonly concat: readonly number[];
  readonly concatStyle?: ConcatStyle;
}

export interface Genotype {
  readonly normal: Cell;
  readonly reduce: Cell;
}

export interface NamedGenotype {
  readonly name: string;
  readonly genotype: Genotype;
}

/** Number of intermediate nodes of a cell (two entries per node). */
export function intermediateCount(cell: Cell): number {
  return Math.ceil(cell.edges.length / 2);
}

/** The node an entry feeds: entries 2i and 2i+1 feed node i+2. */
export function nodeOfEntry(entryIndex: number): number {
  return 2 + Math.floor(entryIndex / 2);
}

/** Node numbers of the intermediate nodes: 2, 3, ..., M+1. */
export function intermediateNodes(cell: Cell): number[] {
  return Array.from({ length: intermediateCount(cell) }, (_, i) => i + 2);
}

/** Whether the concat is exactly range(a, b) (contiguous, ascending). */
export function isContiguous(concat: readonly number[]): boolean {
  return concat.length > 0 && concat.every((n, i) => n === concat[0]! + i);
}

export function cellOf(genotype: Genotype, kind: CellKind): Cell {
  return kind === 'normal' ? genotype.normal : genotype.reduce;
}

export function sameCell(a: Cell, b: Cell): boolean {
  return (
    a.edges.length === b.edges.length &&
    a.edges.every((e, i) => e.op === b.edges[i]!.op && e.input === b.edges[i]!.input) &&
    a.concat.length === b.concat.length &&
    a.concat.every((n, i) => n === b.concat[i])
  );
}

export function sameGenotype(a: Genotype, b: Genotype): boolean {
  return sameCell(a.normal, b.normal) && sameCell(a.reduce, b.reduce);
}
