/**
 * The cell as a graph: which intermediate nodes feed which, which reach the
 * output. Dead-node detection (validation, diagrams) and the paper's width and
 * depth (metrics) are both read off these helpers.
 */
import { type Cell, intermediateCount, nodeOfEntry } from './model.js';

/** Inputs of each intermediate node: node n → the input indices of its entries. */
export function nodeInputs(cell: Cell): Map<number, number[]> {
  const inputs = new Map<number, number[]>();
  cell.edges.forEach((edge, i) => {
    const node = nodeOfEntry(i);
    const list = inputs.get(node) ?? [];
    list.push(edge.input);
    inputs.set(node, list);
  });
  return inputs;
}

/**
 * Intermediate nodes whose value reaches the cell output: the concat nodes and,
 * transitively, every intermediate node feeding one of them. Inputs that point
 * at nodes that do not exist are ignored (validation reports them).
 */
export function liveNodes(cell: Cell): Set<number> {
  const inputs = nodeInputs(cell);
  const live = new Set<number>();
  const stack = cell.concat.filter((n) => inputs.has(n));
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (live.has(node)) continue;
    live.add(node);
    for (const input of inputs.get(node) ?? []) if (input >= 2 && inputs.has(input) && !live.has(input)) stack.push(input);
  }
  return live;
}

/** Intermediate nodes whose value never reaches the output, ascending. */
export function deadNodes(cell: Cell): number[] {
  const live = liveNodes(cell);
  const dead: number[] = [];
  for (let n = 2; n < 2 + intermediateCount(cell); n++) if (!live.has(n)) dead.push(n);
  return dead;
}

/** Intermediate nodes that consume node `n` (feed from it), ascending. */
export function consumersOf(cell: Cell, n: number): number[] {
  const out = new Set<number>();
  cell.edges.forEach((edge, i) => {
    if (edge.input === n) out.add(nodeOfEntry(i));
  });
  return [...out].sort((a, b) => a - b);
}
