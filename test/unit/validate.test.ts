import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CellListNode, ConcatNode, Diagnostic, EntryNode, GenotypeDef, GenotypeFile, NumberLit, Span } from '../../src/genotype/ast.js';
import { analyze } from '../../src/genotype/document.js';
import { LIBRARY } from '../../src/genotype/library.js';
import { printGenotype } from '../../src/genotype/printer.js';
import { DIAGNOSTIC_CODES, validate } from '../../src/genotype/validate.js';

/**
 * A valid file: a wide genotype with list and range concats, a deep one whose
 * normal cell is a chain (every node feeds the next), and an alias.
 */
const BASE = `# hand-written cells
from collections import namedtuple
Genotype = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')

WIDE = Genotype(
    normal=[('sep_conv_3x3', 0), ('sep_conv_5x5', 1), ('skip_connect', 0), ('dil_conv_3x3', 1), ('sep_conv_3x3', 1), ('max_pool_3x3', 0), ('avg_pool_3x3', 1), ('dil_conv_5x5', 0)],
    normal_concat=[2, 3, 4, 5],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 3), ('skip_connect', 2), ('avg_pool_3x3', 4)],
    reduce_concat=range(2, 6),
)

DEEP = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_5x5', 2), ('skip_connect', 0), ('dil_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 4), ('skip_connect', 2)], normal_concat=[5], reduce=[('avg_pool_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 2)], reduce_concat=[2, 3])

SHORT = DEEP
`;

/** BASE with the first `from` after `anchor` replaced by `to`. */
function edit(anchor: string, from: string, to: string, text = BASE): string {
  const at = text.indexOf(anchor);
  assert.ok(at >= 0, `anchor ${anchor}`);
  const where = text.indexOf(from, at);
  assert.ok(where >= 0, `${from} after ${anchor}`);
  return text.slice(0, where) + to + text.slice(where + from.length);
}

const spanText = (text: string, span: Span) => text.slice(span.start, span.end);

/** All diagnostics (syntax and semantic) of a text, after checking there is no syntax error. */
function diagnose(text: string, extraOps?: readonly string[]): Diagnostic[] {
  const doc = analyze(text, extraOps ? { extraOps } : undefined);
  assert.deepEqual(doc.file.diagnostics, [], 'the test text must parse cleanly');
  return doc.diagnostics;
}

/** The only diagnostic with `code` (asserting there is exactly one). */
function only(diagnostics: readonly Diagnostic[], code: string): Diagnostic {
  const found = diagnostics.filter((d) => d.code === code);
  assert.equal(found.length, 1, `one ${code} expected, got ${JSON.stringify(diagnostics.map((d) => [d.code, d.message]))}`);
  return found[0]!;
}

const codesOf = (diagnostics: readonly Diagnostic[]) => diagnostics.map((d) => d.code).sort();

test('the base file has no diagnostics at all', () => {
  assert.deepEqual(diagnose(BASE), []);
});

test('every code validate emits is listed once in DIAGNOSTIC_CODES, parser codes included', () => {
  assert.equal(new Set(DIAGNOSTIC_CODES).size, DIAGNOSTIC_CODES.length);
  for (const code of ['syntax', 'duplicate-argument', 'too-many-arguments', 'unknown-argument']) assert.ok(DIAGNOSTIC_CODES.includes(code as never), code);
});

test('unknown-op: error on the operation string, with the nearest known operation', () => {
  const text = edit('WIDE', "'dil_conv_5x5'", "'sep_conv_3x4'");
  const d = only(diagnose(text), 'unknown-op');
  assert.equal(d.severity, 'error');
  assert.equal(spanText(text, d.span), 'sep_conv_3x4'); // string spans exclude the quotes
  assert.equal(d.data?.['suggestion'], 'sep_conv_3x3');
  assert.equal(d.message, "unknown operation 'sep_conv_3x4' — did you mean 'sep_conv_3x3'?");
  assert.deepEqual(codesOf(diagnose(text)), ['unknown-op']);
});

test('unknown-op far from every operation has no suggestion', () => {
  const text = edit('WIDE', "'dil_conv_5x5'", "'transformer_block'");
  const d = only(diagnose(text), 'unknown-op');
  assert.equal(d.data?.['suggestion'], undefined);
  assert.doesNotMatch(d.message, /did you mean/);
});

test('PRIMITIVES in the file extends the known operations', () => {
  const custom = edit('WIDE', "'dil_conv_5x5'", "'mb_conv_3x3'");
  assert.equal(only(diagnose(custom), 'unknown-op').data?.['op'], 'mb_conv_3x3');
  const withPrimitives = custom.replace('WIDE = ', "PRIMITIVES = ['none', 'sep_conv_3x3', 'mb_conv_3x3']\n\nWIDE = ");
  assert.deepEqual(diagnose(withPrimitives), []);
  assert.ok(analyze(withPrimitives).knownOps.has('mb_conv_3x3'));
  // Listed after its use counts too: the file's operation set is one thing.
  assert.deepEqual(diagnose(`${custom}\nPRIMITIVES = ['mb_conv_3x3']\n`), []);
});

test('extraOps extends the known operations, and only with the names given', () => {
  const custom = edit('WIDE', "'dil_conv_5x5'", "'mb_conv_3x3'");
  assert.deepEqual(diagnose(custom, ['mb_conv_3x3']), []);
  assert.equal(only(diagnose(custom, ['mb_conv_5x5']), 'unknown-op').data?.['suggestion'], 'mb_conv_5x5');
});

test('input-out-of-range: error on the index, naming what the node can read', () => {
  const text = edit('WIDE', "('skip_connect', 0)", "('skip_connect', 3)");
  const d = only(diagnose(text), 'input-out-of-range');
  assert.equal(d.severity, 'error');
  assert.equal(spanText(text, d.span), '3');
  assert.equal(d.data?.['maxValid'], 2);
  assert.equal(d.message, 'input 3 of node 3 (normal) must be smaller than 3: node 3 can read c_{k-2}=0, c_{k-1}=1 or node 2');
  const later = edit('WIDE', "('sep_conv_3x3', 1)", "('sep_conv_3x3', 5)");
  assert.equal(
    only(diagnose(later), 'input-out-of-range').message,
    'input 5 of node 4 (normal) must be smaller than 4: node 4 can read c_{k-2}=0, c_{k-1}=1 or nodes 2–3',
  );
  assert.deepEqual(codesOf(diagnose(text)), ['input-out-of-range']);
});

test('odd-entries: error on the whole cell list', () => {
  const text = edit('WIDE', ", ('dil_conv_5x5', 0)]", ']');
  const d = only(diagnose(text), 'odd-entries');
  assert.equal(d.severity, 'error');
  const list = spanText(text, d.span);
  assert.ok(list.startsWith("[('sep_conv_3x3', 0)") && list.endsWith("('avg_pool_3x3', 1)]"), list);
  assert.match(d.message, /7 entries/);
  assert.deepEqual(codesOf(diagnose(text)), ['odd-entries']);
});

test('empty-cell: error on the empty list', () => {
  const text = edit('DEEP', "reduce=[('avg_pool_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 2)]", 'reduce=[]');
  const diagnostics = diagnose(text);
  const d = only(diagnostics, 'empty-cell');
  assert.equal(d.severity, 'error');
  assert.equal(spanText(text, d.span), '[]');
  // The concat [2, 3] now names nodes the empty cell lacks.
  assert.equal(diagnostics.filter((x) => x.code === 'concat-unknown-node').length, 2);
});

test('concat-unknown-node: error on the entry, naming the nodes the cell has', () => {
  const text = edit('WIDE', 'normal_concat=[2, 3, 4, 5]', 'normal_concat=[2, 3, 4, 6]');
  const d = only(diagnose(text), 'concat-unknown-node');
  assert.equal(d.severity, 'error');
  assert.equal(d.span.start, text.indexOf('6]'));
  assert.equal(spanText(text, d.span), '6');
  assert.equal(d.data?.['maxNode'], 5);
  assert.match(d.message, /nodes 2–5/);
  // Dead-node analysis waits for a sound concat (node 5 is not reported as dead).
  assert.deepEqual(codesOf(diagnose(text)), ['concat-unknown-node']);
});

test('concat-input-node: error on 0 or 1 in a concat', () => {
  const text = edit('WIDE', 'normal_concat=[2, 3, 4, 5]', 'normal_concat=[1, 2, 3, 4, 5]');
  const d = only(diagnose(text), 'concat-input-node');
  assert.equal(d.severity, 'error');
  assert.equal(d.span.start, text.indexOf('[1, 2') + 1);
  assert.equal(spanText(text, d.span), '1');
  assert.deepEqual(codesOf(diagnose(text)), ['concat-input-node']);
});

test('range concats: one diagnostic per problem, on the range call', () => {
  const inputs = edit('WIDE', 'range(2, 6)', 'range(0, 6)');
  const d = only(diagnose(inputs), 'concat-input-node');
  assert.equal(spanText(inputs, d.span), 'range(0, 6)');
  assert.deepEqual(d.data?.['nodes'], [0, 1]);
  const beyond = edit('WIDE', 'range(2, 6)', 'range(2, 8)');
  const u = only(diagnose(beyond), 'concat-unknown-node');
  assert.equal(spanText(beyond, u.span), 'range(2, 8)');
  assert.deepEqual(u.data?.['nodes'], [6, 7]);
  const empty = edit('WIDE', 'range(2, 6)', 'range(2, 2)');
  assert.equal(spanText(empty, only(diagnose(empty), 'concat-empty').span), 'range(2, 2)');
});

test('concat-empty: error on the empty concat', () => {
  const text = edit('DEEP', 'normal_concat=[5]', 'normal_concat=[]');
  const d = only(diagnose(text), 'concat-empty');
  assert.equal(d.severity, 'error');
  assert.equal(spanText(text, d.span), '[]');
  // Every node is unreachable, but that is the concat's fault: no dead-node noise.
  assert.deepEqual(codesOf(diagnose(text)), ['concat-empty']);
});

test('concat-duplicate: error on the repeat, related information on the first', () => {
  const text = edit('WIDE', 'normal_concat=[2, 3, 4, 5]', 'normal_concat=[2, 3, 4, 5, 3]');
  const d = only(diagnose(text), 'concat-duplicate');
  assert.equal(d.severity, 'error');
  const listStart = text.indexOf('[2, 3, 4, 5, 3]');
  assert.equal(d.span.start, listStart + '[2, 3, 4, 5, '.length);
  assert.equal(spanText(text, d.span), '3');
  assert.equal(d.related?.length, 1);
  assert.equal(d.related![0]!.span.start, listStart + '[2, '.length);
  assert.equal(spanText(text, d.related![0]!.span), '3');
});

test('duplicate-name: error on the second name, related information on the first', () => {
  const text = `${BASE}DEEP = DARTS_V2\n`;
  const d = only(diagnose(text), 'duplicate-name');
  assert.equal(d.severity, 'error');
  assert.equal(d.span.start, text.lastIndexOf('DEEP = DARTS_V2'));
  assert.equal(spanText(text, d.span), 'DEEP');
  assert.equal(d.related![0]!.span.start, text.indexOf('DEEP = Genotype'));
  assert.match(d.message, /line 12/);
});

test('unknown-alias: error on the target, with a suggestion from the file and the library', () => {
  const text = edit('SHORT', 'DEEP', 'DEPE');
  const d = only(diagnose(text), 'unknown-alias');
  assert.equal(d.severity, 'error');
  assert.equal(spanText(text, d.span), 'DEPE');
  assert.equal(d.data?.['suggestion'], 'DEEP');
  const library = edit('SHORT', 'DEEP', 'PC_DART');
  assert.equal(only(diagnose(library), 'unknown-alias').data?.['suggestion'], 'PC_DARTS');
  // Built-ins (and their aliases) are valid targets when the file does not define them.
  assert.deepEqual(diagnose(edit('SHORT', 'DEEP', 'SNAS')), []);
});

test('alias-cycle: error on each alias of the loop, not on aliases leading into it', () => {
  const text = `${BASE}LOOP_A = LOOP_B\nLOOP_B = LOOP_A\nINTO = LOOP_A\nSELF = SELF\n`;
  const cycles = diagnose(text).filter((d) => d.code === 'alias-cycle');
  assert.deepEqual(
    cycles.map((d) => [d.severity, spanText(text, d.span), d.span.start]),
    [
      ['error', 'LOOP_B', text.indexOf('LOOP_A = LOOP_B') + 'LOOP_A = '.length],
      ['error', 'LOOP_A', text.indexOf('LOOP_B = LOOP_A') + 'LOOP_B = '.length],
      ['error', 'SELF', text.indexOf('SELF = SELF') + 'SELF = '.length],
    ],
  );
  assert.match(cycles[0]!.message, /LOOP_A → LOOP_B → LOOP_A/);
  assert.deepEqual(codesOf(diagnose(text)), ['alias-cycle', 'alias-cycle', 'alias-cycle']);
});

test('missing-cell and missing-concat: errors on the callee', () => {
  const text = edit('DEEP', ", reduce=[('avg_pool_3x3', 0), ('max_pool_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 2)], reduce_concat=[2, 3]", '');
  const diagnostics = diagnose(text);
  const cell = only(diagnostics, 'missing-cell');
  const concat = only(diagnostics, 'missing-concat');
  const callee = text.indexOf('Genotype(normal=');
  for (const d of [cell, concat]) {
    assert.equal(d.severity, 'error');
    assert.equal(d.span.start, callee);
    assert.equal(spanText(text, d.span), 'Genotype');
  }
  assert.equal(cell.data?.['field'], 'reduce');
  assert.equal(concat.data?.['field'], 'reduce_concat');
  assert.deepEqual(codesOf(diagnostics), ['missing-cell', 'missing-concat']);
});

test('dead-node: warning on the node entries, related information on the concat', () => {
  const text = edit('WIDE', 'normal_concat=[2, 3, 4, 5]', 'normal_concat=[2, 3, 5]');
  const d = only(diagnose(text), 'dead-node');
  assert.equal(d.severity, 'warning');
  assert.equal(spanText(text, d.span), "('sep_conv_3x3', 1), ('max_pool_3x3', 0)");
  assert.deepEqual(d.data, { cell: 'normal', node: 4 });
  assert.equal(d.message, 'node 4 (normal) is dead: nothing in concat depends on it');
  assert.equal(spanText(text, d.related![0]!.span), '[2, 3, 5]');
  assert.deepEqual(codesOf(diagnose(text)), ['dead-node']);
});

test('dead-node: a chain cut off from the concat is dead along its whole length', () => {
  const text = edit('DEEP', 'normal_concat=[5]', 'normal_concat=[2]');
  const dead = diagnose(text).filter((d) => d.code === 'dead-node');
  assert.deepEqual(
    dead.map((d) => d.data?.['node']),
    [3, 4, 5],
  );
  assert.match(dead[0]!.message, /feeds dead node 4/);
  // Node 2 feeds dead nodes too, but it is in the concat and so alive.
  assert.ok(!dead.some((d) => d.data?.['node'] === 2));
});

test('none-op: warning on the operation', () => {
  const text = edit('WIDE', "('avg_pool_3x3', 1)", "('none', 1)");
  const d = only(diagnose(text), 'none-op');
  assert.equal(d.severity, 'warning');
  assert.equal(spanText(text, d.span), 'none');
  assert.deepEqual(codesOf(diagnose(text)), ['none-op']);
});

test('identical-inputs: warning on the second of two identical entries', () => {
  const text = edit('WIDE', "('sep_conv_5x5', 1)", "('sep_conv_3x3', 0)");
  const d = only(diagnose(text), 'identical-inputs');
  assert.equal(d.severity, 'warning');
  const second = text.indexOf("('sep_conv_3x3', 0)", text.indexOf("('sep_conv_3x3', 0)") + 1);
  assert.equal(d.span.start, second);
  assert.equal(spanText(text, d.span), "('sep_conv_3x3', 0)");
  assert.equal(d.related![0]!.span.start, text.indexOf("('sep_conv_3x3', 0)"));
  assert.deepEqual(codesOf(diagnose(text)), ['identical-inputs']);
  // Same operation on different inputs, or different operations on one input, is fine.
  assert.deepEqual(diagnose(edit('WIDE', "('sep_conv_5x5', 1)", "('sep_conv_3x3', 1)")), []);
});

test('built-in genotypes, written out as a file, have no errors', () => {
  const text = LIBRARY.map((entry) => printGenotype(entry.name, entry.genotype)).join('\n');
  const doc = analyze(text);
  assert.deepEqual(doc.file.diagnostics, []);
  assert.deepEqual(doc.diagnostics.filter((d) => d.severity === 'error'), []);
  assert.equal(doc.genotypes.length, LIBRARY.length);
  for (const g of doc.genotypes) assert.ok(g.genotype, g.name);
  // NASNet's normal node 5 really is avg_pool_3x3(c_{k-2}) twice: the one warning the published architectures earn.
  // (The paper's own adapted cells and fixed random variants have the dead nodes and repeated inputs re-pointing gives.)
  const fixedVariant = (name: string | undefined) => name !== undefined && LIBRARY.find((e) => e.name === name)?.paper.startsWith('Shu, Wang & Cai') === true;
  assert.deepEqual(
    doc.diagnostics.filter((d) => !fixedVariant(doc.genotypes.find((g) => g.def.span.start <= d.span.start && d.span.end <= g.def.span.end)?.name)).map((d) => [d.code, d.data?.['node'], doc.genotypes.find((g) => g.def.span.start <= d.span.start && d.span.end <= g.def.span.end)?.name]),
    [['identical-inputs', 5, 'NASNet']],
  );
});

// --- Hand-built trees: what the text syntax may not let through, and validate() on its own. ---

function num(value: number, start: number): NumberLit {
  return { value, span: { start, end: start + 1 } };
}

function entry(op: string, input: number | undefined, start: number): EntryNode {
  return {
    span: { start, end: start + 4 },
    op: { value: op, span: { start, end: start + 2 }, quote: "'" },
    ...(input === undefined ? {} : { input: num(input, start + 3) }),
  };
}

function genotypeFile(normal: EntryNode[], normalConcat: number[], written: Partial<Record<'reduce' | 'reduce_concat', boolean>> = {}): GenotypeFile {
  const list: CellListNode = { span: { start: 10, end: 100 }, entries: normal };
  const concat: ConcatNode = { span: { start: 100, end: 120 }, form: 'list', items: normalConcat.map((n, i) => num(n, 101 + 2 * i)) };
  const def: GenotypeDef = {
    kind: 'genotype',
    span: { start: 0, end: 200 },
    name: { text: 'G', span: { start: 0, end: 1 } },
    call: {
      span: { start: 2, end: 200 },
      callee: { text: 'Genotype', span: { start: 2, end: 10 } },
      args: [
        { span: list.span, field: 'normal', value: list },
        { span: concat.span, field: 'normal_concat', value: concat },
        // An argument written but broken: the parser reported it, so it is not "missing" too.
        ...(written.reduce ? [{ span: { start: 130, end: 140 }, field: 'reduce' as const }] : []),
        ...(written.reduce_concat ? [{ span: { start: 140, end: 150 }, field: 'reduce_concat' as const }] : []),
      ],
      normal: list,
      normalConcat: concat,
    },
  };
  return { text: ' '.repeat(200), statements: [def], comments: [], diagnostics: [] };
}

test('hand-built: fractional and negative inputs are errors on the index', () => {
  const file = genotypeFile([entry('sep_conv_3x3', 1.5, 10), entry('sep_conv_3x3', -1, 20)], [2], { reduce: true, reduce_concat: true });
  const diagnostics = validate(file);
  assert.deepEqual(
    diagnostics.map((d) => [d.code, d.severity, d.span.start]),
    [
      ['input-not-integer', 'error', 13],
      ['input-negative', 'error', 23],
    ],
  );
});

test('hand-built: missing parts of entries are skipped, written-but-broken fields are not missing', () => {
  const partial: EntryNode = { span: { start: 30, end: 34 } };
  const file = genotypeFile([entry('skip_connect', 0, 10), entry('skip_connect', undefined, 20), partial, entry('max_pool_3x3', 2, 40)], [2, 3], {
    reduce: true,
    reduce_concat: true,
  });
  assert.deepEqual(validate(file), []);
  const unwritten = genotypeFile([entry('skip_connect', 0, 10), entry('max_pool_3x3', 1, 20)], [2]);
  assert.deepEqual(codesOf(validate(unwritten)), ['missing-cell', 'missing-concat']);
});
