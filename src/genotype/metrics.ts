/**
 * The paper's cell metrics (Shu, Wang & Cai, ICLR 2020, "Width and depth"):
 * width in units of c and depth in connections, plus the display formats the
 * CLI, hovers and code lenses share. Network cost (parameters, MACs) lives in
 * cost.ts and is re-exported here so that one import serves both.
 */
import { deadNodes, nodeInputs } from './graph.js';
import type { Cell } from './model.js';

export { CIFAR_EVALUATION, networkCost, opParams } from './cost.js';
export type { NetworkCost, NetworkSize } from './cost.js';

function isCellInput(n: number): boolean {
  return n === 0 || n === 1;
}

/**
 * Paper's width in units of c: Σ over intermediate nodes (number of the
 * node's inputs in {0,1}) / 2. Nodes not in concat (even dead ones) still
 * count, as in the paper's definition.
 */
export function cellWidth(cell: Cell): number {
  let fromInputs = 0;
  for (const edge of cell.edges) if (isCellInput(edge.input)) fromInputs++;
  return fromInputs / 2;
}

/**
 * Longest path (in connections) from an input node to each intermediate node,
 * and the predecessor on one such path. Only inputs that can be evaluated
 * count: 0, 1, or an earlier intermediate node that exists; an input pointing
 * forward, at itself or at a missing node is ignored (validation reports it),
 * so a node with no usable input is unreachable (absent from the map).
 */
function longestDistances(cell: Cell): Map<number, { length: number; from: number }> {
  const inputs = nodeInputs(cell);
  const best = new Map<number, { length: number; from: number }>();
  // Node numbers ascend, and usable inputs are smaller, so one pass in order suffices.
  for (const node of [...inputs.keys()].sort((a, b) => a - b)) {
    let length = -1;
    let from = -1;
    for (const input of [...inputs.get(node)!].sort((a, b) => a - b)) {
      let candidate: number;
      if (isCellInput(input)) candidate = 1;
      else if (input >= 2 && input < node && best.has(input)) candidate = best.get(input)!.length + 1;
      else continue;
      // Strictly greater: ties keep the lowest-numbered input.
      if (candidate > length) {
        length = candidate;
        from = input;
      }
    }
    if (length > 0) best.set(node, { length, from });
  }
  return best;
}

/**
 * The concat node ending a longest path (lowest-numbered on ties) and the
 * path's length to that node, or undefined when no concat node is reachable.
 */
function deepestConcatNode(cell: Cell, best: Map<number, { length: number; from: number }>): number | undefined {
  let end: number | undefined;
  for (const n of [...new Set(cell.concat)].sort((a, b) => a - b)) {
    const d = best.get(n);
    if (d !== undefined && (end === undefined || d.length > best.get(end)!.length)) end = n;
  }
  return end;
}

/**
 * Paper's depth: connections on the longest path from an input node (0/1) to
 * the output node. Only concat nodes connect to the output and that last
 * connection counts, so a path ends input → … → concat node → output. Dead
 * nodes reach no concat node and so are on no such path. A cell with no
 * reachable concat node has depth 0.
 */
export function cellDepth(cell: Cell): number {
  const best = longestDistances(cell);
  const end = deepestConcatNode(cell, best);
  return end === undefined ? 0 : best.get(end)!.length + 1;
}

/**
 * One longest path as node numbers from an input to a concat node, e.g.
 * [0, 2, 5] (the output node is implied), for diagrams to highlight. Ties go
 * to the lowest-numbered concat node and, walking back, the lowest-numbered
 * input. Empty when no concat node is reachable.
 */
export function longestPath(cell: Cell): number[] {
  const best = longestDistances(cell);
  const end = deepestConcatNode(cell, best);
  if (end === undefined) return [];
  const path = [end];
  let node = end;
  while (!isCellInput(node)) {
    node = best.get(node)!.from;
    path.push(node);
  }
  return path.reverse();
}

export interface CellMetrics {
  readonly width: number;
  readonly depth: number;
  readonly deadNodes: number[];
}

export function cellMetrics(cell: Cell): CellMetrics {
  return { width: cellWidth(cell), depth: cellDepth(cell), deadNodes: deadNodes(cell) };
}

/** Width for display: formatWidth(3.5) → '3.5c', formatWidth(4) → '4c'. */
export function formatWidth(width: number): string {
  return `${trimNumber(width, 2)}c`;
}

const SUFFIXES: ReadonlyArray<[number, string]> = [
  [1e12, 'T'],
  [1e9, 'G'],
  [1e6, 'M'],
  [1e3, 'K'],
];

/**
 * A count with three significant digits and a unit suffix:
 * formatCount(3349342) → '3.35M', formatCount(246106) → '246K',
 * formatCount(528359040) → '528M'; below 1000 the integer itself.
 */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const sign = n < 0 ? '-' : '';
  const abs = Math.abs(n);
  if (abs < 1000) return sign + trimNumber(abs, 0);
  // Round to three significant digits first, so 999,999 becomes '1M', not '1000K'.
  const rounded = Number(abs.toPrecision(3));
  for (const [scale, suffix] of SUFFIXES) {
    if (rounded >= scale) return `${sign}${Number((rounded / scale).toPrecision(3))}${suffix}`;
  }
  return sign + trimNumber(abs, 0);
}

/** Fixed decimals without trailing zeros: trimNumber(3.50, 2) → '3.5'. */
function trimNumber(x: number, decimals: number): string {
  return String(Number(x.toFixed(decimals)));
}
