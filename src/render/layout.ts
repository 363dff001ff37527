/**
 * Left-to-right layered layout of a small directed multigraph with dagre, the
 * way the field draws cells: sources in one column on the left (in the order
 * given), a chosen sink in the rightmost column, and edge labels placed by
 * dagre as nodes of their own so that no two labels or nodes overlap.
 * Pure: no DOM, same input → same coordinates.
 */
import type * as Dagre from '@dagrejs/dagre' with { 'resolution-mode': 'import' };
import { type LayeredGraph, barycentreOrder } from './layerOrder.js';
import type { Point } from './svg.js';

// dagre ships CommonJS next to its ES module, but its type declarations are
// ES-only; this project compiles to CommonJS, so load the CommonJS build and
// type it from the declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Graph, layout } = require('@dagrejs/dagre') as typeof Dagre;

export interface LayoutNodeSpec {
  readonly id: string;
  readonly width: number;
  readonly height: number;
}

export interface LayoutEdgeSpec {
  /** Unique among edges; several edges may join the same two nodes. */
  readonly id: string;
  readonly from: string;
  readonly to: string;
  /** Size of the label box, when the edge has one. */
  readonly label?: { readonly width: number; readonly height: number };
}

export interface LayoutSpec {
  readonly nodes: readonly LayoutNodeSpec[];
  readonly edges: readonly LayoutEdgeSpec[];
  /** Nodes kept in the leftmost column, top to bottom in this order (together in small graphs; spread to meet their edges in big ones). */
  readonly sources?: readonly string[];
  /**
   * Preferred top-to-bottom order of nodes that share a column (a hint for
   * dagre's ordering; nodes in different columns are unaffected).
   */
  readonly order?: readonly string[];
  /** A node kept to the right of every other node. */
  readonly sink?: string;
  readonly nodeSep?: number;
  readonly rankSep?: number;
  readonly edgeSep?: number;
  /** Blank space around the drawing. */
  readonly margin?: number;
}

/** A placed box; x, y is its top-left corner. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PlacedEdge {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  /** From the border of `from` to the border of `to`. */
  readonly points: readonly Point[];
  readonly label?: Box;
}

export interface GraphLayout {
  readonly nodes: ReadonlyMap<string, Box>;
  readonly edges: ReadonlyMap<string, PlacedEdge>;
  readonly width: number;
  readonly height: number;
}

interface DagreEdgeLabel {
  width: number;
  height: number;
  minlen: number;
  weight: number;
  labelpos?: 'c';
  points?: Point[];
  x?: number;
  y?: number;
}

interface DagreNodeLabel {
  width: number;
  height: number;
  rank?: number;
  x?: number;
  y?: number;
}

// Hidden helpers use names no caller can (ids are ours, but be safe).
const HIDDEN_SOURCE = '\u0000source';
const HIDDEN_PREFIX = '\u0000';

/**
 * Up to this many nodes dagre lays out alone, as it always has: network
 * simplex ranks, its crossing minimisation orders, with order constraints
 * between every pair of the preferred order. Past it those are superlinear
 * (network simplex; sorting each layer in time quadratic in its width,
 * every constraint re-added for every layer, sweeps repeated for as long as
 * they help) and recurse as deep as the graph is long, so a big graph gets
 * its columns from `layoutColumns` and its order from `barycentreOrder`,
 * and dagre does the rest (positions, dummy nodes, edge points). Cells the
 * field publishes have 7–9 nodes.
 */
const SMALL_GRAPH = 50;

/**
 * The column of every node: sources (and nodes nothing feeds) in column 0,
 * every other node one right of its rightmost input (the longest path from
 * a source, Kahn's algorithm: linear and without recursion), the sink one
 * right of everything else. Throws on a cycle: a cell is a DAG.
 */
export function layoutColumns(spec: Pick<LayoutSpec, 'nodes' | 'edges' | 'sink'>): Map<string, number> {
  const sink = spec.sink;
  const inDegree = new Map<string, number>();
  const out = new Map<string, string[]>();
  for (const node of spec.nodes) {
    inDegree.set(node.id, 0);
    out.set(node.id, []);
  }
  for (const edge of spec.edges) {
    if (!inDegree.has(edge.from) || !inDegree.has(edge.to)) throw new Error(`layout: edge ${edge.id} joins a missing node`);
    inDegree.set(edge.to, inDegree.get(edge.to)! + 1);
    out.get(edge.from)!.push(edge.to);
  }
  const column = new Map<string, number>();
  const ready: string[] = [];
  for (const node of spec.nodes) {
    if (inDegree.get(node.id) === 0) {
      column.set(node.id, 0);
      ready.push(node.id);
    }
  }
  const topological: string[] = [];
  while (ready.length > 0) {
    const v = ready.pop()!;
    topological.push(v);
    const c = column.get(v)!;
    for (const w of out.get(v)!) {
      column.set(w, Math.max(column.get(w) ?? 0, c + 1));
      const left = inDegree.get(w)! - 1;
      inDegree.set(w, left);
      if (left === 0) ready.push(w);
    }
  }
  if (topological.length < spec.nodes.length) throw new Error('layout: the graph has a cycle');
  let last = 0;
  for (const [id, c] of column) if (id !== sink) last = Math.max(last, c);
  if (sink !== undefined && column.has(sink)) column.set(sink, last + 1);
  return column;
}

export function layoutGraph(spec: LayoutSpec): GraphLayout {
  const margin = spec.margin ?? 8;
  const big = spec.nodes.length > SMALL_GRAPH;
  const g = new Graph<Record<string, unknown>, DagreNodeLabel, DagreEdgeLabel>({ multigraph: true });
  g.setGraph({
    rankdir: 'LR',
    nodesep: spec.nodeSep ?? 14,
    ranksep: spec.rankSep ?? 28,
    edgesep: spec.edgeSep ?? 8,
    // A big graph comes ranked (no network simplex); it is acyclic, and
    // greedy's cycle search is iterative where the default's recurses.
    ...(big ? { ranker: 'none', acyclicer: 'greedy' } : {}),
  });

  // Big graphs: our columns, in dagre's units (an edge label takes a rank of
  // its own between two columns).
  const columns = big ? layoutColumns(spec) : undefined;
  for (const node of spec.nodes) {
    g.setNode(node.id, { width: node.width, height: node.height, ...(columns ? { rank: 2 * columns.get(node.id)! } : {}) });
  }
  const ids = new Set(spec.nodes.map((n) => n.id));
  for (const edge of spec.edges) {
    if (!ids.has(edge.from) || !ids.has(edge.to)) throw new Error(`layout: edge ${edge.id} joins a missing node`);
    g.setEdge(
      edge.from,
      edge.to,
      edge.label
        ? { width: edge.label.width, height: edge.label.height, labelpos: 'c', minlen: 1, weight: 1 }
        : { width: 0, height: 0, minlen: 1, weight: 1 },
      edge.id,
    );
  }

  // A hidden source tied tightly to every listed source puts them all in the
  // first column, whatever their out-edges would otherwise make the ranker
  // do, and its heavy edges keep them together.
  const sources = (spec.sources ?? []).filter((s) => ids.has(s));
  if (sources.length > 0) {
    g.setNode(HIDDEN_SOURCE, { width: 0, height: 0, ...(columns ? { rank: -2 } : {}) });
    sources.forEach((s, i) => g.setEdge(HIDDEN_SOURCE, s, { width: 0, height: 0, minlen: 1, weight: 1000 }, `${HIDDEN_PREFIX}s${i}`));
  }
  // Nodes with no way out (dead ends) are tied loosely to the sink, so it stays rightmost.
  if (spec.sink !== undefined && ids.has(spec.sink)) {
    const hasOut = new Set(spec.edges.map((e) => e.from));
    spec.nodes.forEach((n, i) => {
      if (n.id !== spec.sink && !hasOut.has(n.id)) {
        g.setEdge(n.id, spec.sink!, { width: 0, height: 0, minlen: 1, weight: 0 }, `${HIDDEN_PREFIX}k${i}`);
      }
    });
  }

  if (big) {
    // Bounded effort: barycentre sweeps of our own instead of dagre's
    // ordering; the sources stay one block in their order, ties keep the
    // order nodes are listed in.
    layout(g, { customOrder: (layered: unknown) => barycentreOrder(layered as LayeredGraph, sources) });
  } else {
    const ordered = (spec.order ?? []).filter((s) => ids.has(s) && !sources.includes(s));
    // Sources are one column, so consecutive pairs suffice; the others may be
    // spread over columns, so every pair is constrained (a pair in different
    // columns is ignored by dagre, a pair in the same column is kept in
    // order; dagre keeps an order reliably only when the constraints are
    // transitively closed). Quadratic, hence small graphs only.
    const constraints = [
      ...sources.slice(1).map((s, i) => ({ left: sources[i]!, right: s })),
      ...ordered.flatMap((left, i) => ordered.slice(i + 1).map((right) => ({ left, right }))),
    ];
    layout(g, { constraints });
  }

  // Collect what is drawn and move it to (margin, margin).
  const nodes = new Map<string, Box>();
  for (const node of spec.nodes) {
    const n = g.node(node.id);
    nodes.set(node.id, { x: n.x! - node.width / 2, y: n.y! - node.height / 2, width: node.width, height: node.height });
  }
  const edges: PlacedEdge[] = spec.edges.map((edge) => {
    const e = g.edge(edge.from, edge.to, edge.id);
    const label = edge.label
      ? { x: e.x! - edge.label.width / 2, y: e.y! - edge.label.height / 2, width: edge.label.width, height: edge.label.height }
      : undefined;
    return { id: edge.id, from: edge.from, to: edge.to, points: (e.points ?? []).map((p: Point) => ({ x: p.x, y: p.y })), ...(label ? { label } : {}) };
  });

  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  const extend = (x: number, y: number): void => {
    minX = Math.min(minX, x);
    minY = Math.min(minY, y);
    maxX = Math.max(maxX, x);
    maxY = Math.max(maxY, y);
  };
  for (const b of nodes.values()) {
    extend(b.x, b.y);
    extend(b.x + b.width, b.y + b.height);
  }
  for (const e of edges) {
    for (const p of e.points) extend(p.x, p.y);
    if (e.label) {
      extend(e.label.x, e.label.y);
      extend(e.label.x + e.label.width, e.label.y + e.label.height);
    }
  }
  if (!Number.isFinite(minX)) return { nodes, edges: new Map(), width: 2 * margin, height: 2 * margin };

  const dx = margin - minX;
  const dy = margin - minY;
  const shift = (b: Box): Box => ({ x: b.x + dx, y: b.y + dy, width: b.width, height: b.height });
  const placedNodes = new Map<string, Box>();
  for (const [id, b] of nodes) placedNodes.set(id, shift(b));
  const placedEdges = new Map<string, PlacedEdge>();
  for (const e of edges) {
    placedEdges.set(e.id, {
      ...e,
      points: e.points.map((p) => ({ x: p.x + dx, y: p.y + dy })),
      ...(e.label ? { label: shift(e.label) } : {}),
    });
  }
  return { nodes: placedNodes, edges: placedEdges, width: maxX - minX + 2 * margin, height: maxY - minY + 2 * margin };
}
