/**
 * Top-to-bottom order within each layer of a layered drawing, for graphs too
 * big for dagre's own crossing minimisation (its sorting of a layer is
 * quadratic in the layer's width, it re-adds every order constraint for every
 * layer, and it repeats sweeps for as long as they help). This is the same
 * barycentre heuristic with bounded effort: a fixed number of sweeps, each
 * O(E + V log V), keeping the order with the fewest crossings.
 *
 * It runs as dagre's `customOrder`, on dagre's layered graph (real nodes and
 * the dummy nodes of long edges and labels, every edge between adjacent
 * ranks), and sets `order` on every node that has a rank.
 */

/** The part of dagre's (graphlib's) graph the ordering reads and writes. */
export interface LayeredGraph {
  nodes(): string[];
  node(v: string): { rank?: number; order?: number };
  inEdges(v: string): Array<{ v: string; w: string; name?: string }> | void;
  outEdges(v: string): Array<{ v: string; w: string; name?: string }> | void;
  edge(e: { v: string; w: string; name?: string }): { weight?: number };
}

/** Down and up sweeps after the first placement; enough for barycentres to settle in practice. */
const SWEEPS = 8;

interface Neighbour {
  readonly at: number; // index of the node in `all`
  readonly weight: number;
}

/**
 * `together`: nodes kept next to each other in the order, in the given order, as one block
 * at their mean barycentre (a cell's inputs c_{k-2}, c_{k-1}).
 */
export function barycentreOrder(g: LayeredGraph, together: readonly string[] = [], sweeps = SWEEPS): void {
  const all = g.nodes().filter((v) => g.node(v).rank !== undefined);
  const index = new Map(all.map((v, i) => [v, i]));
  const group = new Map<number, number>();
  together.forEach((v, k) => {
    const i = index.get(v);
    if (i !== undefined) group.set(i, k);
  });
  const rank = all.map((v) => g.node(v).rank!);
  if (all.length === 0) return;
  const minRank = rank.reduce((a, b) => Math.min(a, b), Infinity);
  const layers: number[][] = [];
  all.forEach((_, i) => (layers[rank[i]! - minRank] ??= []).push(i));
  for (let r = 0; r < layers.length; r++) layers[r] ??= [];

  const neighbours = (i: number, edges: ReturnType<LayeredGraph['inEdges']>, end: 'v' | 'w'): Neighbour[] =>
    (edges ?? []).map((e) => ({ at: index.get(e[end])!, weight: g.edge(e).weight ?? 1 })).filter((n) => n.at !== undefined && n.at !== i);
  const preds = all.map((v, i) => neighbours(i, g.inEdges(v), 'v'));
  const succs = all.map((v, i) => neighbours(i, g.outEdges(v), 'w'));

  // Position of each node within its layer.
  const pos = new Float64Array(all.length);
  const place = (layer: number[]): void => layer.forEach((i, p) => (pos[i] = p));

  /** Sorts a layer by the barycentre of its neighbours in the layer just placed; others keep their place. */
  const sortLayer = (layer: number[], side: Neighbour[][]): void => {
    const key = layer.map((i, p) => {
      let sum = 0;
      let weight = 0;
      for (const n of side[i]!) {
        sum += n.weight * pos[n.at]!;
        weight += n.weight;
      }
      return { i, key: weight > 0 ? sum / weight : p, p, g: group.get(i) };
    });
    // The block: one key for all its members (of this layer), the mean of theirs.
    const members = key.filter((k) => k.g !== undefined);
    if (members.length > 1) {
      const mean = members.reduce((sum, k) => sum + k.key, 0) / members.length;
      for (const k of members) k.key = mean;
    }
    // Equal keys: the block first and in its order (so it stays contiguous), then the older place.
    key.sort((a, b) => a.key - b.key || (a.g ?? Infinity) - (b.g ?? Infinity) || a.p - b.p);
    key.forEach((k, p) => (layer[p] = k.i));
    place(layer);
  };

  // First placement: the first layer in the given order (nodes as the caller
  // listed them), every next one by the barycentres of its predecessors.
  place(layers[0]!);
  for (let r = 1; r < layers.length; r++) {
    place(layers[r]!);
    sortLayer(layers[r]!, preds);
  }

  let best = layers.map((l) => [...l]);
  let bestCrossings = crossings(layers, succs, pos);
  for (let s = 0; s < sweeps; s++) {
    if (s % 2 === 0) for (let r = layers.length - 2; r >= 0; r--) sortLayer(layers[r]!, succs);
    else for (let r = 1; r < layers.length; r++) sortLayer(layers[r]!, preds);
    const c = crossings(layers, succs, pos);
    if (c < bestCrossings) {
      bestCrossings = c;
      best = layers.map((l) => [...l]);
    }
  }
  for (const layer of best) layer.forEach((i, p) => (g.node(all[i]!).order = p));
}

/**
 * Weighted crossings between adjacent layers, counted with an accumulator
 * tree (Barth, Jünger & Mutzel): O(E log V) per pair of layers.
 */
function crossings(layers: readonly number[][], succs: readonly Neighbour[][], pos: Float64Array): number {
  let total = 0;
  for (let r = 0; r + 1 < layers.length; r++) {
    const south = layers[r + 1]!;
    if (south.length === 0) continue;
    let first = 1;
    while (first < south.length) first <<= 1;
    const tree = new Float64Array(2 * first - 1);
    first -= 1;
    const entries: Neighbour[] = [];
    for (const i of layers[r]!) {
      const out = succs[i]!.filter((n) => pos[n.at] !== undefined).sort((a, b) => pos[a.at]! - pos[b.at]!);
      entries.push(...out);
    }
    for (const e of entries) {
      let node = pos[e.at]! + first;
      tree[node]! += e.weight;
      let right = 0;
      while (node > 0) {
        if (node % 2) right += tree[node + 1]!;
        node = (node - 1) >> 1;
        tree[node]! += e.weight;
      }
      total += e.weight * right;
    }
  }
  return total;
}
