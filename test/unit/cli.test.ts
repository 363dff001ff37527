import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli-helpers.js';
import { parse, genotypeOf } from '../../src/genotype/parser.js';
import { builtin } from '../../src/genotype/library.js';
import { printGenotype } from '../../src/genotype/printer.js';
import { cellWidth, cellDepth } from '../../src/genotype/metrics.js';
import { sameGenotype } from '../../src/genotype/model.js';

function workspace(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-cli-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const darts = builtin('DARTS_V2')!.genotype;
const good = `${printGenotype('MINE', darts)}\nALIAS = MINE\n`;
// Line 1 holds the unknown op, line 2 the out-of-range input.
const broken = `X = Genotype(normal=[('sep_conv_3x4', 0), ('skip_connect', 1)], normal_concat=[2],\n  reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 5)], reduce_concat=[2])\n`;

test('check prints file:line:col: severity code message and exits 1 on errors', async () => {
  const dir = workspace({ 'good.genotype': good, 'bad.genotype': broken });
  const ok = await cli(['check', 'good.genotype'], dir);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.equal(ok.out, '');
  const bad = await cli(['check', 'bad.genotype'], dir);
  assert.equal(bad.code, 1);
  const lines = bad.out.trim().split('\n');
  const unknown = lines.find((l) => l.includes('unknown-op'));
  assert.ok(unknown, bad.out);
  // the span of an operation is its name inside the quotes
  const col = broken.indexOf('sep_conv_3x4') + 1;
  assert.match(unknown!, new RegExp(`^bad\\.genotype:1:${col}: error unknown-op .*sep_conv_3x3`));
  const range = lines.find((l) => l.includes('input-out-of-range'));
  assert.ok(range, bad.out);
  assert.match(range!, /^bad\.genotype:2:\d+: error input-out-of-range /);
});

test('check reports a missing file and keeps checking the others', async () => {
  const dir = workspace({ 'good.genotype': good });
  const r = await cli(['check', 'nope.genotype', 'good.genotype'], dir);
  assert.equal(r.code, 1);
  assert.match(r.err, /nope\.genotype: no such file/);
});

test('metrics --json gives the documented record with the published numbers', async () => {
  const dir = workspace({ 'g.genotype': good });
  const r = await cli(['metrics', 'g.genotype#MINE', '--json'], dir);
  assert.equal(r.code, 0, r.err);
  const [rec] = JSON.parse(r.out);
  assert.deepEqual(Object.keys(rec).sort(), ['macs', 'name', 'normal', 'params', 'paramsWithAuxiliary', 'reduce']);
  assert.equal(rec.name, 'MINE');
  assert.deepEqual(rec.normal, { width: 3.5, depth: 3, deadNodes: [] });
  assert.equal(rec.params, 3349342);
  assert.ok(rec.paramsWithAuxiliary > rec.params);
  const small = JSON.parse((await cli(['metrics', 'DARTS_V2', '--channels', '16', '--layers', '8', '--json'], dir)).out);
  assert.equal(small[0].params, 246106);
  // A bare file names every genotype in it, aliases included.
  const both = JSON.parse((await cli(['metrics', 'g.genotype', '--json'], dir)).out);
  assert.deepEqual(both.map((x: { name: string }) => x.name), ['MINE', 'ALIAS']);
});

test('variants: --seed 3 alone is the authors\' third variant; --count gives consecutive seeds', async () => {
  const dir = workspace({});
  const r = await cli(['variants', 'DARTS_V2', '--kind', 'connections', '--seed', '1', '--count', '3', '--json'], dir);
  assert.equal(r.code, 0, r.err);
  const recs = JSON.parse(r.out);
  assert.deepEqual(recs.map((x: { seed: number }) => x.seed), [1, 2, 3]);
  // the oracle of genotypes.md for seed 1
  assert.deepEqual(recs[0].normal.map((e: [string, number]) => e[1]), [1, 0, 1, 0, 1, 3, 4, 2]);
  assert.deepEqual(recs[0].reduce.map((e: [string, number]) => e[1]), [1, 0, 1, 0, 0, 1, 1, 4]);
  const third = JSON.parse((await cli(['variants', 'DARTS_V2', '--kind', 'connections', '--seed', '3', '--json'], dir)).out);
  assert.deepEqual(third[0], recs[2]);
});

test('variants text output parses back to the same genotypes, with width/depth comments', async () => {
  const dir = workspace({});
  const r = await cli(['variants', 'DARTS_V2', '--kind', 'connections', '--seed', '5', '--count', '4', '--normal-width', '2.5'], dir);
  assert.equal(r.code, 0, r.err);
  const file = parse(r.out);
  assert.equal(file.diagnostics.length, 0);
  const defs = file.statements.filter((s) => s.kind === 'genotype');
  assert.equal(defs.length, 4);
  for (const def of defs) {
    const g = genotypeOf(def.call)!;
    assert.equal(cellWidth(g.normal), 2.5);
    assert.match(r.out, new RegExp(`seed \\d+: normal 2\\.5c depth ${cellDepth(g.normal)}`));
  }
  const json = JSON.parse((await cli(['variants', 'DARTS_V2', '--kind', 'connections', '--seed', '5', '--count', '4', '--normal-width', '2.5', '--json'], dir)).out);
  defs.forEach((def, i) => {
    const g = genotypeOf(def.call)!;
    assert.ok(sameGenotype(g, {
      normal: { edges: json[i].normal.map(([op, input]: [string, number]) => ({ op, input })), concat: json[i].normalConcat },
      reduce: { edges: json[i].reduce.map(([op, input]: [string, number]) => ({ op, input })), concat: json[i].reduceConcat },
    }));
  });
});

test('variants fails clearly when no variant can satisfy the constraint', async () => {
  const r = await cli(['variants', 'DARTS_V2', '--kind', 'connections', '--normal-width', '7'], workspace({}));
  assert.equal(r.code, 1);
  assert.match(r.err, /width/);
});

test('unknown flags, bad values and unknown names get one-line errors and a non-zero exit', async () => {
  const dir = workspace({});
  for (const argv of [
    ['metrics', 'DARTS_V2', '--chanels', '16'],
    ['metrics', 'DARTS_V2', '--channels', 'many'],
    ['variants', 'DARTS_V2', '--kind', 'sideways'],
    ['variants', 'DARTS_V2', '--kind', 'connections', '--seed', '-1'],
    ['frobnicate'],
  ]) {
    const r = await cli(argv, dir);
    assert.notEqual(r.code, 0, argv.join(' '));
    assert.ok(r.err.trim().length > 0, argv.join(' '));
    assert.ok(r.err.trim().split('\n').length <= 2, r.err);
  }
  const missing = await cli(['metrics', 'DARTS_V3'], dir);
  assert.notEqual(missing.code, 0);
});

test('library lists every built-in; --print output parses to the same genotypes', async () => {
  const dir = workspace({});
  const r = await cli(['library', '--print'], dir);
  assert.equal(r.code, 0);
  const file = parse(r.out);
  const defs = file.statements.filter((s) => s.kind === 'genotype');
  const darts2 = defs.find((d) => d.name.text === 'DARTS_V2')!;
  assert.ok(sameGenotype(genotypeOf(darts2.call)!, darts));
  const out = join(dir, 'lib.genotype');
  writeFileSync(out, r.out);
  assert.equal((await cli(['check', 'lib.genotype'], dir)).code, 0, readFileSync(out, 'utf8'));
});
