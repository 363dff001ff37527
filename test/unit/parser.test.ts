import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, genotypeOf } from '../../src/genotype/parser.js';
import type { AliasDef, GenotypeDef, GenotypeFile, PrimitivesDef, Span } from '../../src/genotype/ast.js';
import { builtin } from '../../src/genotype/library.js';
import { sameGenotype, type Genotype } from '../../src/genotype/model.js';

const slice = (text: string, span: Span): string => text.slice(span.start, span.end);

function defs(file: GenotypeFile): GenotypeDef[] {
  return file.statements.filter((s): s is GenotypeDef => s.kind === 'genotype');
}

function modelOf(file: GenotypeFile, name: string): Genotype | undefined {
  const def = defs(file).find((d) => d.name.text === name);
  return def ? genotypeOf(def.call) : undefined;
}

function errors(file: GenotypeFile) {
  return file.diagnostics.filter((d) => d.severity === 'error');
}

const V2 = builtin('DARTS_V2')!.genotype;
const NORMAL_V2 = "[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)]";
const REDUCE_V2 = "[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)]";
const V2_TEXT = `DARTS_V2 = Genotype(normal=${NORMAL_V2}, normal_concat=[2, 3, 4, 5], reduce=${REDUCE_V2}, reduce_concat=range(2, 6))`;

test('keyword form: the model of DARTS_V2, no diagnostics', () => {
  const file = parse(`# the second-order DARTS cell\n${V2_TEXT}\nDARTS = DARTS_V2\n`);
  assert.deepEqual(file.diagnostics, []);
  assert.equal(file.statements.length, 2);
  const model = modelOf(file, 'DARTS_V2');
  assert.ok(model && sameGenotype(model, V2));
  assert.equal(model.normal.concatStyle, 'list');
  assert.equal(model.reduce.concatStyle, 'range');
  assert.deepEqual(file.comments.map((c) => c.text), ['# the second-order DARTS cell']);
});

test('spans: names, operations, indices, keywords and concat entries slice to their text', () => {
  const text = `\n\n${V2_TEXT}\nDARTS = DARTS_V2\n`;
  const file = parse(text);
  const def = defs(file)[0]!;
  assert.equal(slice(text, def.name.span), 'DARTS_V2');
  assert.equal(slice(text, def.call.callee.span), 'Genotype');
  assert.equal(slice(text, def.span), V2_TEXT);
  assert.equal(slice(text, def.call.span), V2_TEXT.slice('DARTS_V2 = '.length));
  const entries = [...def.call.normal!.entries, ...def.call.reduce!.entries];
  assert.equal(entries.length, 16);
  for (const entry of entries) {
    assert.equal(slice(text, entry.op!.span), entry.op!.value);
    assert.match(entry.op!.value, /^[a-z_0-9]+$/);
    assert.equal(slice(text, entry.input!.span), String(entry.input!.value));
    assert.equal(slice(text, entry.span), `('${entry.op!.value}', ${entry.input!.value})`);
  }
  assert.equal(slice(text, def.call.normal!.span), NORMAL_V2);
  const listConcat = def.call.normalConcat!;
  assert.equal(listConcat.form, 'list');
  assert.deepEqual(listConcat.items.map((i) => slice(text, i.span)), ['2', '3', '4', '5']);
  assert.equal(slice(text, listConcat.span), '[2, 3, 4, 5]');
  const range = def.call.reduceConcat!;
  assert.equal(range.form, 'range');
  assert.deepEqual(range.items.map((i) => i.value), [2, 3, 4, 5]);
  for (const item of range.items) assert.equal(slice(text, item.span), 'range(2, 6)');
  assert.deepEqual(range.bounds!.map((b) => slice(text, b.span)), ['2', '6']);
  assert.deepEqual(def.call.args.map((a) => slice(text, a.keyword!.span)), ['normal', 'normal_concat', 'reduce', 'reduce_concat']);
  assert.deepEqual(def.call.args.map((a) => a.field), ['normal', 'normal_concat', 'reduce', 'reduce_concat']);
  assert.equal(slice(text, def.call.args[1]!.span), 'normal_concat=[2, 3, 4, 5]');
  const alias = file.statements[1] as AliasDef;
  assert.equal(alias.kind, 'alias');
  assert.equal(slice(text, alias.name.span), 'DARTS');
  assert.equal(slice(text, alias.target.span), 'DARTS_V2');
  assert.equal(alias.target.text, 'DARTS_V2');
});

test('keyword arguments in every order give the same model', () => {
  const args = [`normal=${NORMAL_V2}`, 'normal_concat=[2, 3, 4, 5]', `reduce=${REDUCE_V2}`, 'reduce_concat=[2, 3, 4, 5]'];
  const orders: number[][] = [];
  const permute = (prefix: number[], rest: number[]): void => {
    if (rest.length === 0) orders.push(prefix);
    rest.forEach((r, i) => permute([...prefix, r], [...rest.slice(0, i), ...rest.slice(i + 1)]));
  };
  permute([], [0, 1, 2, 3]);
  assert.equal(orders.length, 24);
  for (const order of orders) {
    const file = parse(`G = Genotype(${order.map((i) => args[i]).join(', ')})`);
    assert.deepEqual(file.diagnostics, [], order.join());
    assert.ok(sameGenotype(modelOf(file, 'G')!, V2), order.join());
  }
});

test('positional form, lists as tuples, double quotes and trailing commas', () => {
  const text = `G = Genotype(
    [["sep_conv_3x3", 0,], ["sep_conv_3x3", 1], ("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2),],
    [2, 3, 4, 5,],
    ${REDUCE_V2},
    range(2, 6,),
)`;
  const file = parse(text);
  assert.deepEqual(file.diagnostics, []);
  const def = defs(file)[0]!;
  assert.ok(sameGenotype(genotypeOf(def.call)!, V2));
  assert.deepEqual(def.call.args.map((a) => a.field), ['normal', 'normal_concat', 'reduce', 'reduce_concat']);
  assert.ok(def.call.args.every((a) => a.keyword === undefined));
  const ops = def.call.normal!.entries.map((e) => e.op!);
  assert.equal(ops[0]!.quote, '"');
  assert.equal(ops[4]!.quote, "'");
  for (const op of ops) assert.equal(slice(text, op.span), op.value);
});

test('newlines inside brackets are insignificant; a backslash continues a line; \\r\\n endings', () => {
  const text = [
    'G = \\',
    '  Genotype(normal',
    '  =',
    NORMAL_V2.replace(/\), /g, '),\n'),
    ', normal_concat = \\',
    '[2, 3, 4, 5], reduce=',
    REDUCE_V2,
    ', reduce_concat=range(',
    '2,',
    '6))',
  ].join('\n');
  for (const t of [text, text.replace(/\n/g, '\r\n')]) {
    const file = parse(t);
    assert.deepEqual(file.diagnostics, []);
    assert.ok(sameGenotype(modelOf(file, 'G')!, V2));
    for (const entry of defs(file)[0]!.call.normal!.entries) assert.equal(slice(t, entry.op!.span), entry.op!.value);
  }
});

test('a # inside a string is not a comment; comments after code are kept with their spans', () => {
  const text = `G = Genotype(normal=[('a#b', 0)], # node 2\n  normal_concat=[2], reduce=[], reduce_concat=[])  # end\n`;
  const file = parse(text);
  assert.deepEqual(file.diagnostics, []);
  assert.deepEqual(file.comments.map((c) => slice(text, c.span)), ['# node 2', '# end']);
  assert.equal(genotypeOf(defs(file)[0]!.call)!.normal.edges[0]!.op, 'a#b');
});

test('escapes in strings are decoded; the span still covers the written content', () => {
  const text = String.raw`G = Genotype(normal=[('it\'s', 0), ("a\\b", 1), (r'c\d', 0), ('\x41', 1)], normal_concat=[2], reduce=[], reduce_concat=[])`;
  const file = parse(text);
  assert.deepEqual(file.diagnostics, []);
  const entries = defs(file)[0]!.call.normal!.entries;
  assert.deepEqual(entries.map((e) => e.op!.value), ["it's", 'a\\b', 'c\\d', 'A']);
  assert.equal(slice(text, entries[0]!.op!.span), String.raw`it\'s`);
});

test('a whole DARTS-style genotypes.py parses: imports, namedtuple, PRIMITIVES, genotypes, aliases', () => {
  const text = readFileSync(join(__dirname, '..', 'fixtures', 'genotypes.py'), 'utf8');
  const file = parse(text);
  assert.deepEqual(file.diagnostics, []);
  assert.deepEqual(
    file.statements.map((s) => (s.kind === 'python' ? `python:${s.what}` : s.kind)),
    ['python:import', 'python:import', 'python:namedtuple', 'primitives', 'genotype', 'genotype', 'genotype', 'genotype', 'genotype', 'alias', 'alias', 'alias'],
  );
  const primitives = file.statements.find((s): s is PrimitivesDef => s.kind === 'primitives')!;
  assert.equal(primitives.name.text, 'PRIMITIVES');
  assert.equal(primitives.ops.length, 9);
  assert.equal(primitives.ops[8]!.value, 'conv_3x1_1x3');
  for (const op of primitives.ops) assert.equal(slice(text, op.span), op.value);
  for (const [name, libraryName] of [
    ['NASNet', 'NASNet'],
    ['DARTS_V1', 'DARTS_V1'],
    ['DARTS_V2', 'DARTS_V2'],
    ['SNAS_MILD', 'SNAS_MILD'],
    ['PC_DARTS_cifar', 'PC_DARTS'],
  ] as const) {
    const model = modelOf(file, name);
    assert.ok(model, name);
    assert.ok(sameGenotype(model, builtin(libraryName)!.genotype), name);
  }
  assert.equal(modelOf(file, 'PC_DARTS_cifar')!.normal.concatStyle, 'range');
  const aliases = file.statements.filter((s): s is AliasDef => s.kind === 'alias').map((a) => `${a.name.text}=${a.target.text}`);
  assert.deepEqual(aliases, ['PC_DARTS=PC_DARTS_cifar', 'DARTS=DARTS_V2', 'SNAS=SNAS_MILD']);
  // The module docstring is kept as a comment; so are the # comments.
  assert.ok(file.comments[0]!.text.startsWith('"""Genotypes'));
  assert.ok(file.comments.some((c) => c.text === '# an extra operation of this search space'));
  const namedtuple = file.statements[2]!;
  assert.equal(slice(text, namedtuple.span), "Genotype = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')");
});

test('a name declared with namedtuple builds genotypes too', () => {
  const file = parse(`import collections\nGeno = collections.namedtuple('Geno', 'normal normal_concat reduce reduce_concat')\nX = Geno(normal=[('a', 0)], normal_concat=[2], reduce=[('b', 1)], reduce_concat=[2])\nY = Other(normal=[])\n`);
  assert.equal(errors(file).length, 0);
  assert.equal(defs(file).length, 1);
  assert.equal(defs(file)[0]!.call.callee.text, 'Geno');
  assert.ok(modelOf(file, 'X'));
  const warning = file.diagnostics.find((d) => d.code === 'unsupported-statement');
  assert.ok(warning);
  assert.equal(slice(file.text, warning.span), 'Y = Other(normal=[])');
});

const THREE = (second: string): string =>
  [
    `A = Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=[2], reduce=[('max_pool_3x3', 0), ('skip_connect', 1)], reduce_concat=[2])`,
    second,
    `C = Genotype(`,
    `    normal=[('dil_conv_3x3', 1), ('sep_conv_5x5', 0)],`,
    `    normal_concat=range(2, 3),`,
    `    reduce=[('avg_pool_3x3', 1), ('none', 0)],`,
    `    reduce_concat=[2],`,
    `)`,
    '',
  ].join('\n');

test('recovery: an error in the 2nd of 3 genotypes leaves the 1st and 3rd intact', () => {
  const broken = [
    `B = Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)], normal_concat=[2], reduce=[('x', 0)`, // unclosed ] and )
    `B = Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect' 1)], normal_concat=[2], reduce=[], reduce_concat=[])`, // missing comma
    `B = Genotype(normal=[('sep_conv_3x3, 0), ('skip_connect', 1)], normal_concat=[2], reduce=[], reduce_concat=[])`, // unterminated string
    `B = Genotype(normal=[('sep_conv_3x3', 0), ('skip_connect', 1)]], normal_concat=[2], reduce=[], reduce_concat=[]`, // stray ], no )
    `B = Genotype(normal=[('sep_conv_3x3', 0), ?? ('skip_connect', 1)], normal_concat=[2, x], reduce=[], reduce_concat=[])`,
    `B = Genotype(normal=[(`,
    `B = Genotype(normal=[('a', 0)], normal_concat=[2], reduce=[], reduce_concat=[]) trailing junk (`,
    `B = Genotype(normal=[('a', 0)], normal_concat=[2], reduce=[], reduce_concat=[]) )`,
    `B = `,
    `B = Genotype(normal=[("a", 0)], normal_concat=[2], reduce=[], reduce_concat=[]]`,
  ];
  const expectedA = { normal: [['sep_conv_3x3', 0], ['skip_connect', 1]], reduce: [['max_pool_3x3', 0], ['skip_connect', 1]] };
  for (const second of broken) {
    const text = THREE(second);
    const file = parse(text);
    assert.ok(errors(file).length > 0, second);
    const a = modelOf(file, 'A');
    const c = modelOf(file, 'C');
    assert.ok(a, `A missing after: ${second}`);
    assert.ok(c, `C missing after: ${second}`);
    assert.deepEqual(a.normal.edges.map((e) => [e.op, e.input]), expectedA.normal);
    assert.deepEqual(a.reduce.edges.map((e) => [e.op, e.input]), expectedA.reduce);
    assert.deepEqual(c.normal.edges.map((e) => [e.op, e.input]), [['dil_conv_3x3', 1], ['sep_conv_5x5', 0]]);
    assert.deepEqual(c.normal.concat, [2]);
    assert.equal(c.normal.concatStyle, 'range');
    // Every error lies on B's line (or at its end).
    const bStart = text.indexOf('\nB') + 1;
    const bEnd = text.indexOf('\nC = ');
    for (const d of errors(file)) assert.ok(d.span.start >= bStart && d.span.end <= bEnd, `${d.message} (${second})`);
  }
});

test('an unclosed Genotype( names the bracket and the line it was opened on', () => {
  const text = `# header\n\nX = Genotype(\n    normal=[('sep_conv_3x3', 0), ('skip_connect', 1)],\n    normal_concat=[2]\nY = X\n`;
  const file = parse(text);
  const [d] = errors(file);
  assert.ok(d);
  assert.equal(errors(file).length, 1);
  assert.equal(d.code, 'syntax');
  assert.match(d.message, /^expected '\)' to close Genotype\( opened at line 3, found 'Y' on line 6$/);
  // Reported where the ')' is missing: right after the last argument.
  assert.equal(d.span.start, text.indexOf('[2]') + 3);
  assert.equal(d.related?.[0] && slice(text, d.related[0].span), '(');
  // The alias after it is still read.
  assert.ok(file.statements.some((s) => s.kind === 'alias' && s.name.text === 'Y'));
  // Partial structures are kept.
  const def = defs(file)[0]!;
  assert.equal(def.call.normal?.entries.length, 2);
  assert.equal(genotypeOf(def.call), undefined);
});

test('partial entries keep what was written', () => {
  const text = `G = Genotype(normal=[('sep_conv_3x3', ), ('skip_connect'), (, 1), ('dil_conv_3x3', 1)], normal_concat=[2], reduce=[], reduce_concat=[])`;
  const file = parse(text);
  const entries = defs(file)[0]!.call.normal!.entries;
  assert.equal(entries.length, 4);
  assert.equal(entries[0]!.op?.value, 'sep_conv_3x3');
  assert.equal(entries[0]!.input, undefined);
  assert.equal(entries[1]!.op?.value, 'skip_connect');
  assert.equal(entries[1]!.input, undefined);
  assert.equal(entries[2]!.op, undefined);
  assert.equal(entries[2]!.input?.value, 1);
  assert.equal(entries[3]!.input?.value, 1);
  assert.equal(errors(file).length, 3);
  assert.match(errors(file)[0]!.message, /expected ',' and an input node index after 'sep_conv_3x3', found '\)'/);
  assert.equal(slice(text, errors(file)[0]!.span), ')');
  assert.equal(genotypeOf(defs(file)[0]!.call), undefined);
});

test('bad values: unquoted operation, fractional or negative index, bad concat', () => {
  const cases: [string, RegExp, string][] = [
    [`G = Genotype(normal=[(sep_conv_3x3, 0)], normal_concat=[2], reduce=[], reduce_concat=[])`, /expected a quoted operation name .*found 'sep_conv_3x3'/, 'sep_conv_3x3'],
    [`G = Genotype(normal=[('a', 1.5)], normal_concat=[2], reduce=[], reduce_concat=[])`, /expected an input node index \(a whole number\), found '1.5'/, '1.5'],
    [`G = Genotype(normal=[('a', -1)], normal_concat=[2], reduce=[], reduce_concat=[])`, /non-negative/, '-1'],
    [`G = Genotype(normal=[('a', 0)], normal_concat=[2, 'x'], reduce=[], reduce_concat=[])`, /expected a node number, found string 'x'/, "'x'"],
    [`G = Genotype(normal=[('a', 0)], normal_concat=range(2), reduce=[], reduce_concat=[])`, /expected ',' and the end bound of range/, ')'],
    [`G = Genotype(normal=5, normal_concat=[2], reduce=[], reduce_concat=[])`, /expected a list of \('op', input\) entries, found '5'/, '5'],
    [`G = Genotype(normal=[('a', 0)], normal_concat=foo, reduce=[], reduce_concat=[])`, /expected a concat list such as \[2, 3, 4, 5\] or range\(2, 6\), found 'foo'/, 'foo'],
  ];
  for (const [text, message, at] of cases) {
    const file = parse(text);
    const errs = errors(file);
    assert.equal(errs.length, 1, `${text}: ${errs.map((e) => e.message).join(' | ')}`);
    assert.match(errs[0]!.message, message);
    assert.equal(slice(text, errs[0]!.span), at, text);
    assert.equal(genotypeOf(defs(file)[0]!.call), undefined, text);
  }
});

test('argument diagnostics: duplicate, too many, unknown, positional after keyword', () => {
  const dup = `G = Genotype(normal=[('a', 0)], normal_concat=[2], normal=[('b', 1)], reduce=[], reduce_concat=[])`;
  let file = parse(dup);
  assert.deepEqual(file.diagnostics.map((d) => d.code), ['duplicate-argument']);
  assert.equal(file.diagnostics[0]!.severity, 'error');
  assert.equal(file.diagnostics[0]!.span.start, dup.lastIndexOf('normal='));
  assert.equal(slice(dup, file.diagnostics[0]!.span), 'normal');
  assert.equal(genotypeOf(defs(file)[0]!.call)!.normal.edges[0]!.op, 'a', 'the first value is kept');

  const many = `G = Genotype([('a', 0)], [2], [], [], [3])`;
  file = parse(many);
  assert.deepEqual(file.diagnostics.map((d) => d.code), ['too-many-arguments']);
  assert.equal(slice(many, file.diagnostics[0]!.span), '[3]');
  assert.ok(genotypeOf(defs(file)[0]!.call));

  const unknown = `G = Genotype(normal=[('a', 0)], normal_concats=[2], reduce=[], reduce_concat=[], extra=None)`;
  file = parse(unknown);
  assert.deepEqual(file.diagnostics.map((d) => d.code), ['unknown-argument', 'unknown-argument']);
  assert.equal(slice(unknown, file.diagnostics[0]!.span), 'normal_concats');
  assert.equal(file.diagnostics[0]!.data?.['suggestion'], 'normal_concat');
  assert.equal(file.diagnostics[1]!.data?.['suggestion'], undefined);
  assert.equal(genotypeOf(defs(file)[0]!.call), undefined, 'normal_concat is missing');

  const positionalAfter = `G = Genotype(normal=[('a', 0)], [2], reduce=[], reduce_concat=[])`;
  file = parse(positionalAfter);
  assert.equal(errors(file).length, 1);
  assert.equal(errors(file)[0]!.code, 'syntax');
  assert.match(errors(file)[0]!.message, /positional argument cannot follow keyword/);

  const positionalThenKeyword = `G = Genotype([('a', 0)], [2], normal=[('b', 0)], reduce=[], reduce_concat=[])`;
  file = parse(positionalThenKeyword);
  assert.deepEqual(file.diagnostics.map((d) => d.code), ['duplicate-argument']);
  assert.match(file.diagnostics[0]!.message, /positionally/);
});

test('other Python statements are skipped with one unsupported-statement warning each', () => {
  const text = [
    'def helper(x):',
    '    return x + 1',
    '',
    'if __name__ == "__main__":',
    '    print(helper(1))',
    'else:',
    '    pass',
    'x = 5',
    'print(x)',
    'CELLS = [1, 2]',
    'G = Genotype(normal=[], normal_concat=[], reduce=[], reduce_concat=[])',
  ].join('\n');
  const file = parse(text);
  assert.deepEqual(errors(file), []);
  const warnings = file.diagnostics.filter((d) => d.code === 'unsupported-statement');
  assert.deepEqual(warnings.map((w) => slice(text, w.span)), ['def helper(x):', 'if __name__ == "__main__":', 'x = 5', 'print(x)', 'CELLS = [1, 2]']);
  assert.ok(warnings.every((w) => w.severity === 'warning'));
  assert.equal(defs(file).length, 1);
  assert.ok(modelOf(file, 'G'));
});

test('text that is not a statement is a syntax error, and parsing goes on', () => {
  const text = `)))\n42 = G\nG = Genotype(normal=[], normal_concat=[], reduce=[], reduce_concat=[])\nA B\nH = G\n`;
  const file = parse(text);
  const errs = errors(file);
  assert.equal(errs.length, 3);
  assert.equal(slice(text, errs[0]!.span), ')');
  assert.match(errs[0]!.message, /^expected a statement .*found '\)'/);
  assert.equal(slice(text, errs[1]!.span), '42');
  assert.match(errs[2]!.message, /expected '=' after 'A', found 'B'/);
  assert.deepEqual(file.statements.map((s) => s.kind), ['genotype', 'alias']);
});

test('unterminated strings are reported and do not swallow the next lines', () => {
  const text = `PRIMITIVES = ['none', 'skip_connect\n]\nG = Genotype(normal=[], normal_concat=[], reduce=[], reduce_concat=[])\n`;
  const file = parse(text);
  assert.ok(errors(file).some((d) => /unterminated string/.test(d.message)));
  assert.ok(modelOf(file, 'G'));
  const unterminated = parse(`X = """never closed\nG = Genotype()`);
  assert.ok(errors(unterminated).some((d) => /unterminated string: expected """/.test(d.message)));
});

test('empty and blank texts have no statements and no diagnostics', () => {
  for (const text of ['', '\n\n', '   \n# only a comment\n', '\r\n\r\n']) {
    const file = parse(text);
    assert.deepEqual(file.statements, []);
    assert.deepEqual(file.diagnostics, []);
  }
});

test('genotypeOf: undefined when a list or concat is missing, the model otherwise', () => {
  const missing = parse(`G = Genotype(normal=[('a', 0)], normal_concat=[2], reduce=[('b', 0)])`);
  assert.deepEqual(missing.diagnostics, [], 'a missing argument is left to validation');
  assert.equal(genotypeOf(defs(missing)[0]!.call), undefined);
  const ok = parse(`G = Genotype(normal=[('a', 0)], normal_concat=list(range(2, 3)), reduce=[('b', 0)], reduce_concat=(2,))`);
  assert.deepEqual(ok.diagnostics, []);
  const model = genotypeOf(defs(ok)[0]!.call)!;
  assert.deepEqual(model.normal, { edges: [{ op: 'a', input: 0 }], concat: [2], concatStyle: 'range' });
  assert.deepEqual(model.reduce, { edges: [{ op: 'b', input: 0 }], concat: [2], concatStyle: 'list' });
});

test('a byte-order mark is ignored; pathological nesting and huge ranges are refused, not fatal', () => {
  const bom = parse(`\ufeff${V2_TEXT}`);
  assert.deepEqual(bom.diagnostics, []);
  assert.ok(modelOf(bom, 'DARTS_V2'));

  const deep = `G = Genotype(normal=[], normal_concat=${'list('.repeat(100_000)}[2]${')'.repeat(100_000)}, reduce=[], reduce_concat=[])\nH = G\n`;
  const file = parse(deep);
  assert.ok(errors(file).some((d) => /nested too deeply/.test(d.message)));
  assert.equal(genotypeOf(defs(file)[0]!.call), undefined);
  assert.ok(file.statements.some((s) => s.kind === 'alias'));

  const brackets = parse(`G = Genotype(normal=[(${'['.repeat(100_000)}`);
  assert.ok(errors(brackets).length > 0);

  const huge = parse(`G = Genotype(normal=[], normal_concat=range(0, 1000000000), reduce=[], reduce_concat=[])`);
  assert.match(errors(huge)[0]!.message, /too long for a concat/);
  assert.equal(genotypeOf(defs(huge)[0]!.call), undefined);
});
