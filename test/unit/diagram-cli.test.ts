import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli-helpers.js';
import { LIBRARY } from '../../src/genotype/library.js';

function workspace(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-diagram-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

/** `from>to:op` for entry edges and `from>out` for concat edges of one cell group, sorted. */
function edgesOf(svg: string, cell: 'normal' | 'reduce'): string[] {
  const start = svg.indexOf(`data-cell="${cell}"`);
  assert.ok(start >= 0, `no ${cell} cell`);
  const other = svg.indexOf('data-cell="', start + 10);
  const part = svg.slice(start, other < 0 ? undefined : other);
  const edges: string[] = [];
  for (const m of part.matchAll(/<g [^>]*data-from="([^"]+)" data-to="([^"]+)"([^>]*)>/g)) {
    const op = /data-op="([^"]+)"/.exec(m[3]!);
    edges.push(op ? `${m[1]}>${m[2]}:${op[1]}` : `${m[1]}>${m[2]}`);
  }
  return edges.sort();
}

// Node 3 feeds nothing and is not in the normal concat: a dead node. The reduce concat leaves out 2 (a loose end feeding 3).
const VARIANT = `DEADEND = Genotype(
    normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('dil_conv_3x3', 1), ('sep_conv_5x5', 2), ('max_pool_3x3', 0)],
    normal_concat=[2, 4],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('avg_pool_3x3', 1)],
    reduce_concat=[3],
)
`;

test('diagram FILE#NAME --out writes the drawing of that genotype', async () => {
  const dir = workspace({ 'mine.genotype': VARIANT });
  const r = await cli(['diagram', 'mine.genotype#DEADEND', '--out', 'out/cell.svg'], dir);
  assert.equal(r.code, 0, r.err);
  const svg = readFileSync(join(dir, 'out', 'cell.svg'), 'utf8');
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.deepEqual(edgesOf(svg, 'normal'), [
    '0>2:sep_conv_3x3',
    '0>3:skip_connect',
    '0>4:max_pool_3x3',
    '1>2:sep_conv_3x3',
    '1>3:dil_conv_3x3',
    '2>4:sep_conv_5x5',
    '2>out',
    '4>out',
  ]);
  assert.deepEqual(edgesOf(svg, 'reduce'), ['0>2:max_pool_3x3', '1>2:max_pool_3x3', '1>3:avg_pool_3x3', '2>3:skip_connect', '3>out']);
  assert.match(svg, /data-node="3" data-dead="true"/);
  assert.match(svg, /dead node 3/);
  assert.match(svg, /<title>DEADEND<\/title>/);
});

test('diagram NAME without --out prints a built-in to stdout; --compare marks the differences', async () => {
  const dir = workspace({ 'mine.genotype': VARIANT });
  const plain = await cli(['diagram', 'darts'], dir);
  assert.equal(plain.code, 0, plain.err);
  assert.match(plain.out, /<title>DARTS_V2<\/title>/);
  assert.doesNotMatch(plain.out, /data-diff=/);

  const V1 = `V = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)], normal_concat=[2], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])\nW = Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=[2], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])\n`;
  writeFileSync(join(dir, 'two.genotype'), V1);
  const compared = await cli(['diagram', 'two.genotype#W', '--compare', 'two.genotype#V'], dir);
  assert.equal(compared.code, 0, compared.err);
  const marked = [...compared.out.matchAll(/data-entry="(\d+)"[^>]*data-diff="([^"]+)"/g)].map((m) => `${m[1]}:${m[2]}`);
  assert.deepEqual(marked, ['1:op']);
  assert.match(compared.out, /differs from V/);
});

test('diagram reports unknown genotypes and bad usage', async () => {
  const dir = workspace({ 'mine.genotype': VARIANT });
  const missing = await cli(['diagram', 'mine.genotype#NOPE', '--out', 'x.svg'], dir);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /no genotype named 'NOPE'/);
  assert.equal(existsSync(join(dir, 'x.svg')), false);
  const noArg = await cli(['diagram'], dir);
  assert.equal(noArg.code, 2);
  const badFlag = await cli(['diagram', 'darts', '--colour', 'red'], dir);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.err, /unknown flag --colour/);
  const noOut = await cli(['diagram', '--all-builtins'], dir);
  assert.equal(noOut.code, 2);
  assert.match(noOut.err, /needs --out DIR/);
});

test('diagram --all-builtins writes one SVG per built-in and a gallery linking every one', async () => {
  const dir = workspace();
  const r = await cli(['diagram', '--all-builtins', '--out', 'gallery'], dir);
  assert.equal(r.code, 0, r.err);
  const files = readdirSync(join(dir, 'gallery')).sort();
  assert.deepEqual(files, [...LIBRARY.map((e) => `${e.name}.svg`), 'index.html'].sort());
  const html = readFileSync(join(dir, 'gallery', 'index.html'), 'utf8');
  for (const entry of LIBRARY) {
    assert.ok(html.includes(`<img src="${entry.name}.svg"`), entry.name);
    const svg = readFileSync(join(dir, 'gallery', `${entry.name}.svg`), 'utf8');
    // Every entry of both cells is drawn.
    for (const kind of ['normal', 'reduce'] as const) {
      const drawn = edgesOf(svg, kind).filter((e) => e.includes(':'));
      assert.equal(drawn.length, entry.genotype[kind].edges.length, `${entry.name} ${kind}`);
    }
  }
  // The page loads nothing from elsewhere.
  assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org)/);
  assert.doesNotMatch(html, /<script/);
});
