import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cellDepth,
  cellMetrics,
  cellWidth,
  formatCount,
  formatWidth,
  longestPath,
} from '../../src/genotype/metrics.js';
import { builtin } from '../../src/genotype/library.js';
import type { Cell } from '../../src/genotype/model.js';

/** A cell from [[input, input], ...] per node (op irrelevant to width/depth) and a concat. */
function cellOf(nodes: ReadonlyArray<readonly [number, number]>, concat: number[]): Cell {
  return { edges: nodes.flatMap(([a, b]) => [{ op: 'sep_conv_3x3', input: a }, { op: 'skip_connect', input: b }]), concat };
}

function normalOf(name: string): Cell {
  const entry = builtin(name);
  assert.ok(entry, name);
  return entry.genotype.normal;
}

test('published normal-cell width and depth (paper Fig. 1)', () => {
  const published: Array<[string, number, number]> = [
    ['NASNet', 5, 2],
    ['AmoebaNet', 4, 4],
    ['ENAS', 5, 2],
    ['DARTS_V2', 3.5, 3],
    ['SNAS_MILD', 4, 2],
  ];
  for (const [name, width, depth] of published) {
    const cell = normalOf(name);
    assert.equal(cellWidth(cell), width, `${name} width`);
    assert.equal(cellDepth(cell), depth, `${name} depth`);
    assert.deepEqual(cellMetrics(cell), { width, depth, deadNodes: [] }, name);
  }
});

test('DARTS_V2 reduction cell, derived by hand', () => {
  // Nodes 2 ← (0,1), 3 ← (2,1), 4 ← (0,2), 5 ← (2,1): width 1 + ½ + ½ + ½ = 2.5;
  // longest path 0 → 2 → 3 → output = 3 connections.
  const reduce = builtin('DARTS_V2')!.genotype.reduce;
  assert.equal(cellWidth(reduce), 2.5);
  assert.equal(cellDepth(reduce), 3);
  assert.deepEqual(longestPath(reduce), [0, 2, 3]);
});

test('longest paths of the built-ins end at a concat node and have depth − 1 connections', () => {
  // DARTS_V2 normal: node 5 ← (0, 2), node 2 ← (0, 1): 0 → 2 → 5; ties go to the lower input.
  assert.deepEqual(longestPath(normalOf('DARTS_V2')), [0, 2, 5]);
  // AmoebaNet normal: node 4 ← (0, 3), 3 ← (0, 2), 2 ← (0, 1).
  assert.deepEqual(longestPath(normalOf('AmoebaNet')), [0, 2, 3, 4]);
  for (const name of ['NASNet', 'AmoebaNet', 'ENAS', 'DARTS_V2', 'SNAS_MILD', 'PC_DARTS', 'P_DARTS']) {
    const cell = normalOf(name);
    const path = longestPath(cell);
    assert.equal(path.length, cellDepth(cell), name);
    assert.ok(path[0] === 0 || path[0] === 1, name);
    assert.ok(cell.concat.includes(path.at(-1)!), name);
  }
});

test('chain cells are the deepest: depth M+1, width 1c', () => {
  for (let m = 1; m <= 7; m++) {
    const nodes: Array<[number, number]> = [[0, 1]];
    for (let n = 3; n < 2 + m; n++) nodes.push([n - 1, n - 1]);
    const last = m + 1;
    const cell = cellOf(nodes, [last]);
    assert.equal(cellDepth(cell), m + 1, `M=${m}`);
    assert.equal(cellWidth(cell), 1, `M=${m}`);
    assert.deepEqual(longestPath(cell), [0, ...Array.from({ length: m }, (_, i) => i + 2)], `M=${m}`);
    // Concatenating every node changes nothing: the deepest concat node is still the last.
    const all = cellOf(nodes, Array.from({ length: m }, (_, i) => i + 2));
    assert.equal(cellDepth(all), m + 1, `M=${m} all concat`);
  }
});

test('widest cells: every input from 0/1 gives width Mc and depth 2', () => {
  for (let m = 1; m <= 6; m++) {
    const nodes = Array.from({ length: m }, (_, i) => [i % 2, 1] as [number, number]);
    const cell = cellOf(nodes, Array.from({ length: m }, (_, i) => i + 2));
    assert.equal(cellWidth(cell), m);
    assert.equal(cellDepth(cell), 2);
    assert.equal(longestPath(cell).length, 2);
  }
});

test('a node half fed by the cell inputs counts for half a c', () => {
  // 2 ← (0, 0): 1;  3 ← (1, 2): ½;  4 ← (3, 2): 0.
  const cell = cellOf([[0, 0], [1, 2], [3, 2]], [2, 3, 4]);
  assert.equal(cellWidth(cell), 1.5);
  assert.equal(cellDepth(cell), 4); // 0 → 2 → 3 → 4 → output
});

test('dead nodes count for width but are on no path to the output', () => {
  // 2 ← (0, 1), 3 ← (2, 2) are dead (nothing in concat reads them); 4 ← (0, 1) is the only concat node.
  const cell = cellOf([[0, 1], [2, 2], [0, 1]], [4]);
  assert.deepEqual(cellMetrics(cell), { width: 2, depth: 2, deadNodes: [2, 3] });
  assert.deepEqual(longestPath(cell), [0, 4]);
  // Putting node 3 in the concat brings its chain back: 0 → 2 → 3 → output.
  const revived = cellOf([[0, 1], [2, 2], [0, 1]], [3, 4]);
  assert.deepEqual(cellMetrics(revived), { width: 2, depth: 3, deadNodes: [] });
});

test('a concat node fed only by another concat node extends the path', () => {
  const cell = cellOf([[0, 1], [2, 2]], [2, 3]);
  assert.equal(cellDepth(cell), 3);
  assert.equal(cellWidth(cell), 1);
  assert.deepEqual(longestPath(cell), [0, 2, 3]);
});

test('empty and malformed cells do not throw', () => {
  const empty: Cell = { edges: [], concat: [] };
  assert.deepEqual(cellMetrics(empty), { width: 0, depth: 0, deadNodes: [] });
  assert.deepEqual(longestPath(empty), []);
  // Node 2 reads node 3 (forward) and itself; node 3 reads 2 and 1. Unusable inputs are ignored:
  // node 2 has none, so it is unreachable; node 3 is reached from 1 only.
  const forward = cellOf([[3, 2], [2, 1]], [3]);
  assert.equal(cellDepth(forward), 2);
  assert.deepEqual(longestPath(forward), [1, 3]);
  // Concat naming a node that does not exist.
  const missing = cellOf([[0, 1]], [2, 9]);
  assert.equal(cellDepth(missing), 2);
});

test('formatWidth writes units of c', () => {
  assert.equal(formatWidth(3.5), '3.5c');
  assert.equal(formatWidth(5), '5c');
  assert.equal(formatWidth(0), '0c');
  assert.equal(formatWidth(2.25), '2.25c');
});

test('formatCount keeps three significant digits with a unit suffix', () => {
  assert.equal(formatCount(3349342), '3.35M');
  assert.equal(formatCount(246106), '246K');
  assert.equal(formatCount(528359040), '528M');
  assert.equal(formatCount(12345), '12.3K');
  assert.equal(formatCount(3000000), '3M');
  assert.equal(formatCount(999), '999');
  assert.equal(formatCount(0), '0');
  assert.equal(formatCount(999999), '1M');
  assert.equal(formatCount(1.5e9), '1.5G');
});
