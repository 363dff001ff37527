/**
 * The scanner of the genotype language: one pass over the UTF-16 text with
 * charCodeAt (no regular expressions but for non-ASCII names), producing the tokens the recursive
 * descent parser reads. Newlines are not tokens: each token instead records
 * whether it begins a logical line and whether it sits at column 0, because
 * newlines inside brackets are insignificant and the parser resynchronises
 * after an error at the next line that starts a statement at column 0.
 *
 * Tokens are kept in typed arrays (one column per property) rather than as
 * objects: a 1,000-genotype file has ~150k tokens, and allocating an object
 * for each made garbage collection the larger part of parsing.
 *
 * Comments (`# ...`) are collected separately. The scanner never throws; its
 * own errors (unterminated strings) are returned as diagnostics.
 */
import type { Comment, Diagnostic } from './ast.js';
import { identifierEnd, nameCharLength, nameStartLength } from './identifier.js';

export const TK_NAME = 1;
export const TK_NUMBER = 2;
export const TK_STRING = 3;
export const TK_PUNCT = 4;
export const TK_INVALID = 5;
export const TK_EOF = 6;

/** Token flags. */
export const F_LINE_START = 1; // first token of a logical line
export const F_COL0 = 2; // starts at column 0 of its physical line
export const F_INTEGER = 4; // number: a plain decimal integer
export const F_TRIPLE = 8; // string: triple-quoted
export const F_DOUBLE = 16; // string: written with double quotes
export const F_DECODE = 32; // string: holds escapes to decode (not a raw string)

/** The code of a punctuation token: its character, or both characters of a two-character operator. */
export function punctCode(p: string): number {
  return p.length === 1 ? p.charCodeAt(0) : 0x10000 + p.charCodeAt(0) * 256 + p.charCodeAt(1);
}

export class Tokens {
  count = 0;
  kind: Uint8Array;
  flags: Uint8Array;
  start: Int32Array;
  end: Int32Array;
  line: Int32Array;
  /** Punctuation: punctCode. Strings: offset where the content starts. */
  a: Int32Array;
  /** Strings: offset where the content ends. */
  b: Int32Array;
  /** `capacity`: tokens expected; by default enough for a whole text (printed genotype files run about one token per 3.9 characters, so growing is rare). */
  constructor(
    readonly text: string,
    capacity = 64 + Math.ceil(text.length / 3),
  ) {
    this.kind = new Uint8Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.start = new Int32Array(capacity);
    this.end = new Int32Array(capacity);
    this.line = new Int32Array(capacity);
    this.a = new Int32Array(capacity);
    this.b = new Int32Array(capacity);
  }

  /** Text of a token: the decoded value of a string (decoded on demand), the source text of anything else. */
  value(i: number): string {
    if (this.kind[i] === TK_STRING) {
      return this.flags[i]! & F_DECODE ? decodeEscapes(this.text, this.a[i]!, this.b[i]!) : this.text.slice(this.a[i], this.b[i]);
    }
    return this.text.slice(this.start[i], this.end[i]);
  }

  push(kind: number, start: number, end: number, line: number, flags: number, a = 0, b = 0): number {
    if (this.count === this.kind.length) this.grow();
    const i = this.count++;
    this.kind[i] = kind;
    this.start[i] = start;
    this.end[i] = end;
    this.line[i] = line;
    this.flags[i] = flags;
    this.a[i] = a;
    this.b[i] = b;
    return i;
  }

  private grow(): void {
    const size = this.kind.length * 2;
    const widen8 = (old: Uint8Array): Uint8Array => {
      const next = new Uint8Array(size);
      next.set(old);
      return next;
    };
    const widen32 = (old: Int32Array): Int32Array => {
      const next = new Int32Array(size);
      next.set(old);
      return next;
    };
    this.kind = widen8(this.kind);
    this.flags = widen8(this.flags);
    this.start = widen32(this.start);
    this.end = widen32(this.end);
    this.line = widen32(this.line);
    this.a = widen32(this.a);
    this.b = widen32(this.b);
  }
}

export interface LexResult {
  /** From lex(): always ends with one TK_EOF token. */
  readonly tokens: Tokens;
  readonly comments: Comment[];
  readonly diagnostics: Diagnostic[];
}

const CH_TAB = 9;
const CH_LF = 10;
const CH_VT = 11;
const CH_FF = 12;
const CH_CR = 13;
const CH_SPACE = 32;
const CH_DQUOTE = 34;
const CH_HASH = 35;
const CH_SQUOTE = 39;
const CH_BACKSLASH = 92;
const CH_EQ = 61;

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** Characters that form a two-character operator with a following '=' (so that `==` is not read as assignment). */
function takesEquals(c: number): boolean {
  // = ! < > : + - * / % & | ^ @
  return (
    c === 61 || c === 33 || c === 60 || c === 62 || c === 58 || c === 43 || c === 45 ||
    c === 42 || c === 47 || c === 37 || c === 38 || c === 124 || c === 94 || c === 64
  );
}

/** Python string prefixes (any case): r, u, b, f and their two-letter combinations. */
function isStringPrefix(text: string, start: number, end: number): boolean {
  const length = end - start;
  if (length < 1 || length > 2) return false;
  const lower = text.slice(start, end).toLowerCase();
  return (
    lower === 'r' || lower === 'u' || lower === 'b' || lower === 'f' ||
    lower === 'br' || lower === 'rb' || lower === 'fr' || lower === 'rf'
  );
}

function hexValue(text: string, from: number, count: number): number {
  let v = 0;
  for (let k = 0; k < count; k++) {
    const c = text.charCodeAt(from + k);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}

/** Decodes Python escapes in [from, to); unknown escapes keep their backslash, as in Python. */
function decodeEscapes(text: string, from: number, to: number): string {
  let out = '';
  let run = from;
  let i = from;
  while (i < to) {
    if (text.charCodeAt(i) !== CH_BACKSLASH || i + 1 >= to) {
      i++;
      continue;
    }
    out += text.slice(run, i);
    const c = text.charCodeAt(i + 1);
    let consumed = 2;
    switch (c) {
      case 110: out += '\n'; break; // n
      case 116: out += '\t'; break; // t
      case 114: out += '\r'; break; // r
      case 48: out += '\0'; break; // 0
      case 97: out += '\x07'; break; // a
      case 98: out += '\b'; break; // b
      case 102: out += '\f'; break; // f
      case 118: out += '\v'; break; // v
      case CH_BACKSLASH: out += '\\'; break;
      case CH_SQUOTE: out += "'"; break;
      case CH_DQUOTE: out += '"'; break;
      case CH_LF: break; // escaped newline: continuation inside the string
      case CH_CR:
        if (i + 2 < to && text.charCodeAt(i + 2) === CH_LF) consumed = 3;
        break;
      case 120: // xHH
      case 117: // uHHHH
      case 85: { // UHHHHHHHH
        const n = c === 120 ? 2 : c === 117 ? 4 : 8;
        const v = i + 2 + n <= to ? hexValue(text, i + 2, n) : -1;
        if (v >= 0 && v <= 0x10ffff) {
          out += String.fromCodePoint(v);
          consumed = 2 + n;
        } else {
          out += text.slice(i, i + 2);
        }
        break;
      }
      default:
        out += text.slice(i, i + 2);
    }
    i += consumed;
    run = i;
  }
  return out + text.slice(run, to);
}

/**
 * Where the scanner stands between two tokens. Outside strings the scanner
 * keeps no other state, so scanning can stop at any token and resume there,
 * or start fresh at any line start with a known line number: incremental
 * analysis (incremental.ts) re-scans only the edited statements this way.
 */
export interface LexState {
  /** Offset of the next character to read. */
  offset: number;
  /** Zero-based line of `offset`. */
  line: number;
  /** Offset where the current physical line starts (a token there is at column 0). */
  lineStartOffset: number;
  /** F_LINE_START when the next token begins a logical line, else 0. */
  lineStartFlag: number;
}

/** The state at the start of a text (a byte-order mark is skipped: it is not text). */
export function initialLexState(text: string): LexState {
  const bom = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  return { offset: bom, line: 0, lineStartOffset: bom, lineStartFlag: F_LINE_START };
}

/** The state at the start of line `line`, which begins at `offset`. */
export function lineStartLexState(offset: number, line: number): LexState {
  return { offset, line, lineStartOffset: offset, lineStartFlag: F_LINE_START };
}

export function lex(text: string): LexResult {
  const out: LexResult = { tokens: new Tokens(text), comments: [], diagnostics: [] };
  const state = initialLexState(text);
  lexInto(out, state, Infinity, Infinity);
  pushEof(out.tokens, state);
  return out;
}

/** Ends a token stream at the end of the text (call once the state has reached it). */
export function pushEof(tokens: Tokens, state: LexState): void {
  const n = tokens.text.length;
  tokens.push(TK_EOF, n, n, state.line, F_LINE_START | (n === state.lineStartOffset ? F_COL0 : 0));
}

/**
 * Scans from `state` into `out` (appending), up to the end of the text, or
 * until the next token would start at or after `stopAt`, or `out` holds
 * `maxCount` tokens; `state` is left where scanning stopped. Pushes no EOF token.
 */
export function lexInto(out: LexResult, state: LexState, stopAt: number, maxCount: number): void {
  const tokens = out.tokens;
  const comments = out.comments;
  const diagnostics = out.diagnostics;
  const text = tokens.text;
  const n = text.length;
  let i = state.offset;
  let line = state.line;
  let lineStartOffset = state.lineStartOffset;
  /** The next token begins a logical line. */
  let lineStartFlag = state.lineStartFlag;

  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === CH_SPACE || c === CH_TAB || c === CH_FF || c === CH_VT) {
      i++;
      continue;
    }
    if (c === CH_LF || c === CH_CR) {
      i += c === CH_CR && text.charCodeAt(i + 1) === CH_LF ? 2 : 1;
      line++;
      lineStartOffset = i;
      lineStartFlag = F_LINE_START;
      continue;
    }
    if (c === CH_HASH) {
      const start = i;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === CH_LF || d === CH_CR) break;
        i++;
      }
      comments.push({ span: { start, end: i }, text: text.slice(start, i) });
      continue;
    }
    if (c === CH_BACKSLASH) {
      const next = text.charCodeAt(i + 1);
      if (next === CH_LF || next === CH_CR || i + 1 >= n) {
        // Explicit line continuation: the next physical line continues this logical line.
        i += next === CH_CR && text.charCodeAt(i + 2) === CH_LF ? 3 : 2;
        if (i > n) i = n;
        else {
          line++;
          lineStartOffset = i;
        }
        continue;
      }
    }
    const start = i;
    // Stop only between tokens, with whitespace and comments before the token consumed:
    // the state then describes the scanner exactly at `start`.
    if (start >= stopAt || tokens.count >= maxCount) break;
    const flags = lineStartFlag | (start === lineStartOffset ? F_COL0 : 0);
    lineStartFlag = 0;
    let stringPrefixEnd = -1;
    if (nameStartLength(text, i) > 0) {
      // Unicode letters too (identifier.ts): Python names are XID_Start XID_Continue*.
      i = identifierEnd(text, i);
      const q = text.charCodeAt(i);
      if ((q === CH_SQUOTE || q === CH_DQUOTE) && isStringPrefix(text, start, i)) {
        stringPrefixEnd = i;
      } else {
        tokens.push(TK_NAME, start, i, line, flags);
        continue;
      }
    } else if (isDigit(c)) {
      i++;
      let integer = F_INTEGER;
      // Take the whole lexeme (1.5, 0x1f, 2e3, 1_000, 12abc) so that it is reported as one bad number.
      while (i < n) {
        const d = text.charCodeAt(i);
        const k = isDigit(d) ? 0 : d === 46 /* . */ ? 1 : nameCharLength(text, i);
        if (isDigit(d)) i++;
        else if (k > 0) {
          integer = 0;
          i += k;
        } else break;
      }
      tokens.push(TK_NUMBER, start, i, line, flags | integer);
      continue;
    } else if (c !== CH_SQUOTE && c !== CH_DQUOTE) {
      if (c < 128) {
        const two = takesEquals(c) && text.charCodeAt(i + 1) === CH_EQ;
        i += two ? 2 : 1;
        tokens.push(TK_PUNCT, start, i, line, flags, two ? 0x10000 + c * 256 + CH_EQ : c);
        continue;
      }
      // Any other character (non-ASCII, emoji): one invalid token per code point,
      // so that a surrogate pair is never split by a span.
      i += c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
      tokens.push(TK_INVALID, start, i, line, flags);
      continue;
    }

    // A string, possibly with a prefix (r'...', b"...").
    const tokenLine = line;
    const quoteAt = stringPrefixEnd >= 0 ? stringPrefixEnd : i;
    const q = text.charCodeAt(quoteAt);
    const raw = stringPrefixEnd >= 0 && text.slice(start, stringPrefixEnd).toLowerCase().includes('r');
    const triple = text.charCodeAt(quoteAt + 1) === q && text.charCodeAt(quoteAt + 2) === q;
    const contentStart = quoteAt + (triple ? 3 : 1);
    let j = contentStart;
    let contentEnd = -1;
    let end = -1;
    let escapes = false;
    while (j < n) {
      const d = text.charCodeAt(j);
      if (d === q) {
        if (!triple) {
          contentEnd = j;
          end = j + 1;
          break;
        }
        if (text.charCodeAt(j + 1) === q && text.charCodeAt(j + 2) === q) {
          contentEnd = j;
          end = j + 3;
          break;
        }
        j++;
      } else if (d === CH_BACKSLASH) {
        // An escape hides the next character, newlines included (a continued string).
        escapes = true;
        const next = text.charCodeAt(j + 1);
        if (next === CH_CR || next === CH_LF) {
          j += next === CH_CR && text.charCodeAt(j + 2) === CH_LF ? 3 : 2;
          line++;
          lineStartOffset = j;
        } else {
          j += j + 1 < n ? 2 : 1;
        }
      } else if (d === CH_LF || d === CH_CR) {
        if (!triple) break; // a one-line string ends at the end of its line, unterminated
        j += d === CH_CR && text.charCodeAt(j + 1) === CH_LF ? 2 : 1;
        line++;
        lineStartOffset = j;
      } else {
        j++;
      }
    }
    if (end < 0) {
      contentEnd = j;
      end = j;
      const closer = String.fromCharCode(q).repeat(triple ? 3 : 1);
      diagnostics.push({
        span: { start, end },
        severity: 'error',
        code: 'syntax',
        message: `unterminated string: expected ${closer} to close the string, found ${j >= n ? 'end of file' : 'end of line'}`,
      });
    }
    const stringFlags = flags | (triple ? F_TRIPLE : 0) | (q === CH_DQUOTE ? F_DOUBLE : 0) | (escapes && !raw ? F_DECODE : 0);
    tokens.push(TK_STRING, start, end, tokenLine, stringFlags, contentStart, contentEnd);
    i = end;
  }
  state.offset = i;
  state.line = line;
  state.lineStartOffset = lineStartOffset;
  state.lineStartFlag = lineStartFlag;
}

