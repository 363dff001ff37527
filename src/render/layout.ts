/**
 * Left-to-right layered layout of a small directed multigraph with dagre, the
 * way the field draws cells: sources in one column on the left (in the order
 * given), a chosen sink in the rightmost column, and edge labels placed by
 * dagre as nodes of their own so that no two labels or nodes overlap.
 * Pure: no DOM, same input → same coordinates.
 */
import type * as Dagre from '@dagrejs/dagre' with { 'resolution-mode': 'import' };
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
  /** Nodes kept together in the leftmost column, top to bottom in this order. */
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

// Hidden helpers use names no caller can (ids are ours, but be safe).
const HIDDEN_SOURCE = '\u0000source';
const HIDDEN_PREFIX = '\u0000';

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
  x?: number;
  y?: number;
}

export function layoutGraph(spec: LayoutSpec): GraphLayout {
  const margin = spec.margin ?? 8;
  const g = new Graph<Record<string, unknown>, DagreNodeLabel, DagreEdgeLabel>({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: spec.nodeSep ?? 14, ranksep: spec.rankSep ?? 28, edgesep: spec.edgeSep ?? 8 });

  for (const node of spec.nodes) g.setNode(node.id, { width: node.width, height: node.height });
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
  // first column, whatever their out-edges would otherwise make the ranker do.
  const sources = (spec.sources ?? []).filter((s) => ids.has(s));
  if (sources.length > 0) {
    g.setNode(HIDDEN_SOURCE, { width: 0, height: 0 });
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

  const ordered = (spec.order ?? []).filter((s) => ids.has(s) && !sources.includes(s));
  // Sources are one column, so consecutive pairs suffice; the others may be
  // spread over columns, so every pair is constrained (a pair in different
  // columns is ignored by dagre, a pair in the same column is kept in order).
  const constraints = [
    ...sources.slice(1).map((s, i) => ({ left: sources[i]!, right: s })),
    ...ordered.flatMap((left, i) => ordered.slice(i + 1).map((right) => ({ left, right }))),
  ];
  layout(g, { constraints });

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
