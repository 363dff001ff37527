/**
 * The authors' hand-made genotypes in the built-in library (issue #17, item 3):
 * every one parses, matches the edges and concats written in its source
 * (test/fixtures/authors-genotypes.genotype holds them as the repositories
 * write them, each under its source line), and the provenance we state is
 * true: an adapted cell feeds every node from nodes 0/1 only (width Mc, depth
 * 2), and the loss-landscape fork's fixed DARTS_CONNk / DARTS_OPSk are not
 * seed k of the authors' sampler.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze } from '../../src/genotype/document.js';
import { LIBRARY, authorsAdapted, builtin } from '../../src/genotype/library.js';
import { cellDepth, cellWidth } from '../../src/genotype/metrics.js';
import type { Genotype } from '../../src/genotype/model.js';
import { randomConnections, randomOperations } from '../../src/genotype/samplers.js';

const fixtureText = readFileSync(join(__dirname, '..', 'fixtures', 'authors-genotypes.genotype'), 'utf8');
const fixture = analyze(fixtureText);
const source = (name: string): Genotype => {
  const g = fixture.genotypes.find((x) => x.name === name)?.genotype;
  assert.ok(g, `${name} is in the fixture`);
  return g;
};
const plain = (g: Genotype) => ({
  normal: g.normal.edges.map((e) => [e.op, e.input]),
  normalConcat: g.normal.concat,
  reduce: g.reduce.edges.map((e) => [e.op, e.input]),
  reduceConcat: g.reduce.concat,
});

const ADAPTED = { NASNet_ADAPT: 'NASNet', AmoebaNet_ADAPT: 'AmoebaNet', SNAS_ADAPT: 'SNAS_MILD', ENAS_ADAPT: 'ENAS' } as const;
const FIXED = ['DARTS_CONN1', 'DARTS_CONN2', 'DARTS_CONN3', 'DARTS_CONN4', 'DARTS_OPS1', 'DARTS_OPS2', 'DARTS_OPS3', 'DARTS_OPS4', 'DARTS_OPS5'];

test('the fixture parses without errors and names its source above every genotype', () => {
  assert.deepEqual(fixture.diagnostics.filter((d) => d.severity === 'error'), []);
  assert.equal(fixture.genotypes.length, 4 + 5 + FIXED.length);
  const lines = fixtureText.split('\n');
  for (const g of fixture.genotypes) {
    const at = lines.findIndex((l) => l.startsWith(`${g.name} = Genotype(`));
    assert.match(lines[at - 1]!, /^# source: shuyao95\/(Understanding-NAS genotypes\.py|loss-landscape cifar10\/models\/darts\.py) @ [0-9a-f]{7}$/, g.name);
  }
});

test('every shipped authors\' genotype equals its source, edge for edge, and says where it comes from', () => {
  for (const name of [...Object.keys(ADAPTED), 'DARTS_IMP', ...FIXED]) {
    const entry = builtin(name);
    assert.ok(entry, `${name} is built in`);
    assert.deepEqual(plain(entry.genotype), plain(source(name)), name);
    assert.match(entry.source, /shuyao95\//, name);
  }
  // The fork's *_IMP are the same cells as Understanding-NAS's *_ADAPT: one entry, both names.
  for (const [adapt] of Object.entries(ADAPTED)) {
    const imp = adapt.replace('_ADAPT', '_IMP');
    assert.deepEqual(plain(source(imp)), plain(source(adapt)), imp);
    assert.equal(builtin(imp)?.name, adapt);
  }
});

test('an authors\' adapted cell keeps its architecture\'s operations and concats, and is the widest and shallowest (Mc, depth 2)', () => {
  for (const [adapt, of] of Object.entries(ADAPTED)) {
    const a = builtin(adapt)!.genotype;
    const o = builtin(of)!.genotype;
    for (const kind of ['normal', 'reduce'] as const) {
      assert.deepEqual(a[kind].edges.map((e) => e.op), o[kind].edges.map((e) => e.op), `${adapt} ${kind} ops`);
      assert.deepEqual(a[kind].concat, o[kind].concat, `${adapt} ${kind} concat`);
      assert.ok(a[kind].edges.every((e) => e.input <= 1), `${adapt} ${kind} inputs`);
    }
    assert.equal(cellWidth(a.normal), a.normal.edges.length / 2, adapt);
    assert.equal(cellDepth(a.normal), 2, adapt);
    // The 'adapted cell' action offers this one for its architecture.
    assert.equal(authorsAdapted(of)?.name, adapt);
  }
  // DARTS has no authors' adapted cell: DARTS_IMP changes the operations too.
  assert.equal(authorsAdapted('DARTS_V2'), undefined);
  const imp = builtin('DARTS_IMP')!.genotype;
  assert.ok(imp.normal.edges.every((e) => e.op === 'sep_conv_3x3' && e.input <= 1));
  assert.equal(cellWidth(imp.normal), 4);
});

test('the fork\'s fixed variants are not seeds of the authors\' sampler (what the library says of them is true)', () => {
  const darts = builtin('DARTS_V2')!.genotype;
  for (let k = 1; k <= 4; k++) {
    const fixed = builtin(`DARTS_CONN${k}`)!.genotype;
    // Same operations as DARTS_V2 (a connection variant)...
    assert.deepEqual(fixed.normal.edges.map((e) => e.op), darts.normal.edges.map((e) => e.op));
    // ...but none of the authors' seeds 1..10 draws it.
    for (let seed = 1; seed <= 10; seed++) assert.notDeepEqual(plain(randomConnections(darts, seed)), plain(fixed), `DARTS_CONN${k} vs seed ${seed}`);
  }
  for (let k = 1; k <= 5; k++) {
    const fixed = builtin(`DARTS_OPS${k}`)!.genotype;
    assert.deepEqual(fixed.normal.edges.map((e) => e.input), darts.normal.edges.map((e) => e.input));
    for (let seed = 1; seed <= 10; seed++) assert.notDeepEqual(plain(randomOperations(darts, seed)), plain(fixed), `DARTS_OPS${k} vs seed ${seed}`);
  }
  for (const name of FIXED) assert.match(builtin(name)!.note ?? '', /not seed \d+ of the authors' sampler/);
});

test('library names stay unique across names and aliases', () => {
  const seen = new Set<string>();
  for (const e of LIBRARY) for (const n of [e.name, ...(e.aliases ?? [])]) {
    assert.ok(!seen.has(n.toLowerCase()), n);
    seen.add(n.toLowerCase());
  }
});
