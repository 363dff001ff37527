import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIBRARY, builtin } from '../../src/genotype/library.js';
import { cellDepth, cellWidth } from '../../src/genotype/metrics.js';
import type { Cell, Genotype } from '../../src/genotype/model.js';
import { DARTS_PRIMITIVES } from '../../src/genotype/ops.js';
import {
  SamplingError,
  achievableConnectionShapes,
  adapted,
  findVariants,
  randomConnections,
  randomOperations,
  sampleVariant,
} from '../../src/genotype/samplers.js';

interface SamplerCase {
  genotype: string;
  seed: number;
  connections: { normal: number[]; reduce: number[] };
  operations: { normal: string[]; reduce: string[] };
}
// The authors' samplers re-run with real numpy (test/fixtures/sampler-numpy-oracle.py).
const oracle = JSON.parse(
  readFileSync(join(__dirname, '..', 'fixtures', 'sampler-numpy-oracle.json'), 'utf8'),
) as { samplers: SamplerCase[] };

const DARTS_V2 = builtin('DARTS_V2')!.genotype;
const NASNET = builtin('NASNet')!.genotype;
const fixtureGenotypes: Record<string, Genotype> = {
  DARTS_V2,
  NASNet: NASNET,
  'NASNet normal + 6-entry reduce': { normal: NASNET.normal, reduce: { ...DARTS_V2.reduce, edges: DARTS_V2.reduce.edges.slice(0, 6) } },
};

const inputs = (cell: Cell) => cell.edges.map((e) => e.input);
const ops = (cell: Cell) => cell.edges.map((e) => e.op);

test('random connections, seed 1 on DARTS_V2: the published oracle', () => {
  const v = randomConnections(DARTS_V2, 1);
  assert.deepEqual(inputs(v.normal), [1, 0, 1, 0, 1, 3, 4, 2]);
  assert.deepEqual(inputs(v.reduce), [1, 0, 1, 0, 0, 1, 1, 4]);
  assert.deepEqual(ops(v.normal), ops(DARTS_V2.normal));
  assert.deepEqual(ops(v.reduce), ops(DARTS_V2.reduce));
  assert.deepEqual(v.normal.concat, [2, 3, 4, 5]);
  assert.deepEqual(v.reduce.concat, [2, 3, 4, 5]);
});

test('random operations, seed 1 on DARTS_V2: the published oracle', () => {
  const v = randomOperations(DARTS_V2, 1);
  assert.deepEqual(ops(v.normal), ['dil_conv_3x3', 'sep_conv_3x3', 'sep_conv_5x5', 'max_pool_3x3', 'avg_pool_3x3', 'sep_conv_3x3', 'dil_conv_3x3', 'max_pool_3x3']);
  assert.deepEqual(ops(v.reduce), ['max_pool_3x3', 'avg_pool_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'sep_conv_5x5', 'dil_conv_5x5', 'avg_pool_3x3', 'skip_connect']);
  assert.deepEqual(inputs(v.normal), inputs(DARTS_V2.normal));
  assert.deepEqual(inputs(v.reduce), inputs(DARTS_V2.reduce));
});

test('both samplers match the authors\' sampler run with numpy, seeds 1..10 on DARTS_V2 and NASNet', () => {
  assert.equal(oracle.samplers.filter((c) => c.genotype === 'NASNet').length, 10);
  for (const c of oracle.samplers) {
    const genotype = fixtureGenotypes[c.genotype]!;
    const where = `${c.genotype} seed ${c.seed}`;
    const conn = randomConnections(genotype, c.seed);
    assert.deepEqual(inputs(conn.normal), c.connections.normal, `${where} normal inputs`);
    assert.deepEqual(inputs(conn.reduce), c.connections.reduce, `${where} reduce inputs`);
    assert.deepEqual(ops(conn.normal), ops(genotype.normal), where);
    const opv = randomOperations(genotype, c.seed);
    assert.deepEqual(ops(opv.normal), c.operations.normal, `${where} normal ops`);
    assert.deepEqual(ops(opv.reduce), c.operations.reduce, `${where} reduce ops`);
    assert.deepEqual(inputs(opv.reduce), inputs(genotype.reduce), where);
  }
});

test('random variants of every built-in are well formed and keep concat lists and their style', () => {
  for (const { name, genotype } of LIBRARY) {
    for (let seed = 0; seed < 40; seed++) {
      const conn = randomConnections(genotype, seed);
      const opv = randomOperations(genotype, seed);
      for (const kind of ['normal', 'reduce'] as const) {
        for (const v of [conn, opv]) {
          assert.deepEqual(v[kind].concat, genotype[kind].concat, `${name} ${kind}`);
          assert.equal(v[kind].concatStyle, genotype[kind].concatStyle, `${name} ${kind}`);
        }
        conn[kind].edges.forEach((e, i) => assert.ok(e.input >= 0 && e.input < 2 + Math.floor(i / 2), `${name} seed ${seed} ${kind} ${i}`));
        for (const op of ops(opv[kind])) assert.ok(DARTS_PRIMITIVES.includes(op) && op !== 'none', op);
      }
    }
  }
});

test('random connections reach every earlier node over the seeds, not only the inputs', () => {
  const seen = new Set<number>();
  for (let seed = 1; seed <= 200; seed++) seen.add(randomConnections(DARTS_V2, seed).normal.edges[7]!.input);
  assert.deepEqual([...seen].sort(), [0, 1, 2, 3, 4]);
});

test('adapted cells have width M·c and depth 2 on every built-in, keeping ops and concat', () => {
  for (const { name, genotype } of LIBRARY) {
    const v = adapted(genotype);
    for (const kind of ['normal', 'reduce'] as const) {
      const m = genotype[kind].edges.length / 2;
      assert.equal(cellWidth(v[kind]), m, `${name} ${kind} width`);
      assert.equal(cellDepth(v[kind]), 2, `${name} ${kind} depth`);
      assert.deepEqual(ops(v[kind]), ops(genotype[kind]), `${name} ${kind}`);
      assert.deepEqual(v[kind].concat, genotype[kind].concat, `${name} ${kind}`);
      genotype[kind].edges.forEach((e, i) => {
        if (e.input <= 1) assert.equal(v[kind].edges[i]!.input, e.input, `${name} ${kind} kept input ${i}`);
      });
    }
  }
});

test('adapted re-points an input to the input node its partner does not use', () => {
  const cell: Cell = {
    edges: [
      { op: 'sep_conv_3x3', input: 1 }, { op: 'sep_conv_3x3', input: 1 },
      { op: 'skip_connect', input: 0 }, { op: 'skip_connect', input: 2 },
      { op: 'max_pool_3x3', input: 3 }, { op: 'max_pool_3x3', input: 2 },
      { op: 'avg_pool_3x3', input: 4 }, { op: 'avg_pool_3x3', input: 1 },
    ],
    concat: [2, 3, 4, 5],
  };
  assert.deepEqual(inputs(adapted({ normal: cell, reduce: cell }).normal), [1, 1, 0, 1, 0, 1, 0, 1]);
});

test('sampleVariant picks the sampler by kind; adapt ignores the seed', () => {
  assert.deepEqual(sampleVariant(NASNET, 'connections', 3), randomConnections(NASNET, 3));
  assert.deepEqual(sampleVariant(NASNET, 'ops', 3), randomOperations(NASNET, 3));
  assert.deepEqual(sampleVariant(NASNET, 'adapt', 3), sampleVariant(NASNET, 'adapt', 99));
  assert.notDeepEqual(sampleVariant(NASNET, 'connections', 3), sampleVariant(NASNET, 'connections', 4));
});

test('findVariants returns the first matching seeds, ascending, skipping none', () => {
  const found = findVariants(DARTS_V2, 'connections', { normalWidth: 3, normalDepth: 3 }, { count: 4, start: 5 });
  assert.equal(found.length, 4);
  for (const { seed, genotype } of found) {
    assert.deepEqual(genotype, randomConnections(DARTS_V2, seed));
    assert.equal(cellWidth(genotype.normal), 3);
    assert.equal(cellDepth(genotype.normal), 3);
  }
  const seeds = found.map((v) => v.seed);
  assert.ok(seeds[0]! >= 5);
  for (let seed = 5; seed <= seeds.at(-1)!; seed++) {
    const n = randomConnections(DARTS_V2, seed).normal;
    assert.equal(seeds.includes(seed), cellWidth(n) === 3 && cellDepth(n) === 3, `seed ${seed}`);
  }
});

test('findVariants without a constraint returns consecutive seeds from 1; adapt returns one variant', () => {
  assert.deepEqual(findVariants(NASNET, 'ops', {}, { count: 3 }).map((v) => v.seed), [1, 2, 3]);
  const adapt = findVariants(DARTS_V2, 'adapt', { normalWidth: 4, normalDepth: 2 }, { count: 3 });
  assert.equal(adapt.length, 1);
  assert.deepEqual(adapt[0]!.genotype, adapted(DARTS_V2));
});

test('findVariants refuses impossible constraints at once, saying what is possible', () => {
  assert.throws(
    () => findVariants(DARTS_V2, 'connections', { normalWidth: 5 }, { count: 1 }),
    (e: unknown) => e instanceof SamplingError && /width 5c/.test(e.message) && /1c–4c/.test(e.message),
  );
  assert.throws(
    () => findVariants(DARTS_V2, 'connections', { normalWidth: 4, normalDepth: 3 }, { count: 1 }),
    (e: unknown) => e instanceof SamplingError && /with width 4c the possible depths are 2/.test(e.message),
  );
  assert.throws(
    () => findVariants(DARTS_V2, 'connections', { normalDepth: 6 }, { count: 1 }),
    (e: unknown) => e instanceof SamplingError && /possible depths are 2–5/.test(e.message),
  );
  // Random operations keep DARTS_V2's connections: width 3.5c, depth 3 only.
  assert.throws(
    () => findVariants(DARTS_V2, 'ops', { normalWidth: 2 }, { count: 1 }),
    (e: unknown) => e instanceof SamplingError && /3\.5c, depth 3/.test(e.message),
  );
  assert.throws(() => findVariants(DARTS_V2, 'adapt', { normalDepth: 3 }, { count: 1 }), SamplingError);
  assert.throws(() => findVariants(DARTS_V2, 'connections', { normalWidth: -1 }, { count: 1 }), SamplingError);
});

test('findVariants stops after maxSeeds with a SamplingError', () => {
  // Depth 5 on DARTS_V2 needs the chain 2→3→4→5, possible but rare.
  assert.throws(
    () => findVariants(DARTS_V2, 'connections', { normalDepth: 5 }, { count: 50, maxSeeds: 30 }),
    (e: unknown) => e instanceof SamplingError && /seeds 1–30/.test(e.message),
  );
});

/** Every assignment of inputs to a cell's entries (entry i may read 0 … its node − 1). */
function allPatterns(cell: Cell): number[][] {
  let patterns: number[][] = [[]];
  cell.edges.forEach((_, i) => {
    const next: number[][] = [];
    for (const p of patterns) for (let input = 0; input < 2 + Math.floor(i / 2); input++) next.push([...p, input]);
    patterns = next;
  });
  return patterns;
}

test('the feasibility enumeration finds exactly the shapes of all connection patterns', () => {
  const cells: Cell[] = [DARTS_V2.normal, { ...DARTS_V2.normal, concat: [3, 5] }, { ...DARTS_V2.normal, concat: [2] }];
  for (const cell of cells) {
    const brute = new Set<string>();
    for (const p of allPatterns(cell)) {
      const variant: Cell = { ...cell, edges: cell.edges.map((e, i) => ({ op: e.op, input: p[i]! })) };
      brute.add(`${cellWidth(variant)}/${cellDepth(variant)}`);
    }
    const shapes = achievableConnectionShapes(cell)!.map((s) => `${s.width}/${s.depth}`);
    assert.deepEqual(new Set(shapes), brute, `concat ${cell.concat}`);
    assert.equal(shapes.length, brute.size);
  }
});
