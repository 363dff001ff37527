/**
 * The printer of the genotype language and the document formatter. One
 * stable layout: the name, ` = Genotype(`, one keyword argument per line
 * indented four spaces, each cell list with one intermediate node (two
 * entries) per line, a trailing comma after every argument. Printing keeps
 * the concat style of the model (range(a, b) only when the concat is
 * contiguous) and single quotes unless asked otherwise; parse(print(g)) gives
 * back g, and formatting formatted text changes nothing.
 */
import type { Comment, Diagnostic, GenotypeDef, GenotypeFile, Span, StringLit } from './ast.js';
import { type Cell, type ConcatStyle, type Genotype, isContiguous } from './model.js';
import { genotypeOf } from './parser.js';

export type Quote = "'" | '"';

export interface PrintOptions {
  /** Quote of the operation names; single by default. */
  readonly quote?: Quote;
}

export interface GenotypePrintOptions extends PrintOptions {
  /** The callee, `Genotype` by default (a file may name its namedtuple otherwise). */
  readonly callee?: string;
  /** Indentation of the line holding the definition, repeated on every continuation line. */
  readonly indent?: string;
}

export interface CellPrintOptions extends PrintOptions {
  /** One intermediate node (two entries) per line, the lines indented by `indent` + 4 spaces. */
  readonly multiline?: boolean;
  /** Indentation of the line the list starts on (multiline only). */
  readonly indent?: string;
}

const INDENT = '    ';

/** A Python string literal whose value is exactly `value` (escapes as the lexer decodes them). */
export function quoteString(value: string, quote: Quote = "'"): string {
  let out = quote;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    const code = value.charCodeAt(i);
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

function printEdge(op: string, input: number, quote: Quote): string {
  return `(${quoteString(op, quote)}, ${input})`;
}

/** The `[('op', 0), ...]` list of a cell: on one line, or one intermediate node per line. */
export function printCell(cell: Cell, options: CellPrintOptions = {}): string {
  const quote = options.quote ?? "'";
  const edges = cell.edges.map((e) => printEdge(e.op, e.input, quote));
  if (!options.multiline) return `[${edges.join(', ')}]`;
  if (edges.length === 0) return '[]';
  const indent = options.indent ?? '';
  const lines: string[] = [];
  for (let i = 0; i < edges.length; i += 2) lines.push(`${indent}${INDENT}${edges.slice(i, i + 2).join(', ')},`);
  return `[\n${lines.join('\n')}\n${indent}]`;
}

/** `[2, 3]`, or `range(2, 6)` when the style asks for it and the concat is contiguous. */
export function printConcat(concat: readonly number[], style: ConcatStyle): string {
  if (style === 'range' && isContiguous(concat)) return `range(${concat[0]!}, ${concat[0]! + concat.length})`;
  return `[${concat.join(', ')}]`;
}

/** One `NAME = Genotype(...)` statement in the stable layout, without a trailing newline. */
export function printGenotype(name: string, genotype: Genotype, options: GenotypePrintOptions = {}): string {
  const quote = options.quote ?? "'";
  const indent = options.indent ?? '';
  const inner = indent + INDENT;
  const cell = (c: Cell): string => printCell(c, { quote, multiline: true, indent: inner });
  const concat = (c: Cell): string => printConcat(c.concat, c.concatStyle ?? 'list');
  return [
    `${name} = ${options.callee ?? 'Genotype'}(`,
    `${inner}normal=${cell(genotype.normal)},`,
    `${inner}normal_concat=${concat(genotype.normal)},`,
    `${inner}reduce=${cell(genotype.reduce)},`,
    `${inner}reduce_concat=${concat(genotype.reduce)},`,
    `${indent})`,
  ].join('\n');
}

export function printAlias(name: string, target: string): string {
  return `${name} = ${target}`;
}

function overlaps(a: Span, b: Span): boolean {
  // Zero-width spans (a missing token at a point) count when they fall inside.
  return a.start < b.end && b.start < a.end || (a.start === a.end && a.start >= b.start && a.start <= b.end);
}

/** The quote most operations of a definition are written with (single when tied or none). */
function dominantQuote(def: GenotypeDef): Quote {
  let single = 0;
  let double = 0;
  const count = (op: StringLit | undefined): void => {
    if (op?.quote === '"') double++;
    else if (op?.quote === "'") single++;
  };
  for (const entry of def.call.normal?.entries ?? []) count(entry.op);
  for (const entry of def.call.reduce?.entries ?? []) count(entry.op);
  return double > single ? '"' : "'";
}

/** The whitespace before the definition on its line, or undefined when other text precedes it. */
function leadingIndent(text: string, offset: number): string | undefined {
  let i = offset;
  while (i > 0) {
    const c = text.charCodeAt(i - 1);
    if (c === 10 || c === 13 || (c === 0xfeff && i === 1)) break; // a byte-order mark opens the first line
    if (c !== 32 && c !== 9) return undefined;
    i--;
  }
  return text.slice(i, offset);
}

/**
 * Edits that format a document: each Genotype definition reprinted stably;
 * comments outside definitions and aliases kept; a definition with syntax
 * errors or comments inside it is left untouched.
 */
export function formatEdits(file: GenotypeFile): { span: Span; newText: string }[] {
  const edits: { span: Span; newText: string }[] = [];
  for (const statement of file.statements) {
    if (statement.kind !== 'genotype') continue;
    const span = statement.span;
    if (file.diagnostics.some((d: Diagnostic) => overlaps(d.span, span))) continue;
    if (file.comments.some((c: Comment) => c.span.start >= span.start && c.span.start < span.end)) continue;
    const genotype = genotypeOf(statement.call);
    if (!genotype) continue;
    const indent = leadingIndent(file.text, span.start);
    if (indent === undefined) continue;
    const newText = printGenotype(statement.name.text, genotype, {
      quote: dominantQuote(statement),
      callee: statement.call.callee.text,
      indent,
    });
    if (file.text.slice(span.start, span.end) !== newText) edits.push({ span, newText });
  }
  return edits;
}
