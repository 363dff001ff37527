import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIBRARY, builtin } from '../../src/genotype/library.js';
import { KNOWN_OPS } from '../../src/genotype/ops.js';

test('every built-in uses known operations, valid inputs and valid concats', () => {
  for (const entry of LIBRARY) {
    for (const kind of ['normal', 'reduce'] as const) {
      const cell = entry.genotype[kind];
      assert.equal(cell.edges.length % 2, 0, `${entry.name} ${kind}`);
      cell.edges.forEach((e, i) => {
        assert.ok(KNOWN_OPS.has(e.op), `${entry.name} ${kind} op ${e.op}`);
        assert.ok(e.input >= 0 && e.input < 2 + Math.floor(i / 2), `${entry.name} ${kind} entry ${i}`);
      });
      const m = cell.edges.length / 2;
      for (const n of cell.concat) assert.ok(n >= 2 && n < 2 + m, `${entry.name} ${kind} concat ${n}`);
    }
  }
});

test('built-ins are found by name and alias, case-insensitively', () => {
  assert.equal(builtin('darts')?.name, 'DARTS_V2');
  assert.equal(builtin('DARTS_V2')?.name, 'DARTS_V2');
  assert.equal(builtin('snas')?.name, 'SNAS_MILD');
  assert.equal(builtin('nope'), undefined);
});
