import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, genotypeOf } from '../../src/genotype/parser.js';
import { formatEdits, printAlias, printCell, printConcat, printGenotype } from '../../src/genotype/printer.js';
import type { GenotypeDef, GenotypeFile, Span } from '../../src/genotype/ast.js';
import { LIBRARY, builtin } from '../../src/genotype/library.js';
import { sameGenotype, type Cell, type Genotype } from '../../src/genotype/model.js';
import { mulberry32 as prng } from '../../src/shared/mulberry32.js';


function defs(file: GenotypeFile): GenotypeDef[] {
  return file.statements.filter((s): s is GenotypeDef => s.kind === 'genotype');
}

function only(text: string): { file: GenotypeFile; model: Genotype } {
  const file = parse(text);
  assert.deepEqual(file.diagnostics, [], text);
  assert.equal(file.statements.length, 1, text);
  const model = genotypeOf(defs(file)[0]!.call);
  assert.ok(model, text);
  return { file, model };
}

function applyEdits(text: string, edits: readonly { span: Span; newText: string }[]): string {
  let out = text;
  for (const edit of [...edits].sort((a, b) => b.span.start - a.span.start)) {
    out = out.slice(0, edit.span.start) + edit.newText + out.slice(edit.span.end);
  }
  return out;
}

function format(text: string): string {
  return applyEdits(text, formatEdits(parse(text)));
}

/** The model including the concat style, for exact comparisons. */
function exact(cell: Cell): unknown {
  return { edges: cell.edges.map((e) => [e.op, e.input]), concat: [...cell.concat], style: cell.concatStyle ?? 'list' };
}

test('the stable layout is the one of the specification', () => {
  // Written by hand from the specified layout, for DARTS_V2 with a range concat on reduce.
  const expected = [
    'DARTS_V2 = Genotype(',
    '    normal=[',
    "        ('sep_conv_3x3', 0), ('sep_conv_3x3', 1),",
    "        ('sep_conv_3x3', 0), ('sep_conv_3x3', 1),",
    "        ('sep_conv_3x3', 1), ('skip_connect', 0),",
    "        ('skip_connect', 0), ('dil_conv_3x3', 2),",
    '    ],',
    '    normal_concat=[2, 3, 4, 5],',
    '    reduce=[',
    "        ('max_pool_3x3', 0), ('max_pool_3x3', 1),",
    "        ('skip_connect', 2), ('max_pool_3x3', 1),",
    "        ('max_pool_3x3', 0), ('skip_connect', 2),",
    "        ('skip_connect', 2), ('max_pool_3x3', 1),",
    '    ],',
    '    reduce_concat=range(2, 6),',
    ')',
  ].join('\n');
  const v2 = builtin('DARTS_V2')!.genotype;
  const genotype: Genotype = { normal: { ...v2.normal, concatStyle: 'list' }, reduce: { ...v2.reduce, concatStyle: 'range' } };
  assert.equal(printGenotype('DARTS_V2', genotype), expected);
  assert.equal(printGenotype('DARTS_V2', genotype, { quote: '"' }), expected.replace(/'/g, '"'));
});

test('parse ∘ print is the identity on every built-in, concat style included', () => {
  for (const entry of LIBRARY) {
    for (const quote of ["'", '"'] as const) {
      const text = printGenotype(entry.name, entry.genotype, { quote });
      const { file, model } = only(text);
      assert.equal(defs(file)[0]!.name.text, entry.name);
      assert.ok(sameGenotype(model, entry.genotype), entry.name);
      assert.deepEqual(exact(model.normal), exact(entry.genotype.normal), entry.name);
      assert.deepEqual(exact(model.reduce), exact(entry.genotype.reduce), entry.name);
      // Every operation is written with the requested quote.
      for (const e of defs(file)[0]!.call.normal!.entries) assert.equal(e.op!.quote, quote);
    }
  }
});

const OPS = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5'];
const ODD_OPS = ["it's", 'say "hi"', 'back\\slash', 'tab\there', 'new\nline', 'ünï©ødé', '😀 op', '', '\u0001ctl', 'x\\\'y'];

function randomCell(rand: () => number): Cell {
  const nodes = Math.floor(rand() * 7); // 0..6 intermediate nodes
  const edges = [];
  for (let i = 0; i < 2 * nodes; i++) {
    const op = rand() < 0.15 ? ODD_OPS[Math.floor(rand() * ODD_OPS.length)]! : OPS[Math.floor(rand() * OPS.length)]!;
    edges.push({ op, input: Math.floor(rand() * (2 + Math.floor(i / 2))) });
  }
  let concat: number[];
  const shape = rand();
  if (shape < 0.5) concat = Array.from({ length: nodes }, (_, i) => i + 2);
  else concat = Array.from({ length: nodes }, (_, i) => i + 2).filter(() => rand() < 0.6);
  if (rand() < 0.05) concat = [7, 3, 3]; // not sorted: printing keeps it as written
  return { edges, concat, concatStyle: rand() < 0.5 ? 'range' : 'list' };
}

test('parse ∘ print is the identity on random genotypes, odd operation names included', () => {
  const rand = prng(20200426);
  for (let k = 0; k < 400; k++) {
    const genotype: Genotype = { normal: randomCell(rand), reduce: randomCell(rand) };
    const quote = rand() < 0.5 ? "'" : '"';
    const text = printGenotype(`G_${k}`, genotype, { quote });
    const { model } = only(text);
    assert.ok(sameGenotype(model, genotype), text);
    for (const kind of ['normal', 'reduce'] as const) {
      const written = genotype[kind];
      // range is kept when the concat is contiguous, a list otherwise.
      const contiguous = written.concat.length > 0 && written.concat.every((n, i) => n === written.concat[0]! + i);
      assert.equal(model[kind].concatStyle, written.concatStyle === 'range' && contiguous ? 'range' : 'list', text);
    }
    // Printing is stable: the model reprinted gives the same text.
    assert.equal(printGenotype(`G_${k}`, model, { quote }), text);
  }
});

test('printConcat: range only for a contiguous concat, a list otherwise', () => {
  assert.equal(printConcat([2, 3, 4, 5], 'range'), 'range(2, 6)');
  assert.equal(printConcat([4], 'range'), 'range(4, 5)');
  assert.equal(printConcat([2, 3, 4, 5], 'list'), '[2, 3, 4, 5]');
  assert.equal(printConcat([2, 4, 5], 'range'), '[2, 4, 5]');
  assert.equal(printConcat([3, 2], 'range'), '[3, 2]');
  assert.equal(printConcat([], 'range'), '[]');
});

test('printCell on one line or one node per line; printAlias', () => {
  const cell: Cell = { edges: [{ op: 'sep_conv_3x3', input: 0 }, { op: 'skip_connect', input: 1 }, { op: 'none', input: 2 }], concat: [2, 3] };
  assert.equal(printCell(cell), "[('sep_conv_3x3', 0), ('skip_connect', 1), ('none', 2)]");
  assert.equal(printCell(cell, { quote: '"' }), '[("sep_conv_3x3", 0), ("skip_connect", 1), ("none", 2)]');
  assert.equal(
    printCell(cell, { multiline: true, indent: '  ' }),
    "[\n      ('sep_conv_3x3', 0), ('skip_connect', 1),\n      ('none', 2),\n  ]",
  );
  assert.equal(printCell({ edges: [], concat: [] }, { multiline: true }), '[]');
  assert.equal(printAlias('DARTS', 'DARTS_V2'), 'DARTS = DARTS_V2');
  const parsed = parse(printAlias('DARTS', 'DARTS_V2'));
  assert.deepEqual(parsed.statements.map((s) => s.kind), ['alias']);
});

const MESSY = [
  '# Genotypes pasted from two repositories',
  'from collections import namedtuple',
  "Genotype = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')",
  '',
  "A = Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('dil_conv_3x3', 2), ('none', 0)], normal_concat=range(2, 4), reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])  # trailing comment",
  'B = Genotype([("sep_conv_5x5", 1), ("sep_conv_3x3", 0)], [2],',
  '             [("avg_pool_3x3", 0), ("skip_connect", 1)], [2])',
  'ALIAS   =   A',
  'C = Genotype(normal=[',
  "    ('sep_conv_3x3', 0), ('sep_conv_3x3', 1),  # a comment inside: left untouched",
  '], normal_concat=[2], reduce=[], reduce_concat=[])',
  "D = Genotype(normal=[('sep_conv_3x3', 0) ('x', 1)], normal_concat=[2], reduce=[], reduce_concat=[])",
  "E = Genotype(reduce_concat=[2], reduce=[('skip_connect', 0), ('skip_connect', 1)], normal_concat=[2], normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1)])",
  '',
].join('\n');

test('formatEdits reprints clean definitions, keeps comments, aliases and broken definitions', () => {
  const before = parse(MESSY);
  const formatted = format(MESSY);
  const after = parse(formatted);
  // The same statements, the same models, the same diagnostics (by code and message).
  assert.deepEqual(after.statements.map((s) => s.kind), before.statements.map((s) => s.kind));
  for (const name of ['A', 'B', 'E']) {
    const b = genotypeOf(defs(before).find((d) => d.name.text === name)!.call)!;
    const a = genotypeOf(defs(after).find((d) => d.name.text === name)!.call)!;
    assert.deepEqual(exact(a.normal), exact(b.normal), name);
    assert.deepEqual(exact(a.reduce), exact(b.reduce), name);
  }
  assert.deepEqual(after.diagnostics.map((d) => d.message), before.diagnostics.map((d) => d.message));
  assert.deepEqual(after.comments.map((c) => c.text), before.comments.map((c) => c.text));
  const lines = formatted.split('\n');
  // Clean definitions are now in the stable layout, each keeping its quote style.
  const printed = (name: string): string => {
    const def = defs(after).find((d) => d.name.text === name)!;
    return formatted.slice(def.span.start, def.span.end);
  };
  const modelOf = (name: string): Genotype => genotypeOf(defs(before).find((d) => d.name.text === name)!.call)!;
  assert.equal(printed('A'), printGenotype('A', modelOf('A')));
  assert.equal(printed('B'), printGenotype('B', modelOf('B'), { quote: '"' }));
  assert.equal(printed('E'), printGenotype('E', modelOf('E')));
  assert.ok(formatted.includes(') # trailing comment') || formatted.includes(')  # trailing comment'));
  // Untouched: the alias as written, the definition with a comment inside, the one with a syntax error.
  assert.ok(lines.includes('ALIAS   =   A'));
  for (const line of MESSY.split('\n').slice(8, 12)) assert.ok(lines.includes(line), line);
  assert.ok(lines.includes('# Genotypes pasted from two repositories'));
});

test('formatting is idempotent and leaves formatted text unchanged', () => {
  const once = format(MESSY);
  assert.notEqual(once, MESSY);
  assert.equal(format(once), once);
  assert.deepEqual(formatEdits(parse(once)), []);
  const rand = prng(7);
  for (let k = 0; k < 100; k++) {
    const g: Genotype = { normal: randomCell(rand), reduce: randomCell(rand) };
    const oneLine = `G = Genotype(normal=${printCell(g.normal)}, normal_concat=${printConcat(g.normal.concat, g.normal.concatStyle ?? 'list')}, reduce=${printCell(g.reduce)}, reduce_concat=${printConcat(g.reduce.concat, g.reduce.concatStyle ?? 'list')})\n`;
    const f1 = format(oneLine);
    assert.equal(format(f1), f1);
    assert.ok(sameGenotype(genotypeOf(defs(parse(f1))[0]!.call)!, g));
  }
});

test('a definition indented on its line keeps its indentation on every line', () => {
  const text = "  G = Genotype(normal=[('a', 0), ('b', 1)], normal_concat=[2], reduce=[], reduce_concat=[])\n";
  const formatted = format(text);
  const lines = formatted.split('\n').filter((l) => l.length > 0);
  assert.ok(lines.every((l) => l.startsWith('  ')), formatted);
  assert.equal(lines.at(-1), '  )');
  assert.equal(format(formatted), formatted);
});

test('a file starting with a byte-order mark is formatted and keeps its mark', () => {
  const text = "\ufeffG = Genotype(normal=[('a', 0), ('b', 1)], normal_concat=[2], reduce=[], reduce_concat=[])\n";
  const formatted = format(text);
  assert.ok(formatted.startsWith('\ufeffG = Genotype(\n'), formatted);
  assert.equal(format(formatted), formatted);
});
