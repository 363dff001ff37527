/**
 * Generated and mutated files: valid files in every supported form must parse
 * exactly (no diagnostics, the generated models back); broken ones must never
 * make the parser throw or produce a span outside the text; an error confined
 * to one definition must leave every other definition intact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse, genotypeOf } from '../../src/genotype/parser.js';
import type { GenotypeDef, GenotypeFile, Statement } from '../../src/genotype/ast.js';
import { sameGenotype, type Cell, type Genotype } from '../../src/genotype/model.js';
import { mulberry32 as prng } from '../../src/shared/mulberry32.js';


type Rand = () => number;
const int = (rand: Rand, n: number): number => Math.floor(rand() * n);
const pick = <T>(rand: Rand, items: readonly T[]): T => items[int(rand, items.length)]!;
const chance = (rand: Rand, p: number): boolean => rand() < p;

const OPS = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5', 'conv 7x1 # not a comment', 'ünï_😀'];

interface Written {
  readonly name: string;
  readonly genotype: Genotype;
}

function randomCell(rand: Rand): Cell {
  const nodes = int(rand, 6);
  const edges = [];
  for (let i = 0; i < 2 * nodes; i++) edges.push({ op: pick(rand, OPS), input: int(rand, 2 + Math.floor(i / 2)) });
  const all = Array.from({ length: nodes }, (_, i) => i + 2);
  const concat = chance(rand, 0.6) ? all : all.filter(() => chance(rand, 0.5));
  const contiguous = concat.length > 0 && concat.every((n, i) => n === concat[0]! + i);
  return { edges, concat, concatStyle: contiguous && chance(rand, 0.5) ? 'range' : 'list' };
}

/** Whitespace between tokens inside brackets: spaces, newlines, comments, backslash continuations. */
function gap(rand: Rand, nl: string): string {
  const r = rand();
  if (r < 0.55) return chance(rand, 0.7) ? ' ' : '';
  if (r < 0.75) return `${nl}${' '.repeat(1 + int(rand, 8))}`;
  if (r < 0.85) return `  # note ${int(rand, 100)}${nl}    `;
  if (r < 0.92) return `\t`;
  return ` \\${nl}  `;
}

function writeCell(rand: Rand, cell: Cell, nl: string): string {
  const entries = cell.edges.map((e) => {
    const q = chance(rand, 0.5) ? "'" : '"';
    const [open, close] = chance(rand, 0.8) ? ['(', ')'] : ['[', ']'];
    const trailing = chance(rand, 0.1) ? ',' : '';
    return `${open}${gap(rand, nl)}${q}${e.op}${q}${gap(rand, nl)},${gap(rand, nl)}${e.input}${trailing}${gap(rand, nl)}${close}`;
  });
  const trailing = entries.length > 0 && chance(rand, 0.3) ? ',' : '';
  return `[${gap(rand, nl)}${entries.map((e) => e + gap(rand, nl)).join(`,${gap(rand, nl)}`)}${trailing}]`;
}

function writeConcat(rand: Rand, cell: Cell, nl: string): string {
  if (cell.concatStyle === 'range') {
    const lo = cell.concat[0]!;
    return `range(${gap(rand, nl)}${lo},${gap(rand, nl)}${lo + cell.concat.length}${chance(rand, 0.1) ? ',' : ''})`;
  }
  return `[${cell.concat.join(`,${gap(rand, nl)}`)}${cell.concat.length > 0 && chance(rand, 0.2) ? ',' : ''}]`;
}

function writeGenotype(rand: Rand, name: string, g: Genotype, nl: string): string {
  const values = [writeCell(rand, g.normal, nl), writeConcat(rand, g.normal, nl), writeCell(rand, g.reduce, nl), writeConcat(rand, g.reduce, nl)];
  const fields = ['normal', 'normal_concat', 'reduce', 'reduce_concat'];
  let args: string[];
  if (chance(rand, 0.25)) {
    args = values;
  } else {
    const order = [0, 1, 2, 3].sort(() => rand() - 0.5);
    args = order.map((i) => `${fields[i]}${chance(rand, 0.3) ? ' = ' : '='}${values[i]}`);
  }
  const sep = () => `,${gap(rand, nl)}`;
  const trailing = chance(rand, 0.4) ? ',' : '';
  return `${name} = Genotype(${gap(rand, nl)}${args.join(sep())}${trailing}${gap(rand, nl)})`;
}

/** A valid file and what it defines. */
function randomFile(rand: Rand, minGenotypes = 0): { text: string; written: Written[]; aliases: string[] } {
  const nl = chance(rand, 0.2) ? '\r\n' : '\n';
  const lines: string[] = [];
  const written: Written[] = [];
  const aliases: string[] = [];
  if (chance(rand, 0.2)) lines.push('"""Genotypes."""', 'from collections import namedtuple', "Genotype = namedtuple('Genotype', 'normal normal_concat reduce reduce_concat')");
  if (chance(rand, 0.1)) lines.push("PRIMITIVES = ['none', 'skip_connect', 'extra_op']");
  const count = minGenotypes + int(rand, 5);
  for (let k = 0; k < count; k++) {
    if (chance(rand, 0.3)) lines.push(`# genotype ${k}: ünïcode ✓ 😀`);
    if (chance(rand, 0.2)) lines.push('');
    const name = `G_${k}`;
    const genotype = { normal: randomCell(rand), reduce: randomCell(rand) };
    lines.push(writeGenotype(rand, name, genotype, nl) + (chance(rand, 0.2) ? '  # trailing' : ''));
    written.push({ name, genotype });
    if (chance(rand, 0.3)) {
      lines.push(`ALIAS_${k} = ${name}`);
      aliases.push(`ALIAS_${k}=${name}`);
    }
  }
  return { text: lines.join(nl) + (chance(rand, 0.5) ? nl : ''), written, aliases };
}

function defsOf(file: GenotypeFile): GenotypeDef[] {
  return file.statements.filter((s): s is GenotypeDef => s.kind === 'genotype');
}

function aliasesOf(statements: readonly Statement[]): string[] {
  return statements.flatMap((s) => (s.kind === 'alias' ? [`${s.name.text}=${s.target.text}`] : []));
}

/** Every span anywhere in the file (nodes, literals, diagnostics, related info) lies within the text. */
function checkSpans(file: GenotypeFile, text: string): void {
  const seen = new Set<object>();
  const visit = (value: unknown, path: string): void => {
    if (value === null || typeof value !== 'object' || seen.has(value)) return;
    seen.add(value);
    const obj = value as Record<string, unknown>;
    if (typeof obj['start'] === 'number' && typeof obj['end'] === 'number') {
      const { start, end } = obj as { start: number; end: number };
      assert.ok(Number.isInteger(start) && Number.isInteger(end), `${path}: non-integer span`);
      assert.ok(start >= 0 && start <= end && end <= text.length, `${path}: span [${start}, ${end}) outside [0, ${text.length}]`);
      return;
    }
    for (const [key, child] of Object.entries(obj)) if (key !== 'text' || typeof child !== 'string') visit(child, `${path}.${key}`);
  };
  visit({ statements: file.statements, comments: file.comments, diagnostics: file.diagnostics }, 'file');
  for (let i = 1; i < file.statements.length; i++) {
    assert.ok(file.statements[i - 1]!.span.end <= file.statements[i]!.span.start, 'statements overlap or are out of order');
  }
  for (let i = 1; i < file.comments.length; i++) {
    assert.ok(file.comments[i - 1]!.span.end <= file.comments[i]!.span.start, 'comments overlap or are out of order');
  }
  for (const c of file.comments) assert.equal(c.text, text.slice(c.span.start, c.span.end));
  for (const d of file.diagnostics) assert.ok(d.message.length > 0 && d.code.length > 0);
}

const PUNCTUATION = ['(', ')', '[', ']', '{', '}', ',', '=', ':', '.', '-', '+', '@', '!', '#', "'", '"', "'''", '"""', '\\', '\\\n', '\n', '\r\n', '\r', ' ', '\t', '0', '99', '1.5', 'range', 'Genotype(', 'normal=', 'x ='];
const UNICODE = ['é', 'ß', '中', '€', '\u00a0', '\u2028', '\ufeff', '😀', '𝒢', '\ud83d', '\ude00', '\u0000', '\u001b', '\u200b'];

function mutate(rand: Rand, text: string): string {
  let out = text;
  const times = 1 + int(rand, 5);
  for (let m = 0; m < times; m++) {
    const at = int(rand, out.length + 1);
    const r = rand();
    if (r < 0.3) {
      out = out.slice(0, at) + out.slice(at + 1 + int(rand, 12));
    } else if (r < 0.6) {
      out = out.slice(0, at) + pick(rand, PUNCTUATION) + out.slice(at);
    } else if (r < 0.75) {
      out = out.slice(0, at) + pick(rand, UNICODE) + out.slice(at);
    } else if (r < 0.85) {
      out = out.slice(0, at);
    } else if (r < 0.95) {
      const from = int(rand, out.length + 1);
      out = out.slice(0, at) + out.slice(from, from + int(rand, 40)) + out.slice(at);
    } else {
      out = out.replace(/\n/g, '\r\n');
    }
  }
  return out;
}

test('generated valid files parse exactly: no diagnostics, the written models and aliases back', () => {
  const rand = prng(1909_09569);
  for (let n = 0; n < 1000; n++) {
    const { text, written, aliases } = randomFile(rand);
    const file = parse(text);
    assert.deepEqual(file.diagnostics, [], text);
    checkSpans(file, text);
    const defs = defsOf(file);
    assert.deepEqual(defs.map((d) => d.name.text), written.map((w) => w.name), text);
    defs.forEach((def, i) => {
      const model = genotypeOf(def.call);
      const expected = written[i]!.genotype;
      assert.ok(model && sameGenotype(model, expected), text);
      assert.equal(model.normal.concatStyle, expected.normal.concatStyle, text);
      assert.equal(model.reduce.concatStyle, expected.reduce.concatStyle, text);
      for (const entry of [...def.call.normal!.entries, ...def.call.reduce!.entries]) {
        assert.equal(text.slice(entry.op!.span.start, entry.op!.span.end), entry.op!.value);
        assert.equal(text.slice(entry.input!.span.start, entry.input!.span.end), String(entry.input!.value));
      }
    });
    assert.deepEqual(aliasesOf(file.statements), aliases);
  }
});

test('mutated files never throw, and every span stays within the text', () => {
  const rand = prng(42);
  for (let n = 0; n < 2000; n++) {
    const text = mutate(rand, randomFile(rand).text);
    let file: GenotypeFile;
    try {
      file = parse(text);
    } catch (error) {
      assert.fail(`parse threw on ${JSON.stringify(text)}: ${String(error)}`);
    }
    assert.equal(file.text, text);
    checkSpans(file, text);
    for (const def of defsOf(file)) {
      const model = genotypeOf(def.call);
      if (model) for (const e of [...model.normal.edges, ...model.reduce.edges]) assert.ok(typeof e.op === 'string' && Number.isInteger(e.input) && e.input >= 0);
    }
  }
});

test('random text and random bytes of unicode never throw', () => {
  const rand = prng(3);
  const alphabet = [...PUNCTUATION, ...UNICODE, 'a', 'Genotype', 'normal', '_', ' ', '\n'];
  for (let n = 0; n < 1000; n++) {
    let text = '';
    const length = int(rand, 80);
    for (let i = 0; i < length; i++) text += chance(rand, 0.1) ? String.fromCharCode(int(rand, 0x10000)) : pick(rand, alphabet);
    checkSpans(parse(text), text);
  }
});

test('an error confined to one definition leaves every other definition and alias intact', () => {
  const rand = prng(2020);
  // No quotes (they could join into a triple-quoted string) and no backslashes (a continuation joins lines).
  const safe = PUNCTUATION.filter((p) => !/['"\\]/.test(p));
  for (let n = 0; n < 700; n++) {
    const { text, written, aliases } = randomFile(rand, 3);
    const file = parse(text);
    const defs = defsOf(file);
    const k = int(rand, defs.length);
    const target = defs[k]!.span;
    const at = target.start + int(rand, target.end - target.start);
    const mutated = chance(rand, 0.5)
      ? text.slice(0, at) + text.slice(at, target.end).slice(1 + int(rand, Math.max(1, target.end - at - 1))) + text.slice(target.end)
      : text.slice(0, at) + (chance(rand, 0.8) ? pick(rand, safe) : pick(rand, UNICODE)) + text.slice(at);
    const after = parse(mutated);
    checkSpans(after, mutated);
    const byName = new Map(defsOf(after).map((d) => [d.name.text, d]));
    written.forEach((w, i) => {
      if (i === k) return;
      const def = byName.get(w.name);
      assert.ok(def, `${w.name} lost after a change in ${written[k]!.name}:\n${mutated}`);
      const model = genotypeOf(def.call);
      assert.ok(model && sameGenotype(model, w.genotype), `${w.name} changed after a change in ${written[k]!.name}:\n${mutated}`);
    });
    assert.deepEqual(aliasesOf(after.statements).filter((a) => aliases.includes(a)), aliases, mutated);
  }
});
