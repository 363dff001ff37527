import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtin } from '../../src/genotype/library.js';
import type { Cell } from '../../src/genotype/model.js';
import { cellDiffCount, diffCells, diffGenotypes, genotypeDiffCount } from '../../src/render/diff.js';

const darts = builtin('DARTS_V2')!.genotype;
const e = (op: string, input: number) => ({ op, input });

test('a genotype does not differ from itself', () => {
  assert.equal(genotypeDiffCount(diffGenotypes(darts, darts)), 0);
});

test('swapping the two entries of a node is not a difference (they are summed)', () => {
  const n = darts.normal.edges;
  const swapped: Cell = { edges: [n[1]!, n[0]!, ...n.slice(2)], concat: darts.normal.concat };
  assert.equal(cellDiffCount(diffCells(swapped, darts.normal)), 0);
});

test('op and input changes are reported against the matched entry', () => {
  const a: Cell = { edges: [e('sep_conv_3x3', 0), e('sep_conv_3x3', 1), e('skip_connect', 0), e('max_pool_3x3', 2)], concat: [2, 3] };
  const b: Cell = { edges: [e('sep_conv_3x3', 1), e('sep_conv_5x5', 0), e('skip_connect', 1), e('max_pool_3x3', 2)], concat: [2, 3] };
  const d = diffCells(a, b);
  // Node 2: a = {(sep3,0),(sep3,1)}, b = {(sep3,1),(sep5,0)}: best match pairs (sep3,1)↔(sep3,1), so only entry 0 differs (op).
  assert.deepEqual(d.entries.map((x) => [x.index, x.change, x.otherIndex]), [[0, 'op', 1], [2, 'input', 2]]);
});

test('extra nodes, missing nodes and concat changes are counted from each side', () => {
  const small: Cell = { edges: [e('sep_conv_3x3', 0), e('sep_conv_3x3', 1)], concat: [2] };
  const big: Cell = { edges: [e('sep_conv_3x3', 0), e('sep_conv_3x3', 1), e('skip_connect', 2), e('skip_connect', 0)], concat: [2, 3] };
  const fromBig = diffCells(big, small);
  assert.deepEqual(fromBig.entries.map((x) => [x.index, x.change]), [[2, 'extra'], [3, 'extra']]);
  assert.deepEqual(fromBig.concatAdded, [3]);
  assert.deepEqual(fromBig.concatRemoved, []);
  assert.equal(fromBig.missingNodes, 0);
  const fromSmall = diffCells(small, big);
  assert.deepEqual(fromSmall.entries, []);
  assert.deepEqual(fromSmall.concatRemoved, [3]);
  assert.equal(fromSmall.missingNodes, 1);
  assert.equal(cellDiffCount(fromSmall), 2);
});
