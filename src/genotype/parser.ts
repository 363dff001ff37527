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
import { lex, type Token } from './lexer.js';

const CLOSER_OF: Readonly<Record<string, string>> = { '(': ')', '[': ']', '{': '}' };
const CLOSERS = new Set([')', ']', '}']);

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

/** A range(a, b) concat longer than this is refused rather than expanded. */
const MAX_RANGE_ITEMS = 4096;

/** Nodes with a syntax error inside them: genotypeOf refuses to read a model from them. */
const incompleteNodes = new WeakSet<object>();

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

function describe(t: Token): string {
  if (t.kind === 'eof') return 'end of file';
  const where = t.lineStart ? ` on line ${t.line + 1}` : '';
  if (t.kind === 'string') {
    const shown = t.value.length > 30 ? `${t.value.slice(0, 30)}…` : t.value;
    return `string ${t.quote}${shown}${t.quote}${where}`;
  }
  return `'${t.value}'${where}`;
}

interface Frame {
  readonly close: string;
  /** Inside the argument list of a Genotype call, a `normal=` line at column 0 is an argument, not a new statement. */
  readonly context: 'call' | 'list';
}

class Parser {
  private pos = 0;
  /** End offset of the last consumed token. */
  private lastEnd = 0;
  private readonly frames: Frame[] = [];
  private lastSyntaxErrorAt = -1;
  /** Names that construct genotypes: Genotype, plus whatever the file declares with namedtuple. */
  private readonly callees = new Set(['Genotype']);
  readonly statements: Statement[] = [];
  readonly diagnostics: Diagnostic[] = [];
  readonly docstrings: Comment[] = [];

  constructor(
    private readonly text: string,
    private readonly tokens: readonly Token[],
    private readonly lexDiagnostics: readonly Diagnostic[],
  ) {}

  // ---- token access -------------------------------------------------------

  private peek(k = 0): Token {
    const index = Math.min(this.pos + k, this.tokens.length - 1);
    return this.tokens[index]!;
  }

  private next(): Token {
    const t = this.tokens[this.pos]!;
    if (t.kind !== 'eof') {
      this.pos++;
      this.lastEnd = t.end;
    }
    return t;
  }

  private isPunct(t: Token, value: string): boolean {
    return t.kind === 'punct' && t.value === value;
  }

  private ident(t: Token): Ident {
    return { text: t.value, span: { start: t.start, end: t.end } };
  }

  private spanFrom(start: number): Span {
    return { start, end: Math.max(start, this.lastEnd) };
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
    this.diagnostics.push({ span, severity, code, message, ...(related ? { related } : {}), ...(data ? { data } : {}) });
  }

  /** `expected X, found Y`, at the found token; at the end of the previous token when Y is on a later line. */
  private expected(what: string, found: Token, related?: readonly RelatedInfo[], atFound = false): void {
    const span: Span =
      found.lineStart && this.pos > 0 && !atFound ? { start: this.lastEnd, end: this.lastEnd } : { start: found.start, end: found.end };
    this.report(span, `expected ${what}, found ${describe(found)}`, 'syntax', 'error', related);
  }

  /** Whether a syntax error was reported (by the scanner or the parser) inside [start, lastEnd). */
  private errorsSince(countBefore: number, start: number): boolean {
    if (this.diagnostics.length > countBefore) {
      for (let k = countBefore; k < this.diagnostics.length; k++) if (this.diagnostics[k]!.code === 'syntax') return true;
    }
    for (const d of this.lexDiagnostics) if (d.span.start >= start && d.span.start < this.lastEnd) return true;
    return false;
  }

  // ---- statement boundaries and skipping ------------------------------------

  /** A token that begins a new top-level statement at column 0. */
  private startsStatement(offset: number): boolean {
    const t = this.peek(offset);
    if (t.kind === 'eof') return true;
    if (!t.lineStart || !t.col0 || t.kind !== 'name') return false;
    if (STATEMENT_KEYWORDS.has(t.value)) return true;
    return this.isPunct(this.peek(offset + 1), '=');
  }

  /** The current token ends every open bracket (end of file, or a new statement). */
  private atBoundary(): boolean {
    const t = this.peek();
    if (t.kind === 'eof') return true;
    if (!this.startsStatement(0)) return false;
    const top = this.frames[this.frames.length - 1];
    return !(top?.context === 'call' && isField(t.value));
  }

  private closesOuterFrame(value: string): boolean {
    for (let k = this.frames.length - 2; k >= 0; k--) if (this.frames[k]!.close === value) return true;
    return false;
  }

  private closesAnyFrame(value: string): boolean {
    for (let k = this.frames.length - 1; k >= 0; k--) if (this.frames[k]!.close === value) return true;
    return false;
  }

  /** Inside brackets: skips to the next ',' or closing bracket of this level (unmatched closers are skipped). */
  private skipToSeparator(): void {
    let depth = 0;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof' || this.atBoundary()) return;
      if (t.kind === 'punct') {
        if (CLOSER_OF[t.value] !== undefined) depth++;
        else if (CLOSERS.has(t.value)) {
          if (depth > 0) depth--;
          else if (this.closesAnyFrame(t.value)) return;
        } else if (depth === 0 && t.value === ',') return;
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
      const t = this.peek();
      if (t.kind === 'eof') break;
      if (t.lineStart) {
        if (this.startsStatement(0)) break;
        if (depth <= 0) {
          if (!block) break;
          if (t.col0 && !(t.kind === 'name' && BLOCK_CONTINUATIONS.has(t.value))) break;
        }
      }
      if (t.kind === 'punct') {
        if (CLOSER_OF[t.value] !== undefined) depth++;
        else if (CLOSERS.has(t.value)) depth--;
      }
      this.next();
      if (t.line === firstLine) firstLineEnd = t.end;
    }
    return firstLineEnd;
  }

  private unsupported(first: Token, block: boolean): void {
    if (this.pos < this.tokens.length && this.peek() === first) this.next();
    const end = this.skipStatementRest(first.line, block);
    this.report(
      { start: first.start, end: Math.max(first.end, end) },
      `unsupported statement: only NAME = Genotype(...), aliases (NAME = OTHER), PRIMITIVES = [...], imports and namedtuple declarations are understood; this ${block ? 'block' : 'statement'} is skipped`,
      'unsupported-statement',
      'warning',
    );
  }

  /** After a statement: the line must end here. */
  private endStatement(what: string): void {
    const t = this.peek();
    if (t.lineStart) return;
    this.expected(`end of line after ${what}`, t);
    this.skipStatementRest(t.line, false);
  }

  // ---- bracketed sequences ------------------------------------------------

  /**
   * Parses `open item, item, ... close` (the opener is already consumed),
   * with trailing commas, insignificant newlines and recovery. Returns the
   * closing token, or undefined when the sequence was left unclosed.
   */
  private parseSeq(open: Token, context: Frame['context'], label: string, item: (index: number) => void): Token | undefined {
    const close = CLOSER_OF[open.value]!;
    this.frames.push({ close, context });
    const related: RelatedInfo[] = [{ span: { start: open.start, end: open.end }, message: `${label} opened here` }];
    let closeToken: Token | undefined;
    let index = 0;
    for (;;) {
      const t = this.peek();
      if (this.isPunct(t, close)) {
        closeToken = this.next();
        break;
      }
      if (this.atBoundary() || (t.kind === 'punct' && CLOSERS.has(t.value) && this.closesOuterFrame(t.value))) {
        this.expected(`'${close}' to close ${label} opened at line ${open.line + 1}`, t, related);
        break;
      }
      if (t.kind === 'punct' && CLOSERS.has(t.value)) {
        // A closer that matches nothing open: report it and read on.
        this.report({ start: t.start, end: t.end }, `unexpected '${t.value}': nothing open to close (expected '${close}' to close ${label} opened at line ${open.line + 1})`);
        this.next();
        continue;
      }
      const before = this.pos;
      item(index++);
      if (this.pos === before) this.skipToSeparator();
      const s = this.peek();
      if (this.isPunct(s, ',')) {
        this.next();
        continue;
      }
      if (this.isPunct(s, close) || this.atBoundary() || (s.kind === 'punct' && CLOSERS.has(s.value))) continue;
      this.expected(`',' or '${close}'`, s);
      this.skipToSeparator();
      if (this.isPunct(this.peek(), ',')) this.next();
    }
    this.frames.pop();
    return closeToken;
  }

  // ---- values ---------------------------------------------------------------

  private stringLit(t: Token): StringLit {
    return { value: t.value, span: { start: t.contentStart!, end: t.contentEnd! }, quote: t.quote! };
  }

  /** A non-negative decimal integer; reports and returns undefined otherwise (consuming a bad number). */
  private parseInteger(what: string): NumberLit | undefined {
    const t = this.peek();
    if (t.kind === 'number') {
      this.next();
      if (t.integer) return { value: Number(t.value), span: { start: t.start, end: t.end } };
      this.report({ start: t.start, end: t.end }, `expected ${what} (a whole number), found '${t.value}'`);
      return undefined;
    }
    if (this.isPunct(t, '-') && this.peek(1).kind === 'number' && !this.peek(1).lineStart) {
      this.next();
      const n = this.next();
      this.report({ start: t.start, end: n.end }, `expected ${what} (a non-negative whole number), found '-${n.value}'`);
      return undefined;
    }
    this.expected(what, t);
    return undefined;
  }

  private parseEntry(): EntryNode | undefined {
    const t = this.peek();
    if (!this.isPunct(t, '(') && !this.isPunct(t, '[')) {
      this.expected("an ('op', input) entry", t);
      if (t.kind === 'string' || t.kind === 'number' || t.kind === 'name') {
        // Keep a placeholder so that the entries after it keep their positions (and their nodes).
        this.next();
        return { span: { start: t.start, end: t.end } };
      }
      return undefined;
    }
    const open = this.next();
    const countBefore = this.diagnostics.length;
    let op: StringLit | undefined;
    let input: NumberLit | undefined;
    let count = 0;
    const close = this.parseSeq(open, 'list', open.value, (index) => {
      count = index + 1;
      const e = this.peek();
      if (index === 0) {
        if (e.kind === 'string') {
          this.next();
          op = this.stringLit(e);
        } else {
          this.expected("a quoted operation name such as 'sep_conv_3x3'", e);
          if (e.kind === 'name' || e.kind === 'number') this.next();
        }
      } else if (index === 1) {
        input = this.parseInteger('an input node index');
      } else if (index === 2) {
        this.report({ start: e.start, end: e.end }, `expected ')' after the input: an entry has two elements ('op', input), found a third, ${describe(e)}`);
      }
    });
    if (close && this.diagnostics.length === countBefore) {
      if (count === 0) this.expected("a quoted operation name such as 'sep_conv_3x3'", close);
      else if (count === 1) this.expected(`',' and an input node index after ${op ? `'${op.value}'` : 'the operation'}`, close);
    }
    const span = this.spanFrom(open.start);
    return { span, ...(op ? { op } : {}), ...(input ? { input } : {}) };
  }

  private parseCellList(): CellListNode | undefined {
    const t = this.peek();
    if (!this.isPunct(t, '[') && !this.isPunct(t, '(')) {
      this.expected("a list of ('op', input) entries", t);
      return undefined;
    }
    const open = this.next();
    const countBefore = this.diagnostics.length;
    const entries: EntryNode[] = [];
    this.parseSeq(open, 'list', open.value, () => {
      const entry = this.parseEntry();
      if (entry) entries.push(entry);
    });
    const node: CellListNode = { span: this.spanFrom(open.start), entries };
    if (this.errorsSince(countBefore, open.start)) incompleteNodes.add(node);
    return node;
  }

  private parseConcat(): ConcatNode | undefined {
    const t = this.peek();
    const countBefore = this.diagnostics.length;
    if (this.isPunct(t, '[') || this.isPunct(t, '(')) {
      const open = this.next();
      const items: NumberLit[] = [];
      this.parseSeq(open, 'list', open.value, () => {
        const n = this.parseInteger('a node number');
        if (n) items.push(n);
      });
      const node: ConcatNode = { span: this.spanFrom(open.start), form: 'list', items };
      if (this.errorsSince(countBefore, open.start)) incompleteNodes.add(node);
      return node;
    }
    if (t.kind === 'name' && t.value === 'range' && this.isPunct(this.peek(1), '(')) return this.parseRange();
    if (t.kind === 'name' && t.value === 'list' && this.isPunct(this.peek(1), '(')) {
      // list(range(2, 6)) or list([2, 3]): the inner concat, spanned by the whole call.
      this.next();
      const open = this.next();
      this.frames.push({ close: ')', context: 'list' });
      const inner = this.parseConcat();
      this.frames.pop();
      if (this.isPunct(this.peek(), ')')) this.next();
      else this.expected(`')' to close list( opened at line ${open.line + 1}`, this.peek());
      const node: ConcatNode = {
        span: this.spanFrom(t.start),
        form: inner?.form ?? 'list',
        items: inner?.items ?? [],
        ...(inner?.bounds ? { bounds: inner.bounds } : {}),
      };
      if (!inner || this.errorsSince(countBefore, t.start) || incompleteNodes.has(inner)) incompleteNodes.add(node);
      return node;
    }
    this.expected('a concat list such as [2, 3, 4, 5] or range(2, 6)', t);
    return undefined;
  }

  private parseRange(): ConcatNode {
    const rangeToken = this.next();
    const open = this.next();
    const countBefore = this.diagnostics.length;
    const bounds: (NumberLit | undefined)[] = [];
    const close = this.parseSeq(open, 'list', 'range(', (index) => {
      if (index >= 2) {
        const e = this.peek();
        this.report({ start: e.start, end: e.end }, `expected ')': range(a, b) takes two bounds here, found a third, ${describe(e)}`);
        return;
      }
      bounds[index] = this.parseInteger(index === 0 ? 'the first node of range(a, b)' : 'the end bound of range(a, b)');
    });
    if (close && this.diagnostics.length === countBefore && bounds.length < 2) {
      this.expected(bounds.length === 0 ? 'two bounds: range(a, b)' : "',' and the end bound of range(a, b)", close);
    }
    const span = this.spanFrom(rangeToken.start);
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
    const node: ConcatNode = { span, form: 'range', items, ...(lo && hi ? { bounds: [lo, hi] as const } : {}) };
    if (!(lo && hi) || this.errorsSince(countBefore, rangeToken.start)) incompleteNodes.add(node);
    return node;
  }

  /** NAME or NAME.NAME...: one Ident spanning the dotted name. */
  private parseDottedName(): Ident {
    const first = this.next();
    let text = first.value;
    while (this.isPunct(this.peek(), '.') && this.peek(1).kind === 'name' && !this.peek(1).lineStart) {
      this.next();
      text += `.${this.next().value}`;
    }
    return { text, span: this.spanFrom(first.start) };
  }

  // ---- the Genotype call ------------------------------------------------------

  private parseCall(callee: Ident): GenotypeCallNode {
    const open = this.next();
    const args: ArgNode[] = [];
    const byField = new Map<GenotypeField, ArgNode>();
    let positional = 0;
    let keywordSeen = false;
    this.parseSeq(open, 'call', `${callee.text}(`, () => {
      const t = this.peek();
      const before = this.pos;
      let keyword: Ident | undefined;
      let field: GenotypeField | undefined;
      /** Whether this argument's value is the one the call uses for its field. */
      let counts = true;
      let excess = false;
      if (t.kind === 'name' && this.isPunct(this.peek(1), '=')) {
        this.next();
        this.next();
        keyword = this.ident(t);
        keywordSeen = true;
        if (isField(t.value)) {
          field = t.value;
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
          const suggestion = closestField(t.value);
          this.report(
            keyword.span,
            `unknown argument '${t.value}' of Genotype: expected one of ${GENOTYPE_FIELDS.join(', ')}${suggestion ? ` (did you mean '${suggestion}'?)` : ''}`,
            'unknown-argument',
            'error',
            undefined,
            { argument: t.value, ...(suggestion ? { suggestion } : {}) },
          );
        }
      } else {
        if (keywordSeen) {
          // Python rejects the call; the value is skipped rather than guessed at.
          this.report({ start: t.start, end: t.end }, 'expected a keyword argument (NAME=value): a positional argument cannot follow keyword arguments');
        } else if (positional < GENOTYPE_FIELDS.length) {
          field = GENOTYPE_FIELDS[positional]!;
          if (byField.has(field)) counts = false;
        } else {
          excess = true;
        }
        if (!keywordSeen) positional++;
      }
      let value: CellListNode | ConcatNode | undefined;
      if (field) {
        value = isCellListField(field) ? this.parseCellList() : this.parseConcat();
      } else {
        // Unknown keyword or extra positional argument: its value is skipped unread.
        this.skipToSeparator();
      }
      if (this.pos === before) return;
      const arg: ArgNode = {
        span: this.spanFrom(t.start),
        ...(field ? { field } : {}),
        ...(keyword ? { keyword } : {}),
        ...(value ? { value } : {}),
      };
      args.push(arg);
      if (excess) {
        this.report(
          arg.span,
          `too many arguments: Genotype takes ${GENOTYPE_FIELDS.length} (${GENOTYPE_FIELDS.join(', ')}); this one is ignored`,
          'too-many-arguments',
        );
      }
      if (field && counts && !byField.has(field)) byField.set(field, arg);
    });
    const normal = byField.get('normal')?.value;
    const normalConcat = byField.get('normal_concat')?.value;
    const reduce = byField.get('reduce')?.value;
    const reduceConcat = byField.get('reduce_concat')?.value;
    return {
      span: this.spanFrom(callee.span.start),
      callee,
      args,
      ...(isCellList(normal) ? { normal } : {}),
      ...(isConcat(normalConcat) ? { normalConcat } : {}),
      ...(isCellList(reduce) ? { reduce } : {}),
      ...(isConcat(reduceConcat) ? { reduceConcat } : {}),
    };
  }

  // ---- statements ---------------------------------------------------------------

  parseFile(): void {
    while (this.peek().kind !== 'eof') {
      const t = this.peek();
      if (!t.lineStart) {
        this.expected('end of line', t);
        this.skipStatementRest(t.line, false);
        continue;
      }
      this.parseStatement();
    }
  }

  private parseStatement(): void {
    const t = this.peek();
    if (t.kind === 'string') {
      this.parseStringStatement();
      return;
    }
    if (t.kind === 'name') {
      if (t.value === 'import' || t.value === 'from') {
        this.next();
        this.skipStatementRest(t.line, false);
        const def: PythonDef = { kind: 'python', span: this.spanFrom(t.start), what: 'import' };
        this.statements.push(def);
        return;
      }
      if (BLOCK_KEYWORDS.has(t.value)) return this.unsupported(t, true);
      if (SIMPLE_KEYWORDS.has(t.value)) return this.unsupported(t, false);
      const after = this.peek(1);
      if (this.isPunct(after, '=') && !after.lineStart) {
        this.parseAssignment();
        return;
      }
      if (!after.lineStart && after.kind === 'punct' && ['(', '.', '[', ':', '+=', '-=', '*=', '/=', '|=', '&='].includes(after.value)) {
        return this.unsupported(t, false);
      }
      this.next();
      this.expected(`'=' after '${t.value}'`, after);
      this.skipStatementRest(t.line, false);
      return;
    }
    if (this.isPunct(t, '@')) return this.unsupported(t, false);
    this.expected('a statement (NAME = Genotype(...), an alias NAME = OTHER, or a # comment)', t, undefined, true);
    this.next();
    this.skipStatementRest(t.line, false);
  }

  /** A string on its own (a docstring) is kept as a comment; a string expression is unsupported. */
  private parseStringStatement(): void {
    const first = this.peek();
    while (this.peek().kind === 'string' && (this.peek() === first || !this.peek().lineStart)) this.next();
    if (this.peek().lineStart) {
      const span = this.spanFrom(first.start);
      this.docstrings.push({ span, text: this.text.slice(span.start, span.end) });
      return;
    }
    this.report(
      this.spanFrom(first.start),
      'unsupported statement: a string expression; only docstrings and the statements of a genotypes.py are understood',
      'unsupported-statement',
      'warning',
    );
    this.skipStatementRest(first.line, false);
  }

  private parseAssignment(): void {
    const nameToken = this.next();
    this.next(); // '='
    const name = this.ident(nameToken);
    const v = this.peek();
    if (v.lineStart) {
      this.expected(`a value after '${name.text} ='`, v);
      return;
    }
    if (v.kind === 'name') {
      const target = this.parseDottedName();
      const lastPart = target.text.slice(target.text.lastIndexOf('.') + 1);
      if (this.isPunct(this.peek(), '(') && !this.peek().lineStart) {
        if (lastPart === 'namedtuple') {
          // `Genotype = namedtuple('Genotype', '...')`: understood; the name now builds genotypes.
          this.skipStatementRest(nameToken.line, false);
          this.callees.add(name.text);
          const def: PythonDef = { kind: 'python', span: this.spanFrom(nameToken.start), what: 'namedtuple' };
          this.statements.push(def);
          return;
        }
        if (this.callees.has(lastPart)) {
          const call = this.parseCall(target);
          const def: GenotypeDef = { kind: 'genotype', span: this.spanFrom(nameToken.start), name, call };
          this.statements.push(def);
          this.endStatement(`the ${target.text}(...) definition of ${name.text}`);
          return;
        }
        return this.unsupportedFrom(nameToken);
      }
      if (!target.text.includes('.') && this.peek().lineStart) {
        const def: AliasDef = { kind: 'alias', span: this.spanFrom(nameToken.start), name, target };
        this.statements.push(def);
        return;
      }
      return this.unsupportedFrom(nameToken);
    }
    if ((this.isPunct(v, '[') || this.isPunct(v, '(')) && name.text.startsWith('PRIMITIVES')) {
      this.parsePrimitives(name);
      return;
    }
    this.unsupportedFrom(nameToken);
  }

  /** An unsupported statement whose first tokens are already consumed. */
  private unsupportedFrom(first: Token): void {
    const end = this.skipStatementRest(first.line, false);
    this.report(
      { start: first.start, end: Math.max(first.end, end) },
      `unsupported statement: only NAME = Genotype(...), aliases (NAME = OTHER), PRIMITIVES = [...], imports and namedtuple declarations are understood; this statement is skipped`,
      'unsupported-statement',
      'warning',
    );
  }

  private parsePrimitives(name: Ident): void {
    const open = this.next();
    const ops: StringLit[] = [];
    this.parseSeq(open, 'list', open.value, () => {
      const t = this.peek();
      if (t.kind === 'string') {
        this.next();
        ops.push(this.stringLit(t));
        return;
      }
      this.expected('a quoted operation name', t);
      if (t.kind === 'name' || t.kind === 'number') this.next();
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
  const parser = new Parser(text, lexed.tokens, lexed.diagnostics);
  parser.parseFile();
  const comments = parser.docstrings.length > 0 ? [...lexed.comments, ...parser.docstrings].sort(byStart) : lexed.comments;
  const diagnostics = [...lexed.diagnostics, ...parser.diagnostics].sort(byStart);
  return { text, statements: parser.statements, comments, diagnostics };
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
