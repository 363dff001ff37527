/**
 * The syntax tree of a `.genotype` file (or a DARTS-family `genotypes.py`).
 * Every name, operation, index and concat entry carries its source span, so
 * that diagnostics, hovers, quick fixes and click-to-source all point at the
 * exact characters. Spans are UTF-16 offsets into the document text (the unit
 * of JavaScript strings and of LSP positions); `LineIndex` turns them into
 * line/column positions.
 */

/**
 * A node being built: its properties set one at a time, so that optional ones
 * stay absent rather than present and undefined (the parser and shift.ts build
 * nodes this way; the tree compares equal whichever built it).
 */
export type Building<T> = { -readonly [K in keyof T]: T[K] };

/** Half-open [start, end) UTF-16 offsets into the document. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export type Severity = 'error' | 'warning' | 'info' | 'hint';

export interface RelatedInfo {
  readonly span: Span;
  readonly message: string;
}

export interface Diagnostic {
  readonly span: Span;
  readonly severity: Severity;
  /** Stable code, e.g. `unknown-op`; part of the interface (CLI, quick fixes). */
  readonly code: string;
  readonly message: string;
  readonly related?: readonly RelatedInfo[];
  /** Machine-readable payload for quick fixes (e.g. the suggested operation). */
  readonly data?: Readonly<Record<string, unknown>>;
}

export interface Ident {
  readonly text: string;
  readonly span: Span;
}

export interface NumberLit {
  readonly value: number;
  readonly span: Span;
}

export interface StringLit {
  readonly value: string;
  readonly span: Span;
  readonly quote: "'" | '"';
}

/** One `(op, input)` tuple; either part may be missing in broken text. */
export interface EntryNode {
  readonly span: Span;
  readonly op?: StringLit;
  readonly input?: NumberLit;
}

export interface CellListNode {
  readonly span: Span;
  readonly entries: readonly EntryNode[];
}

export interface ConcatNode {
  readonly span: Span;
  readonly form: 'list' | 'range';
  /** For a list: the entries. For range(a, b): the values a..b-1, each with the span of the range call. */
  readonly items: readonly NumberLit[];
  /** For range(a, b): the two bounds as written. */
  readonly bounds?: readonly [NumberLit, NumberLit];
}

export type GenotypeField = 'normal' | 'normal_concat' | 'reduce' | 'reduce_concat';
export const GENOTYPE_FIELDS: readonly GenotypeField[] = ['normal', 'normal_concat', 'reduce', 'reduce_concat'];

/** One argument of `Genotype(...)`, keyword or positional. */
export interface ArgNode {
  readonly span: Span;
  readonly field?: GenotypeField;
  /** The keyword as written, when there was one. */
  readonly keyword?: Ident;
  readonly value?: CellListNode | ConcatNode;
}

export interface GenotypeCallNode {
  readonly span: Span;
  /** The callee, `Genotype` (or another name used as the namedtuple). */
  readonly callee: Ident;
  readonly args: readonly ArgNode[];
  readonly normal?: CellListNode;
  readonly normalConcat?: ConcatNode;
  readonly reduce?: CellListNode;
  readonly reduceConcat?: ConcatNode;
}

export interface GenotypeDef {
  readonly kind: 'genotype';
  readonly span: Span;
  readonly name: Ident;
  readonly call: GenotypeCallNode;
}

export interface AliasDef {
  readonly kind: 'alias';
  readonly span: Span;
  readonly name: Ident;
  readonly target: Ident;
}

/** `PRIMITIVES = ['none', ...]`: extends the known operations. */
export interface PrimitivesDef {
  readonly kind: 'primitives';
  readonly span: Span;
  readonly name: Ident;
  readonly ops: readonly StringLit[];
}

/** Python lines a DARTS `genotypes.py` carries that are understood and ignored:
 *  `from collections import namedtuple`, `import ...`, `Genotype = namedtuple(...)`. */
export interface PythonDef {
  readonly kind: 'python';
  readonly span: Span;
  readonly what: 'import' | 'namedtuple';
}

export type Statement = GenotypeDef | AliasDef | PrimitivesDef | PythonDef;

export interface Comment {
  readonly span: Span;
  readonly text: string;
}

export interface GenotypeFile {
  readonly text: string;
  readonly statements: readonly Statement[];
  readonly comments: readonly Comment[];
  /** Syntax errors only; validation adds the semantic diagnostics. */
  readonly diagnostics: readonly Diagnostic[];
}

/** Position as in LSP: zero-based line and UTF-16 character. */
export interface Position {
  readonly line: number;
  readonly character: number;
}

/** An edit of a text: [start, oldEnd) of the old text became [start, newEnd) of the new one. */
export interface TextChange {
  readonly start: number;
  readonly oldEnd: number;
  readonly newEnd: number;
}

/** Offset ↔ line/character conversion for one text. */
export class LineIndex {
  private readonly lineStarts: number[];

  constructor(
    private readonly text: string,
    lineStarts?: number[],
  ) {
    if (lineStarts) {
      this.lineStarts = lineStarts;
      return;
    }
    this.lineStarts = [0];
    pushLineStarts(text, 0, text.length, this.lineStarts);
  }

  /**
   * The index of `text`, an edit of `previous`'s text: only the edited range is
   * read again, the other line starts are copied (moved behind the edit).
   */
  static afterEdit(previous: LineIndex, text: string, change: TextChange): LineIndex {
    const old = previous.lineStarts;
    const delta = change.newEnd - change.oldEnd;
    // A line start s depends on the characters at s - 1 and s (a '\r' there may be half of '\r\n'):
    // starts before the edit are kept, the breaks from just before it to its end read again.
    const starts = [0];
    let i = 1;
    while (i < old.length && old[i]! < change.start) starts.push(old[i++]!);
    pushLineStarts(text, Math.max(0, change.start - 1), change.newEnd, starts);
    while (i < old.length && old[i]! <= change.oldEnd) i++;
    while (i < old.length) starts.push(old[i++]! + delta);
    return new LineIndex(text, starts);
  }

  positionAt(offset: number): Position {
    const clamped = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= clamped) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: clamped - this.lineStarts[lo]! };
  }

  offsetAt(position: Position): number {
    if (position.line < 0) return 0;
    if (position.line >= this.lineStarts.length) return this.text.length;
    const start = this.lineStarts[position.line]!;
    const next = position.line + 1 < this.lineStarts.length ? this.lineStarts[position.line + 1]! : this.text.length;
    return Math.max(start, Math.min(start + position.character, next));
  }

  get lineCount(): number {
    return this.lineStarts.length;
  }
}

/** Appends the starts of the lines broken by characters [from, to) of `text` ('\n', '\r\n' or a lone '\r'). */
function pushLineStarts(text: string, from: number, to: number, out: number[]): void {
  // indexOf runs at memory speed, a charCodeAt loop does not; most texts have no '\r' at all.
  let lf = text.indexOf('\n', from);
  let cr = text.indexOf('\r', from);
  for (;;) {
    const at = cr < 0 || (lf >= 0 && lf < cr) ? lf : cr;
    if (at < 0 || at >= to) return;
    if (at === lf) {
      out.push(at + 1);
      lf = text.indexOf('\n', at + 1);
    } else {
      if (text.charCodeAt(at + 1) !== 10 /* \r\n: the \n ends the line */) out.push(at + 1);
      cr = text.indexOf('\r', at + 1);
    }
  }
}
