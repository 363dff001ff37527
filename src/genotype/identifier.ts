/**
 * Python identifiers, the names of genotypes and aliases: a letter or `_`
 * then letters, digits and `_`, where "letter" is Unicode's XID_Start and
 * XID_Continue as in Python 3 (PEP 3131), so `ÉCHANTILLON = Genotype(…)` or
 * `Δ_2 = …` are names like any other. One definition for every reader of
 * names: the lexer, references (`FILE#NAME`), the CLI and the language
 * server (rename, completion). Python also NFKC-normalises identifiers
 * (`ﬁ` and `fi` are one name); names here are compared as written.
 */

const START = /^[\p{XID_Start}_]$/u;
const CONTINUE = /^\p{XID_Continue}$/u;

/** A whole identifier, as a pattern source (for building larger patterns; use the `u` flag). */
export const IDENTIFIER_PATTERN = '[\\p{XID_Start}_]\\p{XID_Continue}*';

const WHOLE = new RegExp(`^${IDENTIFIER_PATTERN}$`, 'u');

export function isIdentifier(text: string): boolean {
  return WHOLE.test(text);
}

/** The character (code point) at `i` and its UTF-16 length; lone surrogates are themselves. */
function codePointAt(text: string, i: number): string {
  const c = text.codePointAt(i);
  return c === undefined ? '' : String.fromCodePoint(c);
}

/**
 * UTF-16 units of the identifier-start character at `i`, or 0. ASCII is
 * decided without a regular expression: it is nearly all of any file, and
 * the lexer calls this for every token.
 */
export function nameStartLength(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 ? 1 : 0;
  if (Number.isNaN(c)) return 0;
  const ch = codePointAt(text, i);
  return START.test(ch) ? ch.length : 0;
}

/** UTF-16 units of the identifier character at `i` (start characters, digits, combining marks…), or 0. */
export function nameCharLength(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (c >= 48 && c <= 57) ? 1 : 0;
  if (Number.isNaN(c)) return 0;
  const ch = codePointAt(text, i);
  return CONTINUE.test(ch) ? ch.length : 0;
}

/** The end of the identifier that starts at `start` (start itself when none does). */
export function identifierEnd(text: string, start: number): number {
  let i = start;
  let k = nameStartLength(text, i);
  if (k === 0) return start;
  i += k;
  while (i < text.length && (k = nameCharLength(text, i)) > 0) i += k;
  return i;
}
