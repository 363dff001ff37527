import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Diagnostic, Span } from '../../src/genotype/ast.js';
import { analyze, findGenotype } from '../../src/genotype/document.js';
import { builtin } from '../../src/genotype/library.js';
import type { Genotype } from '../../src/genotype/model.js';
import { mulberry32 as prng } from '../../src/shared/mulberry32.js';

const TEXT = `# two genotypes and aliases
TINY = Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1), ('dil_conv_3x3', 2), ('max_pool_3x3', 0)], normal_concat=[2, 3], reduce=[('max_pool_3x3', 0), ('avg_pool_3x3', 1)], reduce_concat=range(2, 3))
OTHER = Genotype(normal=[('sep_conv_5x5', 1), ('sep_conv_3x3', 0)], normal_concat=[2], reduce=[('skip_connect', 0), ('max_pool_3x3', 1)], reduce_concat=[2])
FIRST = SECOND
SECOND = TINY
MINE = DARTS
LOWER = pc_darts
`;

/** What TINY says, read off the text above by hand. */
const TINY: Genotype = {
  normal: {
    edges: [
      { op: 'sep_conv_3x3', input: 0 },
      { op: 'skip_connect', input: 1 },
      { op: 'dil_conv_3x3', input: 2 },
      { op: 'max_pool_3x3', input: 0 },
    ],
    concat: [2, 3],
  },
  reduce: {
    edges: [
      { op: 'max_pool_3x3', input: 0 },
      { op: 'avg_pool_3x3', input: 1 },
    ],
    concat: [2],
  },
};

/** Edges and concat only: how the concat was written (list or range) is the parser's business. */
function shape(g: Genotype | undefined) {
  return g && { normal: { edges: g.normal.edges, concat: g.normal.concat }, reduce: { edges: g.reduce.edges, concat: g.reduce.concat } };
}

test('genotypes and aliases come out in document order, resolved', () => {
  const doc = analyze(TEXT);
  assert.deepEqual(doc.diagnostics, []);
  assert.deepEqual(
    doc.genotypes.map((g) => [g.name, g.def.kind, g.aliasOf]),
    [
      ['TINY', 'genotype', undefined],
      ['OTHER', 'genotype', undefined],
      ['FIRST', 'alias', 'TINY'],
      ['SECOND', 'alias', 'TINY'],
      ['MINE', 'alias', 'DARTS_V2'],
      ['LOWER', 'alias', 'PC_DARTS'],
    ],
  );
  assert.deepEqual(shape(doc.byName.get('TINY')!.genotype), TINY);
  // An alias chain written before its target still ends at the genotype.
  assert.deepEqual(shape(doc.byName.get('FIRST')!.genotype), TINY);
  assert.equal(doc.byName.get('MINE')!.genotype, builtin('DARTS_V2')!.genotype);
  assert.equal(doc.byName.get('MINE')!.builtin?.name, 'DARTS_V2');
  assert.equal(doc.byName.get('LOWER')!.genotype, builtin('PC_DARTS')!.genotype);
});

test('a name the file defines wins over the built-in of the same name', () => {
  const text = `${TEXT}DARTS_V2 = OTHER\nUSES = DARTS_V2\n`;
  const doc = analyze(text);
  assert.deepEqual(doc.diagnostics, []);
  assert.equal(doc.byName.get('USES')!.aliasOf, 'OTHER');
  assert.equal(findGenotype(doc, 'DARTS_V2')!.aliasOf, 'OTHER');
  assert.equal(findGenotype(doc, 'DARTS_V2')!.builtin, undefined);
});

test('findGenotype: the file first, then the built-in library by name or alias', () => {
  const doc = analyze(TEXT);
  assert.equal(findGenotype(doc, 'OTHER'), doc.byName.get('OTHER'));
  const darts = findGenotype(doc, 'darts')!;
  assert.equal(darts.name, 'DARTS_V2');
  assert.equal(darts.genotype, builtin('DARTS_V2')!.genotype);
  assert.equal(darts.builtin, builtin('DARTS_V2'));
  assert.equal(findGenotype(doc, 'NOPE'), undefined);
  // File names are case-sensitive, as in Python.
  assert.equal(findGenotype(doc, 'tiny'), undefined);
});

test('broken definitions keep their place but have no genotype; so do aliases of them', () => {
  const text = `${TEXT.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 7)")}ALSO = TINY\nLOOP = LOOP\nGONE = NOWHERE\n`;
  const doc = analyze(text);
  assert.equal(doc.byName.get('TINY')!.genotype, undefined);
  assert.equal(doc.byName.get('ALSO')!.genotype, undefined);
  assert.equal(doc.byName.get('ALSO')!.aliasOf, 'TINY');
  assert.equal(doc.byName.get('LOOP')!.genotype, undefined);
  assert.equal(doc.byName.get('GONE')!.genotype, undefined);
  assert.ok(doc.byName.get('OTHER')!.genotype);
  assert.ok(doc.byName.get('MINE')!.genotype);
  assert.deepEqual(
    doc.diagnostics.map((d) => d.code),
    ['input-out-of-range', 'alias-cycle', 'unknown-alias'],
  );
});

test('warnings leave the genotype defined', () => {
  const doc = analyze(TEXT.replace('normal_concat=[2, 3]', 'normal_concat=[2]').replace("('sep_conv_5x5', 1)", "('none', 1)"));
  assert.deepEqual(
    doc.diagnostics.map((d) => [d.code, d.severity]),
    [
      ['dead-node', 'warning'],
      ['none-op', 'warning'],
    ],
  );
  assert.ok(doc.byName.get('TINY')!.genotype);
  assert.ok(doc.byName.get('OTHER')!.genotype);
});

test('a duplicate keeps its place in the list, byName keeps the first', () => {
  const doc = analyze(`${TEXT}TINY = OTHER\n`);
  assert.deepEqual(doc.genotypes.map((g) => g.name), ['TINY', 'OTHER', 'FIRST', 'SECOND', 'MINE', 'LOWER', 'TINY']);
  assert.equal(doc.byName.get('TINY')!.def.kind, 'genotype');
  assert.equal(doc.genotypes[6]!.genotype, undefined);
  assert.deepEqual(doc.diagnostics.map((d) => d.code), ['duplicate-name']);
});

test('syntax errors and semantic diagnostics come together, in document order', () => {
  const text = `${TEXT}BROKEN = Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect' 1)], normal_concat=[2], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])\nBAD = DARTSS\n`;
  const doc = analyze(text);
  assert.ok(doc.file.diagnostics.length > 0);
  for (const d of doc.file.diagnostics) assert.ok(doc.diagnostics.includes(d));
  const starts = doc.diagnostics.map((d) => d.span.start);
  assert.deepEqual(starts, [...starts].sort((a, b) => a - b));
  assert.equal(doc.byName.get('BROKEN')?.genotype, undefined);
  assert.equal(doc.diagnostics.at(-1)!.code, 'unknown-alias');
  assert.ok(doc.byName.get('TINY')!.genotype);
});

// --- Fuzz: randomly damaged files never make analysis throw or point outside the text. ---


const FUZZ_BASE = `from collections import namedtuple
Genotype = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')
PRIMITIVES = ['none', 'max_pool_3x3', 'sep_conv_3x3', 'mb_conv']
${TEXT}
WIDE = Genotype(
    normal=[('sep_conv_3x3', 0), ('sep_conv_5x5', 1), ('skip_connect', 0), ('dil_conv_3x3', 1), ('mb_conv', 1), ('max_pool_3x3', 0)],
    normal_concat=range(2, 5),
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1)],
    reduce_concat=[2, 3],
)  # trailing comment
`;

const PIECES = [
  '(', ')', '[', ']', ',', "'", '"', '=', '\n', ' ', '#', '0', '1', '2', '7', '-1', '1.5', '99999999999999999999',
  'range(', 'range(2, 9)', 'none', "'none'", "'sep_conv_3x4'", 'Genotype(', 'normal=', 'reduce_concat=', 'TINY', 'DARTS',
  'X = X\n', 'Y = TINY\n', '\\', '→', '😀', '\r\n', '\t', ')]', "('skip_connect', 3), ",
];

function mutate(text: string, random: () => number): string {
  const at = Math.floor(random() * (text.length + 1));
  const kind = Math.floor(random() * 4);
  if (kind === 0) return text.slice(0, at) + text.slice(Math.min(text.length, at + 1 + Math.floor(random() * 12)));
  if (kind === 1) return text.slice(0, at) + PIECES[Math.floor(random() * PIECES.length)]! + text.slice(at);
  if (kind === 2) {
    const from = Math.floor(random() * text.length);
    return text.slice(0, at) + text.slice(from, from + Math.floor(random() * 40)) + text.slice(at);
  }
  // Replace one digit with another, the commonest real-world slip.
  const digits = [...text.matchAll(/\d/g)];
  if (digits.length === 0) return text;
  const d = digits[Math.floor(random() * digits.length)]!;
  return text.slice(0, d.index) + String(Math.floor(random() * 10)) + text.slice(d.index! + 1);
}

function assertInside(span: Span, length: number, what: string): void {
  assert.ok(Number.isInteger(span.start) && Number.isInteger(span.end), what);
  assert.ok(0 <= span.start && span.start <= span.end && span.end <= length, `${what}: ${span.start}-${span.end} of ${length}`);
}

test('fuzz: thousands of damaged files, analysis never throws and stays inside the text', () => {
  assert.deepEqual(analyze(FUZZ_BASE).diagnostics.filter((d) => d.severity === 'error'), []);
  const random = prng(20200426);
  let withErrors = 0;
  for (let round = 0; round < 3000; round++) {
    let text = FUZZ_BASE;
    const edits = 1 + Math.floor(random() * 4);
    for (let i = 0; i < edits; i++) text = mutate(text, random);
    let doc;
    try {
      doc = analyze(text);
    } catch (error) {
      assert.fail(`analyze threw on round ${round}: ${(error as Error).stack}\n---\n${text}`);
    }
    const all: Diagnostic[] = doc.diagnostics;
    if (all.some((d) => d.severity === 'error')) withErrors++;
    for (const d of all) {
      assertInside(d.span, text.length, `${d.code} in round ${round}`);
      for (const r of d.related ?? []) assertInside(r.span, text.length, `related of ${d.code} in round ${round}`);
    }
    // A defined genotype is safe to use: every operation known, every index in range.
    for (const g of doc.genotypes) {
      if (!g.genotype) continue;
      for (const cell of [g.genotype.normal, g.genotype.reduce]) {
        assert.ok(cell.edges.length > 0 && cell.edges.length % 2 === 0, `${g.name} in round ${round}`);
        cell.edges.forEach((e, i) => {
          assert.ok(doc.knownOps.has(e.op), `${g.name} op ${e.op} in round ${round}`);
          assert.ok(Number.isInteger(e.input) && e.input >= 0 && e.input < 2 + Math.floor(i / 2), `${g.name} input ${e.input} in round ${round}`);
        });
        assert.ok(cell.concat.length > 0, `${g.name} concat in round ${round}`);
        for (const n of cell.concat) assert.ok(n >= 2 && n < 2 + cell.edges.length / 2, `${g.name} concat ${n} in round ${round}`);
      }
    }
  }
  // The damage must actually damage: most rounds produce errors.
  assert.ok(withErrors > 1500, `only ${withErrors} damaged files had errors`);
});
