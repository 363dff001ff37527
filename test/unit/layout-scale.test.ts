import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Cell } from '../../src/genotype/model.js';
import { renderCellSvg } from '../../src/render/cellSvg.js';
import { layoutColumns, layoutGraph } from '../../src/render/layout.js';
import { mulberry32 } from '../../src/shared/mulberry32.js';

// Big cells: the layout must scale (timing is bench/layout.bench.ts's
// business) and stay a valid layered drawing. Cells of any node count are
// genotypes like any other: entries 2i and 2i+1 feed node i+2.

const OPS = ['sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'max_pool_3x3', 'skip_connect'];

/** A deep cell: node i reads nodes i-1 and i-2, only the last node feeds c_{k}. */
function chainCell(m: number): Cell {
  const edges = [];
  for (let node = 2; node < 2 + m; node++) edges.push({ op: OPS[node % OPS.length]!, input: node - 1 }, { op: OPS[(node + 2) % OPS.length]!, input: node - 2 });
  return { edges, concat: [m + 1] };
}

/** A random-connection cell: each input drawn uniformly from the earlier nodes, every node in the concat (as DARTS). */
function randomCell(m: number, seed: number): Cell {
  const r = mulberry32(seed);
  const edges = [];
  for (let node = 2; node < 2 + m; node++) for (let k = 0; k < 2; k++) edges.push({ op: OPS[Math.floor(r() * OPS.length)]!, input: Math.floor(r() * node) });
  return { edges, concat: Array.from({ length: m }, (_, i) => i + 2) };
}

interface NodeBox {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Node boxes and entry edges (from, to) of a lone cell's drawing. */
function drawing(svg: string): { nodes: Map<string, NodeBox>; edges: Array<[string, string]> } {
  const nodes = new Map<string, NodeBox>();
  for (const m of svg.matchAll(/<g class="cs-node[^"]*" data-node="([^"]+)"[^>]*><rect x="([-\d.]+)" y="([-\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)) {
    nodes.set(m[1]!, { x: Number(m[2]), y: Number(m[3]), width: Number(m[4]), height: Number(m[5]) });
  }
  const edges: Array<[string, string]> = [];
  for (const m of svg.matchAll(/<g class="cs-edge[^"]*" data-from="([^"]+)" data-to="([^"]+)"/g)) edges.push([m[1]!, m[2]!]);
  return { nodes, edges };
}

/** Every edge runs left to right (its source's box ends before its target's begins), and no two node boxes overlap. */
function assertLayered(svg: string, cell: Cell, name: string): void {
  const { nodes, edges } = drawing(svg);
  const m = cell.edges.length / 2;
  assert.equal(nodes.size, m + 3, `${name}: every node drawn`);
  assert.equal(edges.length, cell.edges.length + new Set(cell.concat).size, `${name}: every edge drawn`);
  for (const [from, to] of edges) {
    const a = nodes.get(from)!;
    const b = nodes.get(to)!;
    assert.ok(a.x + a.width < b.x, `${name}: edge ${from} → ${to} does not run left to right`);
  }
  // Overlap: sweep the boxes by x, comparing each with those that start before it ends.
  const boxes = [...nodes.entries()].sort((p, q) => p[1].x - q[1].x);
  for (let i = 0; i < boxes.length; i++) {
    const [idA, a] = boxes[i]!;
    for (let j = i + 1; j < boxes.length && boxes[j]![1].x < a.x + a.width; j++) {
      const [idB, b] = boxes[j]!;
      assert.ok(!(a.y < b.y + b.height && b.y < a.y + a.height), `${name}: nodes ${idA} and ${idB} overlap`);
    }
  }
}

test('a 10,000-node cell lays out without a stack overflow, every edge left to right, no two nodes overlapping', () => {
  const cell = chainCell(10_000);
  assertLayered(renderCellSvg(cell, 'normal', { legend: false }), cell, 'chain of 10,000');
});

test('a random-connection cell of 300 nodes, every one in the concat, is a valid layered drawing too', () => {
  const cell = randomCell(300, 1);
  assertLayered(renderCellSvg(cell, 'normal', { legend: false }), cell, 'random 300');
});

test('columns come from the topological order: one right of the rightmost input, the sink last', () => {
  const nodes = ['0', '1', '2', '3', '4', 'out'].map((id) => ({ id, width: 10, height: 10 }));
  const edge = (from: string, to: string) => ({ id: `${from}>${to}`, from, to });
  const spec = { nodes, edges: [edge('0', '2'), edge('1', '2'), edge('2', '3'), edge('0', '3'), edge('1', '4'), edge('3', 'out')], sink: 'out' };
  assert.deepEqual(Object.fromEntries(layoutColumns(spec)), { 0: 0, 1: 0, 2: 1, 3: 2, 4: 1, out: 3 });
  assert.throws(() => layoutColumns({ nodes, edges: [edge('2', '3'), edge('3', '2')] }), /cycle/);
});

test('a big graph keeps sources in the first column, in the given order, and the sink rightmost', () => {
  const cell = randomCell(120, 7);
  const { nodes } = drawing(renderCellSvg(cell, 'normal', { legend: false }));
  const zero = nodes.get('0')!;
  const one = nodes.get('1')!;
  assert.equal(zero.x, one.x);
  assert.ok(zero.y < one.y, 'c_{k-2} above c_{k-1}');
  const out = nodes.get('out')!;
  for (const [id, b] of nodes) {
    if (id !== '0' && id !== '1') assert.ok(b.x > zero.x, `${id} right of the inputs`);
    if (id !== 'out') assert.ok(b.x + b.width < out.x, `${id} left of c_{k}`);
  }
});

test('layoutGraph refuses an edge to a missing node, big or small', () => {
  for (const count of [3, 60]) {
    const nodes = Array.from({ length: count }, (_, i) => ({ id: String(i), width: 10, height: 10 }));
    assert.throws(() => layoutGraph({ nodes, edges: [{ id: 'e', from: '0', to: 'nowhere' }] }), /edge e joins a missing node/);
  }
});
