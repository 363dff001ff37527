/**
 * Differences between two genotypes, cell by cell, for marking a drawing
 * against another (an original and its variant). The two entries of a node
 * are summed in DARTS, so their order does not matter: each node's entries
 * are matched to the other cell's entries of the same node either in order
 * or swapped, whichever leaves fewer differences.
 */
import type { Cell, CellKind, Edge, Genotype } from '../genotype/model.js';
import { CELL_KINDS, intermediateCount } from '../genotype/model.js';

/** How an entry differs from the entry it was matched with. */
export type EntryChange = 'op' | 'input' | 'op+input' | 'extra';

export interface EntryDiff {
  /** Index of the entry in this cell. */
  readonly index: number;
  readonly change: EntryChange;
  /** The matched entry of the other cell (absent for 'extra': the other cell has no such node). */
  readonly other?: Edge;
  readonly otherIndex?: number;
}

export interface CellDiff {
  /** Entries of this cell that differ; entries not listed are the same as their match. */
  readonly entries: readonly EntryDiff[];
  /** Concat nodes here that the other cell does not concatenate, ascending. */
  readonly concatAdded: readonly number[];
  /** Concat nodes of the other cell that this cell does not concatenate, ascending. */
  readonly concatRemoved: readonly number[];
  /** Intermediate nodes the other cell has beyond this cell's last node. */
  readonly missingNodes: number;
}

export type GenotypeDiff = Readonly<Record<CellKind, CellDiff>>;

function changeOf(a: Edge, b: Edge): EntryChange | undefined {
  const op = a.op !== b.op;
  const input = a.input !== b.input;
  if (op && input) return 'op+input';
  if (op) return 'op';
  if (input) return 'input';
  return undefined;
}

/** Differences of `cell` from `other`, seen from `cell` (its entry indices, its concat). */
export function diffCells(cell: Cell, other: Cell): CellDiff {
  const entries: EntryDiff[] = [];
  const count = (pairs: ReadonlyArray<[number, number]>): number =>
    pairs.reduce((n, [i, j]) => {
      const c = changeOf(cell.edges[i]!, other.edges[j]!);
      return n + (c === undefined ? 0 : c === 'op+input' ? 2 : 1);
    }, 0);

  for (let node = 0; 2 * node < cell.edges.length; node++) {
    const mine = [2 * node, 2 * node + 1].filter((i) => i < cell.edges.length);
    const theirs = [2 * node, 2 * node + 1].filter((j) => j < other.edges.length);
    // Candidate matchings: in order, or swapped when both sides have two entries.
    const straight: Array<[number, number]> = mine.flatMap((i, k) => (theirs[k] !== undefined ? [[i, theirs[k]!] as [number, number]] : []));
    let pairs = straight;
    if (mine.length === 2 && theirs.length === 2) {
      const swapped: Array<[number, number]> = [
        [mine[0]!, theirs[1]!],
        [mine[1]!, theirs[0]!],
      ];
      if (count(swapped) < count(straight)) pairs = swapped;
    }
    const matched = new Set(pairs.map(([i]) => i));
    for (const [i, j] of pairs) {
      const change = changeOf(cell.edges[i]!, other.edges[j]!);
      if (change) entries.push({ index: i, change, other: other.edges[j]!, otherIndex: j });
    }
    for (const i of mine) if (!matched.has(i)) entries.push({ index: i, change: 'extra' });
  }
  entries.sort((a, b) => a.index - b.index);

  const mineConcat = new Set(cell.concat);
  const theirConcat = new Set(other.concat);
  return {
    entries,
    concatAdded: [...mineConcat].filter((n) => !theirConcat.has(n)).sort((a, b) => a - b),
    concatRemoved: [...theirConcat].filter((n) => !mineConcat.has(n)).sort((a, b) => a - b),
    missingNodes: Math.max(0, intermediateCount(other) - intermediateCount(cell)),
  };
}

export function diffGenotypes(genotype: Genotype, other: Genotype): GenotypeDiff {
  return { normal: diffCells(genotype.normal, other.normal), reduce: diffCells(genotype.reduce, other.reduce) };
}

/** Number of differences in a cell: changed entries, concat changes and missing nodes. */
export function cellDiffCount(diff: CellDiff): number {
  return diff.entries.length + diff.concatAdded.length + diff.concatRemoved.length + diff.missingNodes;
}

export function genotypeDiffCount(diff: GenotypeDiff): number {
  return CELL_KINDS.reduce((n, kind) => n + cellDiffCount(diff[kind]), 0);
}
