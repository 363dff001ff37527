/**
 * The scanner of the genotype language: one pass over the UTF-16 text with
 * charCodeAt (no regular expressions), producing the tokens the recursive
 * descent parser reads. Newlines are not tokens: each token instead records
 * whether it begins a logical line and whether it sits at column 0, because
 * newlines inside brackets are insignificant and the parser resynchronises
 * after an error at the next line that starts a statement at column 0.
 *
 * Comments (`# ...`) are collected separately. The scanner never throws; its
 * own errors (unterminated strings) are returned as diagnostics.
 */
import type { Comment, Diagnostic } from './ast.js';

export type TokenKind = 'name' | 'number' | 'string' | 'punct' | 'invalid' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  readonly start: number;
  readonly end: number;
  /** Identifier text, number lexeme, punctuation, invalid character(s); decoded value of a string. */
  readonly value: string;
  /** Zero-based line of the token's first character. */
  readonly line: number;
  /** First token of a logical line (a newline precedes it that no backslash escapes). */
  readonly lineStart: boolean;
  /** The token starts at column 0 of its physical line. */
  readonly col0: boolean;
  /** Strings only: the quote character. */
  readonly quote?: "'" | '"';
  /** Strings only: the offsets of the content between the quotes. */
  readonly contentStart?: number;
  readonly contentEnd?: number;
  /** Strings only: triple-quoted. */
  readonly triple?: boolean;
  /** Numbers only: the lexeme is a plain decimal integer. */
  readonly integer?: boolean;
}

export interface LexResult {
  readonly tokens: Token[];
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

function isNameStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}

function isNameChar(c: number): boolean {
  return isNameStart(c) || (c >= 48 && c <= 57);
}

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
function isStringPrefix(name: string): boolean {
  if (name.length === 0 || name.length > 2) return false;
  const lower = name.toLowerCase();
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

export function lex(text: string): LexResult {
  const tokens: Token[] = [];
  const comments: Comment[] = [];
  const diagnostics: Diagnostic[] = [];
  const n = text.length;
  let i = 0;
  let line = 0;
  let lineStartOffset = 0;
  /** The next token begins a logical line. */
  let atLogicalLineStart = true;

  const newline = (at: number, width: number): void => {
    line++;
    lineStartOffset = at + width;
  };

  const push = (
    kind: TokenKind,
    start: number,
    end: number,
    value: string,
    tokenLine: number,
    col0: boolean,
    extra?: Partial<Token>,
  ): void => {
    tokens.push({ kind, start, end, value, line: tokenLine, lineStart: atLogicalLineStart, col0, ...extra });
    atLogicalLineStart = false;
  };

  const scanString = (start: number, prefix: string, tokenLine: number, col0: boolean): void => {
    const q = text.charCodeAt(i);
    const quote: "'" | '"' = q === CH_SQUOTE ? "'" : '"';
    const raw = prefix.toLowerCase().includes('r');
    const triple = text.charCodeAt(i + 1) === q && text.charCodeAt(i + 2) === q;
    const contentStart = i + (triple ? 3 : 1);
    let j = contentStart;
    let contentEnd = -1;
    let end = -1;
    while (j < n) {
      const c = text.charCodeAt(j);
      if (c === CH_BACKSLASH) {
        // An escape hides the next character, newlines included (a continued string).
        const next = text.charCodeAt(j + 1);
        if (next === CH_CR && text.charCodeAt(j + 2) === CH_LF) {
          newline(j + 1, 2);
          j += 3;
        } else if (next === CH_LF || next === CH_CR) {
          newline(j + 1, 1);
          j += 2;
        } else {
          j += j + 1 < n ? 2 : 1;
        }
        continue;
      }
      if (c === q) {
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
        continue;
      }
      if (c === CH_LF || c === CH_CR) {
        if (!triple) break; // a one-line string ends at the end of its line, unterminated
        const width = c === CH_CR && text.charCodeAt(j + 1) === CH_LF ? 2 : 1;
        newline(j, width);
        j += width;
        continue;
      }
      j++;
    }
    if (end < 0) {
      contentEnd = j;
      end = j;
      const closer = triple ? quote.repeat(3) : quote;
      diagnostics.push({
        span: { start, end },
        severity: 'error',
        code: 'syntax',
        message: `unterminated string: expected ${closer} to close the string, found ${j >= n ? 'end of file' : 'end of line'}`,
      });
    }
    const value = raw ? text.slice(contentStart, contentEnd) : decodeEscapes(text, contentStart, contentEnd);
    push('string', start, end, value, tokenLine, col0, { quote, contentStart, contentEnd, triple });
    i = end;
  };

  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === CH_SPACE || c === CH_TAB || c === CH_FF || c === CH_VT) {
      i++;
      continue;
    }
    if (c === CH_LF || c === CH_CR) {
      const width = c === CH_CR && text.charCodeAt(i + 1) === CH_LF ? 2 : 1;
      newline(i, width);
      i += width;
      atLogicalLineStart = true;
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
        const width = next === CH_CR && text.charCodeAt(i + 2) === CH_LF ? 2 : next === CH_LF || next === CH_CR ? 1 : 0;
        if (width > 0) newline(i + 1, width);
        i += 1 + width;
        continue;
      }
    }
    const start = i;
    const tokenLine = line;
    const col0 = start === lineStartOffset;
    if (isNameStart(c)) {
      i++;
      while (i < n && isNameChar(text.charCodeAt(i))) i++;
      const name = text.slice(start, i);
      const q = text.charCodeAt(i);
      if ((q === CH_SQUOTE || q === CH_DQUOTE) && isStringPrefix(name)) {
        scanString(start, name, tokenLine, col0);
        continue;
      }
      push('name', start, i, name, tokenLine, col0);
      continue;
    }
    if (isDigit(c)) {
      i++;
      let integer = true;
      // Take the whole lexeme (1.5, 0x1f, 2e3, 1_000, 12abc) so that it is reported as one bad number.
      while (i < n) {
        const d = text.charCodeAt(i);
        if (isDigit(d)) {
          i++;
        } else if (isNameChar(d) || d === 46 /* . */) {
          integer = false;
          i++;
        } else break;
      }
      push('number', start, i, text.slice(start, i), tokenLine, col0, { integer });
      continue;
    }
    if (c === CH_SQUOTE || c === CH_DQUOTE) {
      scanString(start, '', tokenLine, col0);
      continue;
    }
    if (c < 128) {
      const width = takesEquals(c) && text.charCodeAt(i + 1) === CH_EQ ? 2 : 1;
      i += width;
      push('punct', start, i, text.slice(start, i), tokenLine, col0);
      continue;
    }
    // Any other character (non-ASCII, emoji): one invalid token per code point,
    // so that a surrogate pair is never split by a span.
    const width = c >= 0xd800 && c <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
    i += width;
    push('invalid', start, i, text.slice(start, i), tokenLine, col0);
  }
  tokens.push({ kind: 'eof', start: n, end: n, value: '', line, lineStart: true, col0: n === lineStartOffset });
  return { tokens, comments, diagnostics };
}
