/**
 * Incremental analysis must give exactly what a from-scratch analysis gives:
 * after every one of thousands of random edits (keystrokes, deletions, pasted
 * fragments that open strings, brackets and statements, line-ending changes)
 * to real files, the incrementally updated document is compared with
 * analyze() of the same text: diagnostics with their spans and messages, the
 * whole syntax tree (the outline's symbols come from it), comments, resolved
 * genotypes and the known operations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineIndex } from '../../src/genotype/ast.js';
import { analyze, type AnalyzedDocument } from '../../src/genotype/document.js';
import { IncrementalAnalysis, textChange } from '../../src/genotype/incremental.js';
import { LIBRARY } from '../../src/genotype/library.js';
import { genotypeOf } from '../../src/genotype/parser.js';
import { printAlias, printGenotype } from '../../src/genotype/printer.js';
import type { ValidationOptions } from '../../src/genotype/validate.js';
import { mulberry32 as prng } from '../../src/shared/mulberry32.js';

type Rand = () => number;

const FIXTURE = readFileSync(join(__dirname, '..', 'fixtures', 'genotypes.py'), 'utf8');

/** The built-in library printed as a file, with aliases, as the editor's users write them. */
function libraryFile(): string {
  const parts = ['# the built-in library', "PRIMITIVES = ['none', 'max_pool_3x3', 'skip_connect', 'sep_conv_3x3']"];
  for (const entry of LIBRARY) {
    parts.push(printGenotype(entry.name, entry.genotype));
    parts.push(printAlias(`${entry.name}_ALIAS`, entry.name));
  }
  parts.push(printAlias('CHAIN', 'DARTS_V2_ALIAS'));
  return `${parts.join('\n')}\n`;
}

/** Fragments that change the structure: statement starts, brackets, quotes, field names, line breaks. */
const FRAGMENTS = [
  '\n', '\r\n', '\r', ' ', '    ', '(', ')', '[', ']', ',', '=', '==', '#', '# note\n', "'", '"', "'''", '"""', '\\', '\\\n',
  'X = ', '\nX = ', '\nY = X\n', '\nDARTS_V2 = ', 'normal=', '\nnormal=', '\nreduce_concat=[2]', 'range(2, 6)', 'list(range(2, 4))',
  "('sep_conv_3x3', 1)", "('none', 0), ", "('sep_conv_3x4', 1)", '7', '-1', '1.5', 'Genotype(', 'Genotype(normal=[',
  '\nG = Genotype(normal=[], normal_concat=[], reduce=[], reduce_concat=[])\n', '\nMyGeno = namedtuple(\'G\', \'a\')\n',
  '\nPRIMITIVES = [\'extra_op\']\n', 'MyGeno(', '\nH = MyGeno(normal=[(\'none\', 0)], normal_concat=[2], reduce=[], reduce_concat=[2])\n', "'extra_op'", '\ndef f():\n    pass\n', '\nimport os\n', '\nfrom x import y\n', 'é', '😀', '\uFEFF',
];

function pick<T>(rand: Rand, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

/** A random position, biased towards the start of lines and statements (where edits change the most). */
function position(rand: Rand, text: string): number {
  const at = Math.floor(rand() * (text.length + 1));
  if (rand() < 0.3) {
    const lineStart = text.lastIndexOf('\n', at - 1) + 1;
    return rand() < 0.5 ? lineStart : Math.min(text.length, lineStart + Math.floor(rand() * 4));
  }
  return at;
}

function randomEdit(rand: Rand, text: string): string {
  const at = position(rand, text);
  const roll = rand();
  if (roll < 0.35) {
    // A keystroke: one character typed or deleted.
    if (rand() < 0.5 || at === text.length) return text.slice(0, at) + pick(rand, ['a', '_', '1', ' ', "'", ',', ')', '\n', '=', 'x']) + text.slice(at);
    return text.slice(0, at) + text.slice(at + 1);
  }
  if (roll < 0.6) return text.slice(0, at) + pick(rand, FRAGMENTS) + text.slice(at);
  if (roll < 0.8) {
    // Delete a range (up to a few lines).
    const end = Math.min(text.length, at + Math.floor(rand() * (rand() < 0.8 ? 40 : 400)));
    return text.slice(0, at) + text.slice(end);
  }
  if (roll < 0.9) {
    // Paste a copy of another piece of the file (a statement, half a statement).
    const from = position(rand, text);
    const piece = text.slice(from, Math.min(text.length, from + Math.floor(rand() * 300)));
    return text.slice(0, at) + piece + text.slice(at);
  }
  // Replace a range with a fragment.
  const end = Math.min(text.length, at + Math.floor(rand() * 20));
  return text.slice(0, at) + pick(rand, FRAGMENTS) + text.slice(end);
}

/** Everything analyze() gives, compared exactly; genotypeOf of every definition too (it reads completeness marks the copies must keep). */
function assertSame(actual: AnalyzedDocument, text: string, options: ValidationOptions | undefined, what: string): void {
  const expected = analyze(text, options);
  assert.deepStrictEqual(actual.diagnostics, expected.diagnostics, `${what}: diagnostics`);
  assert.deepStrictEqual(actual.file, expected.file, `${what}: syntax tree`);
  assert.deepStrictEqual(actual.genotypes, expected.genotypes, `${what}: resolved genotypes`);
  assert.deepStrictEqual(actual.byName, expected.byName, `${what}: names`);
  assert.deepStrictEqual(actual.knownOps, expected.knownOps, `${what}: known operations`);
  actual.file.statements.forEach((statement, i) => {
    const other = expected.file.statements[i]!;
    if (statement.kind === 'genotype' && other.kind === 'genotype') assert.deepStrictEqual(genotypeOf(statement.call), genotypeOf(other.call), `${what}: model of ${statement.name.text}`);
  });
}

function fuzz(name: string, source: string, seed: number, edits: number): void {
  test(`incremental = full analysis after ${edits} random edits of ${name}`, () => {
    const rand = prng(seed);
    let text = source;
    let options: ValidationOptions | undefined;
    let state = IncrementalAnalysis.of(text, options);
    assertSame(state.doc, text, options, `${name}, initial`);
    for (let n = 0; n < edits; n++) {
      // Now and then start over from the original (edits pile up into noise otherwise).
      const next = rand() < 0.02 ? source : randomEdit(rand, text);
      if (rand() < 0.02) options = rand() < 0.5 ? { extraOps: ['sep_conv_3x4', 'extra_op'] } : undefined;
      // Half the time the caller says what changed (as the server could), half the time it is found by diffing.
      state = rand() < 0.5 ? state.update(next, options, textChange(text, next)) : state.update(next, options);
      text = next;
      assert.equal(state.text, text);
      assertSame(state.doc, text, options, `${name}, seed ${seed}, edit ${n + 1}`);
    }
  });
}

fuzz('the built-in library', libraryFile(), 1, 1000);
fuzz('test/fixtures/genotypes.py', FIXTURE, 2, 1000);
fuzz('a CRLF copy of test/fixtures/genotypes.py', FIXTURE.replace(/\n/g, '\r\n'), 3, 500);
/** A file that names its own genotype constructor: edits to that declaration change how every later statement parses. */
const OWN_CONSTRUCTOR = [
  'from collections import namedtuple',
  "Geno = namedtuple('Geno', 'normal normal_concat reduce reduce_concat')",
  ...LIBRARY.slice(0, 4).map((entry) => printGenotype(entry.name, entry.genotype).replace('Genotype(', 'Geno(')),
  "MyGeno = namedtuple('MyGeno', 'normal normal_concat reduce reduce_concat')",
  "LAST = MyGeno(normal=[('skip_connect', 0), ('none', 1)], normal_concat=[2], reduce=[('none', 0), ('none', 1)], reduce_concat=[2])",
  '',
].join('\n');

fuzz('a file with its own namedtuple constructors', OWN_CONSTRUCTOR, 5, 1000);
fuzz('a two-line file', "A = DARTS\nB = Genotype(normal=[('none', 0)], normal_concat=[2], reduce=[], reduce_concat=[2])\n", 4, 500);

test('textChange: the smallest differing range, with common prefix and suffix left out', () => {
  assert.deepEqual(textChange('abcdef', 'abXdef'), { start: 2, oldEnd: 3, newEnd: 3 });
  assert.deepEqual(textChange('aaaa', 'aaaaa'), { start: 4, oldEnd: 4, newEnd: 5 });
  assert.deepEqual(textChange('abc', ''), { start: 0, oldEnd: 3, newEnd: 0 });
  assert.deepEqual(textChange('same', 'same'), { start: 4, oldEnd: 4, newEnd: 4 });
});

test('an edit inside one statement keeps every other statement as parsed, moved', () => {
  const text = libraryFile();
  const state = IncrementalAnalysis.of(text);
  const at = text.indexOf("'sep_conv_3x3'", text.length >> 1) + 5;
  const edited = state.update(`${text.slice(0, at)}XX${text.slice(at)}`);
  const before = state.doc.file.statements;
  const after = edited.doc.file.statements;
  assert.equal(after.length, before.length);
  // Statements above the edit are the very same objects; below it, equal but for spans moved by 2.
  const touched = after.findIndex((s) => s.span.end > at);
  assert.ok(touched > 0);
  for (let i = 0; i < touched; i++) assert.equal(after[i], before[i]);
  for (let i = touched + 1; i < after.length; i++) assert.equal(after[i]!.span.start, before[i]!.span.start + 2);
  assert.ok(edited.doc.diagnostics.some((d) => d.code === 'unknown-op' && d.span.start < at && at < d.span.end));
});

test('LineIndex.afterEdit = a fresh LineIndex after random edits, line endings mixed and split', () => {
  const rand = prng(6);
  let text = FIXTURE.slice(0, 3000).replace(/\n/g, (nl) => pick(rand, [nl, '\r\n', '\r']));
  let lines = new LineIndex(text);
  for (let n = 0; n < 3000; n++) {
    const next = rand() < 0.3 ? text.slice(0, position(rand, text)) + pick(rand, ['\r', '\n', '\r\n', 'a', '']) + text.slice(position(rand, text)) : randomEdit(rand, text);
    lines = LineIndex.afterEdit(lines, next, textChange(text, next));
    text = next;
    assert.deepStrictEqual(lines, new LineIndex(text), `edit ${n + 1}`);
  }
});

test('LineIndex: a line ends at \\n, \\r\\n or a lone \\r, as LSP counts lines', () => {
  const rand = prng(7);
  for (let n = 0; n < 200; n++) {
    let text = '';
    while (text.length < 200) text += pick(rand, ['a', 'bc', ' ', '\n', '\r', '\r\n', '\n\r', '\r\r', '\n\n']);
    // The reference: split on the three line endings.
    const lines = text.split(/\r\n|\r|\n/);
    const index = new LineIndex(text);
    assert.equal(index.lineCount, lines.length, JSON.stringify(text));
    let offset = 0;
    for (let line = 0; line < lines.length; line++) {
      assert.deepStrictEqual(index.positionAt(offset), { line, character: 0 }, `${JSON.stringify(text)} line ${line}`);
      assert.deepStrictEqual(index.positionAt(offset + lines[line]!.length), { line, character: lines[line]!.length });
      offset += lines[line]!.length;
      offset += text.startsWith('\r\n', offset) ? 2 : offset < text.length ? 1 : 0;
    }
  }
});
