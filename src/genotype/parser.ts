/**
 * The parser of the genotype language: a recursive descent over the tokens of
 * lexer.ts that builds the syntax tree of ast.ts. It never throws: every
 * input, however broken, gives a GenotypeFile with syntax diagnostics, and the
 * parts that could be read are kept (an entry with an operation but no input
 * still appears, with `input` undefined) so that the editor can still hover
 * and complete.
 *
 * Recovery: inside brackets, an error skips to the next ',' or closing
 * bracket of the same level; a line that starts a new statement at column 0
 * (`NAME =`, `from`, `import`, `def`, ...) ends every open bracket, so an
 * unclosed `Genotype(` does not swallow the genotypes after it. At top level
 * an error skips to the next line outside brackets.
 *
 * Decisions worth knowing for the layers above:
 * - Python statements a DARTS `genotypes.py` carries are understood: imports
 *   and `X = namedtuple(...)` (PythonDef; X then also names Genotype calls),
 *   `PRIMITIVES... = [...]` (PrimitivesDef), docstrings (recorded as comments).
 * - Any other well-formed-looking Python statement (`def`, `x = 5`,
 *   `print(...)`, `X = other(...)`) gives one warning with code
 *   `unsupported-statement` over its first line and is skipped (with its
 *   indented block). Text that is not a statement at all gives `syntax`.
 * - Argument errors: `duplicate-argument` (the first value is kept),
 *   `unknown-argument` (data.suggestion holds the closest field name, if any),
 *   `too-many-arguments`; all errors. A missing argument is not reported here
 *   (genotypeOf returns undefined; validation reports it).
 * - Spans: a string literal's span covers its content, without the quotes; a
 *   Comment's text is the raw source slice (including `#`, or the quotes of a
 *   docstring).
 */
import {
  GENOTYPE_FIELDS,
  type AliasDef,
  type Building,
  type ArgNode,
  type CellListNode,
  type Comment,
  type ConcatNode,
  type Diagnostic,
  type EntryNode,
  type GenotypeCallNode,
  type GenotypeDef,
  type GenotypeField,
  type GenotypeFile,
  type Ident,
  type NumberLit,
  type PrimitivesDef,
  type PythonDef,
  type RelatedInfo,
  type Severity,
  type Span,
  type Statement,
  type StringLit,
} from './ast.js';
import type { Cell, Genotype } from './model.js';
import * as lexer from './lexer.js';
import { lex, punctCode, type LexResult, type Tokens } from './lexer.js';

// Local copies: a CommonJS build reads imported bindings through accessors, on every use.
const TK_NAME = lexer.TK_NAME;
const TK_NUMBER = lexer.TK_NUMBER;
const TK_STRING = lexer.TK_STRING;
const TK_PUNCT = lexer.TK_PUNCT;
const TK_EOF = lexer.TK_EOF;
const F_LINE_START = lexer.F_LINE_START;
const F_COL0 = lexer.F_COL0;
const F_INTEGER = lexer.F_INTEGER;
const F_DOUBLE = lexer.F_DOUBLE;
const F_DECODE = lexer.F_DECODE;

const LPAREN = 40;
const RPAREN = 41;
const LBRACKET = 91;
const RBRACKET = 93;
const LBRACE = 123;
const RBRACE = 125;
const COMMA = 44;
const EQUALS = 61;
const DOT = 46;
const MINUS = 45;
const AT = 64;

function closerOf(code: number): number {
  return code === LPAREN ? RPAREN : code === LBRACKET ? RBRACKET : code === LBRACE ? RBRACE : 0;
}

function isCloser(code: number): boolean {
  return code === RPAREN || code === RBRACKET || code === RBRACE;
}

/** Punctuation after a name that makes a line an (unsupported) expression or augmented assignment. */
const EXPRESSION_FOLLOWERS = new Set(['(', '.', '[', ':', '+=', '-=', '*=', '/=', '|=', '&=', '%=', '@=', '^='].map(punctCode));

/** Statements whose indented block is skipped with them. */
const BLOCK_KEYWORDS = new Set([
  'def', 'class', 'if', 'elif', 'else', 'for', 'while', 'with', 'try', 'except', 'finally', 'async', 'match',
]);
/** Keywords that continue a block statement at column 0 rather than start a new one. */
const BLOCK_CONTINUATIONS = new Set(['elif', 'else', 'except', 'finally']);
const SIMPLE_KEYWORDS = new Set([
  'return', 'pass', 'assert', 'del', 'global', 'nonlocal', 'raise', 'print', 'break', 'continue', 'yield', 'await',
]);
/** Keywords that start a statement at column 0 wherever they appear (used to resynchronise). */
const STATEMENT_KEYWORDS = new Set(['from', 'import', 'def', 'class']);

/** Brackets nested deeper than this (only list(...) calls recurse) are refused. */
const MAX_NESTING = 64;

/** A range(a, b) concat longer than this is refused rather than expanded. */
const MAX_RANGE_ITEMS = 4096;

/** Nodes with a syntax error inside them: genotypeOf refuses to read a model from them. */
const incompleteNodes = new WeakSet<object>();

/** A copy of a syntax node (e.g. moved by an edit above it) is as incomplete as its original. */
export function copyCompleteness(original: object, copy: object): void {
  if (incompleteNodes.has(original)) incompleteNodes.add(copy);
}

/**
 * Whether token `i` starts a statement that no recovery of the parser runs
 * past: `NAME =` at column 0 of a new logical line, NAME not a Genotype field
 * (a column-0 `normal=` inside an unclosed Genotype( continues the call). The
 * parser is at top level, with nothing carried over but the callees, at every
 * such token: incremental analysis cuts files into parts there.
 */
export function isStatementBoundary(tokens: Tokens, i: number): boolean {
  return (
    tokens.kind[i] === TK_NAME &&
    (tokens.flags[i]! & (F_LINE_START | F_COL0)) === (F_LINE_START | F_COL0) &&
    i + 1 < tokens.count &&
    tokens.kind[i + 1] === TK_PUNCT &&
    tokens.a[i + 1] === EQUALS &&
    !isField(tokens.text.slice(tokens.start[i], tokens.end[i]))
  );
}

/** The names that build genotypes before a file declares any with namedtuple. */
export const DEFAULT_CALLEES: readonly string[] = ['Genotype'];

const FIELD_SET: ReadonlySet<string> = new Set(GENOTYPE_FIELDS);

function isField(name: string): name is GenotypeField {
  return FIELD_SET.has(name);
}

function isCellListField(field: GenotypeField): boolean {
  return field === 'normal' || field === 'reduce';
}

function isCellList(value: CellListNode | ConcatNode | undefined): value is CellListNode {
  return value !== undefined && 'entries' in value;
}

function isConcat(value: CellListNode | ConcatNode | undefined): value is ConcatNode {
  return value !== undefined && 'items' in value;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

/** The genotype field closest to a misspelt keyword, when it is close enough to be a typo. */
function closestField(name: string): GenotypeField | undefined {
  let best: GenotypeField | undefined;
  let bestDistance = Infinity;
  for (const field of GENOTYPE_FIELDS) {
    const d = editDistance(name.toLowerCase(), field);
    if (d < bestDistance) {
      bestDistance = d;
      best = field;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

const UNSUPPORTED =
  'unsupported statement: only NAME = Genotype(...), aliases (NAME = OTHER), PRIMITIVES = [...], imports and namedtuple declarations are understood';

class Parser {
  private pos = 0;
  /** Index of the end-of-file token (always the last). */
  private readonly last: number;
  /** End offset of the last consumed token. */
  private lastEnd = 0;
  /** Open brackets, innermost last: the code of the expected closer, and whether it closes a Genotype call. */
  private readonly frameClose: number[] = [];
  private readonly frameIsCall: boolean[] = [];
  private lastSyntaxErrorAt = -1;
  /** Names that construct genotypes: Genotype, plus whatever the file declares with namedtuple. */
  readonly callees: Set<string>;
  private readonly kind: Uint8Array;
  private readonly flags: Uint8Array;
  private readonly start: Int32Array;
  private readonly end: Int32Array;
  private readonly code: Int32Array;
  readonly statements: Statement[] = [];
  readonly diagnostics: Diagnostic[] = [];
  readonly docstrings: Comment[] = [];

  constructor(
    private readonly text: string,
    private readonly tokens: Tokens,
    private readonly lexDiagnostics: readonly Diagnostic[],
    /** Token index where parsing stops (a statement start), or -1 to parse to the end. */
    private readonly stop = -1,
    callees: Iterable<string> = DEFAULT_CALLEES,
  ) {
    this.callees = new Set(callees);
    this.last = tokens.count - 1;
    this.kind = tokens.kind;
    this.flags = tokens.flags;
    this.start = tokens.start;
    this.end = tokens.end;
    this.code = tokens.a;
  }

  // ---- token access (tokens are indices) ---------------------------------------

  private peek(offset = 0): number {
    const i = this.pos + offset;
    return i < this.last ? i : this.last;
  }

  private next(): number {
    const i = this.pos;
    if (i < this.last) {
      this.pos++;
      this.lastEnd = this.end[i]!;
    }
    return i;
  }

  private isPunct(i: number, code: number): boolean {
    return this.kind[i] === TK_PUNCT && this.code[i] === code;
  }

  private isName(i: number, name?: string): boolean {
    if (this.kind[i] !== TK_NAME) return false;
    if (name === undefined) return true;
    return this.end[i]! - this.start[i]! === name.length && this.text.startsWith(name, this.start[i]);
  }

  private lineStart(i: number): boolean {
    return (this.flags[i]! & F_LINE_START) !== 0;
  }

  private value(i: number): string {
    return this.tokens.value(i);
  }

  private lineOf(i: number): number {
    return this.tokens.line[i]!;
  }

  private tokenSpan(i: number): Span {
    return { start: this.start[i]!, end: this.end[i]! };
  }

  private ident(i: number): Ident {
    return { text: this.value(i), span: this.tokenSpan(i) };
  }

  private spanFrom(start: number): Span {
    return { start, end: this.lastEnd > start ? this.lastEnd : start };
  }

  private describe(i: number): string {
    const kind = this.kind[i];
    if (kind === TK_EOF) return 'end of file';
    const where = this.lineStart(i) ? ` on line ${this.lineOf(i) + 1}` : '';
    const value = this.value(i);
    if (kind === TK_STRING) {
      const quote = this.flags[i]! & F_DOUBLE ? '"' : "'";
      const shown = value.length > 30 ? `${value.slice(0, 30)}…` : value;
      return `string ${quote}${shown}${quote}${where}`;
    }
    return `'${value}'${where}`;
  }

  // ---- diagnostics --------------------------------------------------------

  private report(
    span: Span,
    message: string,
    code = 'syntax',
    severity: Severity = 'error',
    related?: readonly RelatedInfo[],
    data?: Record<string, unknown>,
  ): void {
    if (code === 'syntax') {
      // One syntax error per place: recovery often meets the same bad token twice.
      if (span.start === this.lastSyntaxErrorAt) return;
      this.lastSyntaxErrorAt = span.start;
    }
    const diagnostic: Diagnostic = related
      ? data
        ? { span, severity, code, message, related, data }
        : { span, severity, code, message, related }
      : data
        ? { span, severity, code, message, data }
        : { span, severity, code, message };
    this.diagnostics.push(diagnostic);
  }

  /** `expected X, found Y`, at the found token; at the end of the previous token when Y is on a later line. */
  private expected(what: string, found: number, related?: readonly RelatedInfo[], atFound = false): void {
    const span: Span =
      this.lineStart(found) && this.pos > 0 && !atFound ? { start: this.lastEnd, end: this.lastEnd } : this.tokenSpan(found);
    this.report(span, `expected ${what}, found ${this.describe(found)}`, 'syntax', 'error', related);
  }

  /** Whether a syntax error was reported (by the scanner or the parser) since `countBefore`, inside [start, lastEnd). */
  private errorsSince(countBefore: number, start: number): boolean {
    for (let k = countBefore; k < this.diagnostics.length; k++) if (this.diagnostics[k]!.code === 'syntax') return true;
    for (const d of this.lexDiagnostics) if (d.span.start >= start && d.span.start < this.lastEnd) return true;
    return false;
  }

  // ---- statement boundaries and skipping ------------------------------------

  /** A token that begins a new top-level statement at column 0. */
  private startsStatement(i: number): boolean {
    if (this.kind[i] === TK_EOF) return true;
    const flags = this.flags[i]!;
    if ((flags & (F_LINE_START | F_COL0)) !== (F_LINE_START | F_COL0) || this.kind[i] !== TK_NAME) return false;
    if (this.isPunct(i + 1, EQUALS)) return true;
    return STATEMENT_KEYWORDS.has(this.value(i));
  }

  /** The current token ends every open bracket (end of file, or a new statement). */
  private atBoundary(): boolean {
    const i = this.peek();
    if (!this.startsStatement(i)) return false;
    if (this.kind[i] === TK_EOF) return true;
    const inCall = this.frameIsCall.length > 0 && this.frameIsCall[this.frameIsCall.length - 1]!;
    return !(inCall && isField(this.value(i)));
  }

  private closesOuterFrame(code: number): boolean {
    for (let k = this.frameClose.length - 2; k >= 0; k--) if (this.frameClose[k] === code) return true;
    return false;
  }

  private closesAnyFrame(code: number): boolean {
    for (let k = this.frameClose.length - 1; k >= 0; k--) if (this.frameClose[k] === code) return true;
    return false;
  }

  /** Inside brackets: skips to the next ',' or closing bracket of this level (unmatched closers are skipped). */
  private skipToSeparator(): void {
    let depth = 0;
    for (;;) {
      const i = this.peek();
      if (this.kind[i] === TK_EOF || this.atBoundary()) return;
      if (this.kind[i] === TK_PUNCT) {
        const code = this.code[i]!;
        if (closerOf(code) !== 0) depth++;
        else if (isCloser(code)) {
          if (depth > 0) depth--;
          else if (this.closesAnyFrame(code)) return;
        } else if (depth === 0 && code === COMMA) return;
      }
      this.next();
    }
  }

  /**
   * At top level: skips the rest of a statement, up to the next line outside
   * brackets (or the next column-0 statement, should brackets be unbalanced).
   * A block statement also skips its indented lines. Returns the end of the
   * last skipped token on the statement's first line.
   */
  private skipStatementRest(firstLine: number, block: boolean): number {
    let depth = 0;
    let firstLineEnd = this.lastEnd;
    for (;;) {
      const i = this.peek();
      if (this.kind[i] === TK_EOF) break;
      if (this.lineStart(i)) {
        if (this.startsStatement(i)) break;
        if (depth <= 0) {
          if (!block) break;
          if (this.flags[i]! & F_COL0 && !(this.kind[i] === TK_NAME && BLOCK_CONTINUATIONS.has(this.value(i)))) break;
        }
      }
      if (this.kind[i] === TK_PUNCT) {
        const code = this.code[i]!;
        if (closerOf(code) !== 0) depth++;
        else if (isCloser(code)) depth--;
      }
      this.next();
      if (this.lineOf(i) === firstLine) firstLineEnd = this.end[i]!;
    }
    return firstLineEnd;
  }

  /** An unsupported statement starting at token `first` (consumed or not): one warning, then skipped. */
  private unsupported(first: number, block: boolean): void {
    if (this.pos === first) this.next();
    const end = this.skipStatementRest(this.lineOf(first), block);
    this.report(
      { start: this.start[first]!, end: Math.max(this.end[first]!, end) },
      `${UNSUPPORTED}; this ${block ? 'block' : 'statement'} is skipped`,
      'unsupported-statement',
      'warning',
    );
  }

  /** After a statement: the line must end here. */
  private endStatement(what: string): void {
    const i = this.peek();
    if (this.lineStart(i)) return;
    this.expected(`end of line after ${what}`, i);
    this.skipStatementRest(this.lineOf(i), false);
  }

  // ---- bracketed sequences ------------------------------------------------

  /**
   * Parses `open item, item, ... close` (the opener is already consumed),
   * with trailing commas, insignificant newlines and recovery. Returns
   * whether the sequence was closed.
   */
  private parseSeq(open: number, isCall: boolean, label: string, item: (index: number) => void): boolean {
    const close = closerOf(this.code[open]!);
    this.frameClose.push(close);
    this.frameIsCall.push(isCall);
    const closeText = close === RPAREN ? ')' : close === RBRACKET ? ']' : '}';
    let closed = false;
    let index = 0;
    for (;;) {
      const i = this.peek();
      if (this.isPunct(i, close)) {
        this.next();
        closed = true;
        break;
      }
      const isPunct = this.kind[i] === TK_PUNCT;
      if (this.atBoundary() || (isPunct && isCloser(this.code[i]!) && this.closesOuterFrame(this.code[i]!))) {
        this.expected(this.toClose(closeText, label, open), i, [{ span: this.tokenSpan(open), message: `${label} opened here` }]);
        break;
      }
      if (isPunct && isCloser(this.code[i]!)) {
        // A closer that matches nothing open: report it and read on.
        this.report(this.tokenSpan(i), `unexpected '${this.value(i)}': nothing open to close (expected ${this.toClose(closeText, label, open)})`);
        this.next();
        continue;
      }
      const before = this.pos;
      item(index++);
      if (this.pos === before) this.skipToSeparator();
      const s = this.peek();
      if (this.isPunct(s, COMMA)) {
        this.next();
        continue;
      }
      if (this.isPunct(s, close) || this.atBoundary() || (this.kind[s] === TK_PUNCT && isCloser(this.code[s]!))) continue;
      this.expected(`',' or '${closeText}'`, s);
      this.skipToSeparator();
      if (this.isPunct(this.peek(), COMMA)) this.next();
    }
    this.frameClose.pop();
    this.frameIsCall.pop();
    return closed;
  }

  private toClose(closeText: string, label: string, open: number): string {
    return `'${closeText}' to close ${label} opened at line ${this.lineOf(open) + 1}`;
  }

  // ---- values ---------------------------------------------------------------

  /** One string per distinct operation name: a file repeats a handful of names thousands of times. */
  private readonly interned = new Map<string, string>();
  /** The last interned string of each shape (length and three characters), checked against the text before any slice is made. */
  private readonly internedByShape = new Map<number, string>();

  private stringLit(i: number): StringLit {
    return {
      value: this.stringValue(i),
      span: { start: this.tokens.a[i]!, end: this.tokens.b[i]! },
      quote: this.flags[i]! & F_DOUBLE ? '"' : "'",
    };
  }

  /** A string token's value, the shared copy; found without slicing the text when a string of its shape was met before. */
  private stringValue(i: number): string {
    const a = this.tokens.a[i]!;
    const b = this.tokens.b[i]!;
    const text = this.text;
    const plain = !(this.flags[i]! & F_DECODE) && b > a;
    let shape = 0;
    if (plain) {
      shape = ((((b - a) * 31 + text.charCodeAt(a)) * 31 + text.charCodeAt(b - 1)) * 31 + text.charCodeAt((a + b) >> 1)) | 0;
      const seen = this.internedByShape.get(shape);
      if (seen !== undefined && seen.length === b - a && text.startsWith(seen, a)) return seen;
    }
    const value = this.value(i);
    let shared = this.interned.get(value);
    if (shared === undefined) {
      shared = value;
      this.interned.set(value, value);
    }
    if (plain) this.internedByShape.set(shape, shared);
    return shared;
  }

  /** The value of an integer token, read off its digits (no substring per number; long ones as Number() reads them). */
  private integerValue(i: number): number {
    const start = this.start[i]!;
    const end = this.end[i]!;
    if (end - start > 15) return Number(this.value(i));
    let value = 0;
    for (let k = start; k < end; k++) value = value * 10 + (this.text.charCodeAt(k) - 48);
    return value;
  }

  /** A non-negative decimal integer; reports and returns undefined otherwise (consuming a bad number). */
  private parseInteger(what: string): NumberLit | undefined {
    const i = this.peek();
    if (this.kind[i] === TK_NUMBER) {
      this.next();
      if (this.flags[i]! & F_INTEGER) return { value: this.integerValue(i), span: this.tokenSpan(i) };
      this.report(this.tokenSpan(i), `expected ${what} (a whole number), found '${this.value(i)}'`);
      return undefined;
    }
    if (this.isPunct(i, MINUS) && this.kind[i + 1] === TK_NUMBER && !this.lineStart(i + 1)) {
      this.next();
      const n = this.next();
      this.report({ start: this.start[i]!, end: this.end[n]! }, `expected ${what} (a non-negative whole number), found '-${this.value(n)}'`);
      return undefined;
    }
    this.expected(what, i);
    return undefined;
  }

  // The items of the hot sequences (entries, cell lists, concat lists) are
  // methods made once per parser, with their state in fields, rather than
  // closures made for every list: these lists do not nest in each other.
  private entryOp: StringLit | undefined;
  private entryInput: NumberLit | undefined;
  private entryCount = 0;
  private cellEntries: EntryNode[] = [];
  private concatItems: NumberLit[] = [];

  private readonly entryItem = (index: number): void => {
    this.entryCount = index + 1;
    const e = this.peek();
    if (index === 0) {
      const kind = this.kind[e];
      if (kind === TK_STRING) {
        this.next();
        this.entryOp = this.stringLit(e);
      } else {
        this.expected("a quoted operation name such as 'sep_conv_3x3'", e);
        if (kind === TK_NAME || kind === TK_NUMBER) this.next();
      }
    } else if (index === 1) {
      this.entryInput = this.parseInteger('an input node index');
    } else if (index === 2) {
      this.report(this.tokenSpan(e), `expected ')' after the input: an entry has two elements ('op', input), found a third, ${this.describe(e)}`);
    }
  };

  private readonly cellItem = (): void => {
    const entry = this.parseEntry();
    if (entry) this.cellEntries.push(entry);
  };

  private readonly concatItem = (): void => {
    const n = this.parseInteger('a node number');
    if (n) this.concatItems.push(n);
  };

  private parseEntry(): EntryNode | undefined {
    const t = this.peek();
    if (!this.isPunct(t, LPAREN) && !this.isPunct(t, LBRACKET)) {
      this.expected("an ('op', input) entry", t);
      const kind = this.kind[t];
      if (kind === TK_STRING || kind === TK_NUMBER || kind === TK_NAME) {
        // Keep a placeholder so that the entries after it keep their positions (and their nodes).
        this.next();
        return { span: this.tokenSpan(t) };
      }
      return undefined;
    }
    const quick = this.wellFormedEntry(t);
    if (quick) return quick;
    const open = this.next();
    const countBefore = this.diagnostics.length;
    this.entryOp = undefined;
    this.entryInput = undefined;
    this.entryCount = 0;
    const closed = this.parseSeq(open, false, this.code[open] === LPAREN ? '(' : '[', this.entryItem);
    // (Read back through a cast: the checker does not see the item callback assign the fields.)
    const op = this.entryOp as StringLit | undefined;
    const input = this.entryInput as NumberLit | undefined;
    if (closed && this.diagnostics.length === countBefore && this.entryCount < 2) {
      const close = this.pos - 1;
      if (this.entryCount === 0) this.expected("a quoted operation name such as 'sep_conv_3x3'", close);
      else this.expected(`',' and an input node index after ${op ? `'${op.value}'` : 'the operation'}`, close);
    }
    const span = this.spanFrom(this.start[open]!);
    if (op && input) return { span, op, input };
    if (op) return { span, op };
    if (input) return { span, input };
    return { span };
  }

  /**
   * The usual entry, `('op', n)` or `('op', n,)`, read straight off the tokens:
   * exactly what the general path (parseSeq with entryItem) gives for these
   * tokens, without its per-token checks; anything else returns undefined
   * and takes the general path.
   */
  private wellFormedEntry(open: number): EntryNode | undefined {
    const kind = this.kind;
    const code = this.code;
    if (kind[open + 1] !== TK_STRING || kind[open + 2] !== TK_PUNCT || code[open + 2] !== COMMA) return undefined;
    const n = open + 3;
    if (kind[n] !== TK_NUMBER || !(this.flags[n]! & F_INTEGER)) return undefined;
    let close = n + 1;
    if (kind[close] === TK_PUNCT && code[close] === COMMA) close++;
    if (kind[close] !== TK_PUNCT || code[close] !== closerOf(code[open]!)) return undefined;
    this.pos = close + 1;
    this.lastEnd = this.end[close]!;
    return {
      span: { start: this.start[open]!, end: this.lastEnd },
      op: this.stringLit(open + 1),
      input: { value: this.integerValue(n), span: this.tokenSpan(n) },
    };
  }

  private parseCellList(): CellListNode | undefined {
    const t = this.peek();
    if (!this.isPunct(t, LBRACKET) && !this.isPunct(t, LPAREN)) {
      this.expected("a list of ('op', input) entries", t);
      return undefined;
    }
    const open = this.next();
    const countBefore = this.diagnostics.length;
    const entries: EntryNode[] = [];
    this.cellEntries = entries;
    this.parseSeq(open, false, this.code[open] === LPAREN ? '(' : '[', this.cellItem);
    const node: CellListNode = { span: this.spanFrom(this.start[open]!), entries };
    if (this.errorsSince(countBefore, node.span.start)) incompleteNodes.add(node);
    return node;
  }

  private parseConcat(): ConcatNode | undefined {
    const t = this.peek();
    const countBefore = this.diagnostics.length;
    const start = this.start[t]!;
    if (this.isPunct(t, LBRACKET) || this.isPunct(t, LPAREN)) {
      const open = this.next();
      const items: NumberLit[] = [];
      this.concatItems = items;
      this.parseSeq(open, false, this.code[open] === LPAREN ? '(' : '[', this.concatItem);
      const node: ConcatNode = { span: this.spanFrom(start), form: 'list', items };
      if (this.errorsSince(countBefore, start)) incompleteNodes.add(node);
      return node;
    }
    if (this.isName(t, 'range') && this.isPunct(t + 1, LPAREN)) return this.parseRange();
    if (this.isName(t, 'list') && this.isPunct(t + 1, LPAREN)) {
      // list(range(2, 6)) or list([2, 3]): the inner concat, spanned by the whole call.
      this.next();
      const open = this.next();
      if (this.frameClose.length > MAX_NESTING) {
        // list(list(list(...))) thousands deep would overflow the stack of this recursive descent.
        this.report(this.tokenSpan(t), `list(...) nested too deeply (more than ${MAX_NESTING} levels)`);
        this.skipToSeparator();
        const node: ConcatNode = { span: this.spanFrom(start), form: 'list', items: [] };
        incompleteNodes.add(node);
        return node;
      }
      this.frameClose.push(RPAREN);
      this.frameIsCall.push(false);
      const inner = this.parseConcat();
      this.frameClose.pop();
      this.frameIsCall.pop();
      if (this.isPunct(this.peek(), RPAREN)) this.next();
      else this.expected(`')' to close list( opened at line ${this.lineOf(open) + 1}`, this.peek());
      const span = this.spanFrom(start);
      const node: ConcatNode = inner?.bounds
        ? { span, form: inner.form, items: inner.items, bounds: inner.bounds }
        : { span, form: inner?.form ?? 'list', items: inner?.items ?? [] };
      if (!inner || incompleteNodes.has(inner) || this.errorsSince(countBefore, start)) incompleteNodes.add(node);
      return node;
    }
    this.expected('a concat list such as [2, 3, 4, 5] or range(2, 6)', t);
    return undefined;
  }

  private parseRange(): ConcatNode {
    const rangeToken = this.next();
    const open = this.next();
    const start = this.start[rangeToken]!;
    const countBefore = this.diagnostics.length;
    const bounds: (NumberLit | undefined)[] = [];
    const closed = this.parseSeq(open, false, 'range(', (index) => {
      if (index >= 2) {
        const e = this.peek();
        this.report(this.tokenSpan(e), `expected ')': range(a, b) takes two bounds here, found a third, ${this.describe(e)}`);
        return;
      }
      bounds[index] = this.parseInteger(index === 0 ? 'the first node of range(a, b)' : 'the end bound of range(a, b)');
    });
    if (closed && this.diagnostics.length === countBefore && bounds.length < 2) {
      const close = this.pos - 1;
      this.expected(bounds.length === 0 ? 'two bounds: range(a, b)' : "',' and the end bound of range(a, b)", close);
    }
    const span = this.spanFrom(start);
    const lo = bounds[0];
    const hi = bounds[1];
    const items: NumberLit[] = [];
    if (lo && hi) {
      if (hi.value - lo.value > MAX_RANGE_ITEMS) {
        this.report(span, `range(${lo.value}, ${hi.value}) is too long for a concat (at most ${MAX_RANGE_ITEMS} nodes)`);
      } else {
        for (let v = lo.value; v < hi.value; v++) items.push({ value: v, span });
      }
    }
    const node: ConcatNode = lo && hi ? { span, form: 'range', items, bounds: [lo, hi] } : { span, form: 'range', items };
    if (!(lo && hi) || this.errorsSince(countBefore, start)) incompleteNodes.add(node);
    return node;
  }

  /** NAME or NAME.NAME...: one Ident spanning the dotted name. */
  private parseDottedName(): Ident {
    const first = this.next();
    let text = this.value(first);
    while (this.isPunct(this.peek(), DOT) && this.kind[this.peek(1)] === TK_NAME && !this.lineStart(this.peek(1))) {
      this.next();
      text += `.${this.value(this.next())}`;
    }
    return { text, span: this.spanFrom(this.start[first]!) };
  }

  // ---- the Genotype call ------------------------------------------------------

  private parseCall(callee: Ident): GenotypeCallNode {
    const open = this.next();
    const args: ArgNode[] = [];
    const byField = new Map<GenotypeField, ArgNode>();
    let positional = 0;
    let keywordSeen = false;
    this.parseSeq(open, true, `${callee.text}(`, () => {
      const t = this.peek();
      const before = this.pos;
      let keyword: Ident | undefined;
      let field: GenotypeField | undefined;
      /** Whether this argument's value is the one the call uses for its field. */
      let counts = true;
      let excess = false;
      if (this.kind[t] === TK_NAME && this.isPunct(t + 1, EQUALS)) {
        this.next();
        this.next();
        keyword = this.ident(t);
        keywordSeen = true;
        const name = keyword.text;
        if (isField(name)) {
          field = name;
          const first = byField.get(field);
          if (first) {
            counts = false;
            this.report(
              keyword.span,
              `duplicate argument '${field}': it is already given${first.keyword ? '' : ' positionally'}; this value is ignored`,
              'duplicate-argument',
              'error',
              [{ span: first.span, message: `first '${field}' here` }],
              { argument: field },
            );
          }
        } else {
          const suggestion = closestField(name);
          this.report(
            keyword.span,
            `unknown argument '${name}' of Genotype: expected one of ${GENOTYPE_FIELDS.join(', ')}${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
            'unknown-argument',
            'error',
            undefined,
            suggestion ? { argument: name, suggestion } : { argument: name },
          );
        }
      } else if (keywordSeen) {
        // Python rejects the call; the value is skipped rather than guessed at.
        this.report(this.tokenSpan(t), 'expected a keyword argument (NAME=value): a positional argument cannot follow keyword arguments');
      } else {
        if (positional < GENOTYPE_FIELDS.length) {
          field = GENOTYPE_FIELDS[positional]!;
          if (byField.has(field)) counts = false;
        } else {
          excess = true;
        }
        positional++;
      }
      let value: CellListNode | ConcatNode | undefined;
      if (field) value = isCellListField(field) ? this.parseCellList() : this.parseConcat();
      else this.skipToSeparator(); // unknown keyword or extra positional argument: its value is not read
      if (this.pos === before) return;
      const span = this.spanFrom(this.start[t]!);
      // Optional properties stay absent rather than undefined.
      const arg: Building<ArgNode> = { span };
      if (field) arg.field = field;
      if (keyword) arg.keyword = keyword;
      if (value) arg.value = value;
      args.push(arg);
      if (excess) {
        this.report(
          span,
          `too many arguments: Genotype takes ${GENOTYPE_FIELDS.length} (${GENOTYPE_FIELDS.join(', ')}); this one is ignored`,
          'too-many-arguments',
        );
      }
      if (field && counts && !byField.has(field)) byField.set(field, arg);
    });
    const call: Building<GenotypeCallNode> = { span: this.spanFrom(callee.span.start), callee, args };
    const normal = byField.get('normal')?.value;
    const normalConcat = byField.get('normal_concat')?.value;
    const reduce = byField.get('reduce')?.value;
    const reduceConcat = byField.get('reduce_concat')?.value;
    if (isCellList(normal)) call.normal = normal;
    if (isConcat(normalConcat)) call.normalConcat = normalConcat;
    if (isCellList(reduce)) call.reduce = reduce;
    if (isConcat(reduceConcat)) call.reduceConcat = reduceConcat;
    return call;
  }

  // ---- statements ---------------------------------------------------------------

  parseFile(): void {
    while (this.pos !== this.stop && this.kind[this.peek()] !== TK_EOF) {
      const t = this.peek();
      if (!this.lineStart(t)) {
        this.expected('end of line', t);
        this.skipStatementRest(this.lineOf(t), false);
        continue;
      }
      this.parseStatement();
    }
  }

  private parseStatement(): void {
    const t = this.peek();
    const kind = this.kind[t];
    if (kind === TK_STRING) {
      this.parseStringStatement();
      return;
    }
    if (kind === TK_NAME) {
      const after = t + 1;
      if (this.isPunct(after, EQUALS) && !this.lineStart(after)) {
        this.parseAssignment();
        return;
      }
      const name = this.value(t);
      if (name === 'import' || name === 'from') {
        this.next();
        this.skipStatementRest(this.lineOf(t), false);
        const def: PythonDef = { kind: 'python', span: this.spanFrom(this.start[t]!), what: 'import' };
        this.statements.push(def);
        return;
      }
      if (BLOCK_KEYWORDS.has(name)) return this.unsupported(t, true);
      if (SIMPLE_KEYWORDS.has(name)) return this.unsupported(t, false);
      if (!this.lineStart(after) && this.kind[after] === TK_PUNCT && EXPRESSION_FOLLOWERS.has(this.code[after]!)) {
        return this.unsupported(t, false);
      }
      this.next();
      this.expected(`'=' after '${name}'`, after);
      this.skipStatementRest(this.lineOf(t), false);
      return;
    }
    if (this.isPunct(t, AT)) return this.unsupported(t, false);
    this.expected('a statement (NAME = Genotype(...), an alias NAME = OTHER, or a # comment)', t, undefined, true);
    this.next();
    this.skipStatementRest(this.lineOf(t), false);
  }

  /** A string on its own (a docstring) is kept as a comment; a string expression is unsupported. */
  private parseStringStatement(): void {
    const first = this.next();
    while (this.kind[this.peek()] === TK_STRING && !this.lineStart(this.peek())) this.next();
    if (this.lineStart(this.peek())) {
      const span = this.spanFrom(this.start[first]!);
      this.docstrings.push({ span, text: this.text.slice(span.start, span.end) });
      return;
    }
    this.unsupported(first, false);
  }

  private parseAssignment(): void {
    const nameToken = this.next();
    this.next(); // '='
    const name = this.ident(nameToken);
    const v = this.peek();
    if (this.lineStart(v)) {
      this.expected(`a value after '${name.text} ='`, v);
      return;
    }
    if (this.kind[v] === TK_NAME) {
      const target = this.parseDottedName();
      const lastPart = target.text.slice(target.text.lastIndexOf('.') + 1);
      const after = this.peek();
      if (this.isPunct(after, LPAREN) && !this.lineStart(after)) {
        if (lastPart === 'namedtuple') {
          // `Genotype = namedtuple('Genotype', '...')`: understood; the name now builds genotypes.
          this.skipStatementRest(this.lineOf(nameToken), false);
          this.callees.add(name.text);
          const def: PythonDef = { kind: 'python', span: this.spanFrom(name.span.start), what: 'namedtuple' };
          this.statements.push(def);
          return;
        }
        if (this.callees.has(lastPart)) {
          const call = this.parseCall(target);
          const def: GenotypeDef = { kind: 'genotype', span: this.spanFrom(name.span.start), name, call };
          this.statements.push(def);
          this.endStatement(`the ${target.text}(...) definition of ${name.text}`);
          return;
        }
        return this.unsupported(nameToken, false);
      }
      if (!target.text.includes('.') && this.lineStart(after)) {
        const def: AliasDef = { kind: 'alias', span: this.spanFrom(name.span.start), name, target };
        this.statements.push(def);
        return;
      }
      return this.unsupported(nameToken, false);
    }
    if ((this.isPunct(v, LBRACKET) || this.isPunct(v, LPAREN)) && name.text.startsWith('PRIMITIVES')) {
      this.parsePrimitives(name);
      return;
    }
    this.unsupported(nameToken, false);
  }

  private parsePrimitives(name: Ident): void {
    const open = this.next();
    const ops: StringLit[] = [];
    this.parseSeq(open, false, this.value(open), () => {
      const t = this.peek();
      if (this.kind[t] === TK_STRING) {
        this.next();
        ops.push(this.stringLit(t));
        return;
      }
      this.expected('a quoted operation name', t);
      if (this.kind[t] === TK_NAME || this.kind[t] === TK_NUMBER) this.next();
    });
    const def: PrimitivesDef = { kind: 'primitives', span: this.spanFrom(name.span.start), name, ops };
    this.statements.push(def);
    this.endStatement(`${name.text} = [...]`);
  }
}

function byStart(a: { span: Span }, b: { span: Span }): number {
  return a.span.start - b.span.start;
}

/** Parses a `.genotype` file or a DARTS-family `genotypes.py`. Never throws. */
export function parse(text: string): GenotypeFile {
  const lexed = lex(text);
  const parsed = parseTokens(lexed, -1, DEFAULT_CALLEES);
  return { text, statements: parsed.statements, comments: parsed.comments, diagnostics: parsed.diagnostics };
}

export interface ParsedRange {
  readonly statements: Statement[];
  /** Comments and docstrings, in document order. */
  readonly comments: Comment[];
  /** Scanner and parser diagnostics, in document order. */
  readonly diagnostics: Diagnostic[];
}

/**
 * Parses scanned tokens, which may cover only part of a text (incremental
 * analysis): from the first token up to token `stop` (-1: to the end), which
 * must start a statement at column 0 (`NAME =`, NAME not a Genotype field);
 * every recovery of the parser halts at such a token, so parsing up to it
 * gives exactly what a parse of the whole text gives there. `callees` are the
 * names that build genotypes at the first token (namedtuple declarations above
 * add to Genotype).
 */
export function parseTokens(lexed: LexResult, stop: number, callees: Iterable<string>): ParsedRange {
  const parser = new Parser(lexed.tokens.text, lexed.tokens, lexed.diagnostics, stop, callees);
  parser.parseFile();
  const comments = parser.docstrings.length > 0 ? [...lexed.comments, ...parser.docstrings].sort(byStart) : lexed.comments;
  const diagnostics = lexed.diagnostics.length > 0 || parser.diagnostics.length > 0 ? [...lexed.diagnostics, ...parser.diagnostics].sort(byStart) : [];
  return { statements: parser.statements, comments, diagnostics };
}

function cellFrom(list: CellListNode | undefined, concat: ConcatNode | undefined): Cell | undefined {
  if (!list || !concat || incompleteNodes.has(list) || incompleteNodes.has(concat)) return undefined;
  const edges = [];
  for (const entry of list.entries) {
    if (!entry.op || !entry.input) return undefined;
    edges.push({ op: entry.op.value, input: entry.input.value });
  }
  return { edges, concat: concat.items.map((item) => item.value), concatStyle: concat.form };
}

/** The model of a Genotype(...) call, or undefined when a cell list or concat is missing or an entry is incomplete. */
export function genotypeOf(call: GenotypeCallNode): Genotype | undefined {
  const normal = cellFrom(call.normal, call.normalConcat);
  const reduce = cellFrom(call.reduce, call.reduceConcat);
  return normal && reduce ? { normal, reduce } : undefined;
}
