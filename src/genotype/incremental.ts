/**
 * Incremental analysis: after an edit, only the statements the edit touched
 * are scanned and parsed again, and only their definitions validated again;
 * every other statement keeps its syntax (moved by the edit's length) and its
 * checks. The result is the very AnalyzedDocument `analyze` gives for the new
 * text (test/unit/incremental.test.ts compares the two after thousands of
 * random edits).
 *
 * How: a file is kept cut into parts at the statements no parser recovery runs
 * past (`NAME =` at column 0, see isStatementBoundary), each part with its
 * statements, comments, syntax diagnostics and per-definition checks. An edit
 * is found by diffing the old and new text (common prefix and suffix). The
 * scanner restarts at the part before the edit, at a fresh line start, and
 * stops at the first old cut behind the edit it lands on exactly (from there
 * the text and the scanner state are those of the old file, so every token is
 * too). The parts in between are parsed again; the parts behind are moved.
 *
 * What a part's parse depends on besides its own text, and when it is redone:
 * - the names that build genotypes (namedtuple declarations above): a part is
 *   parsed again when they differ from those it was parsed with;
 * - line numbers, which syntax messages quote ("opened at line 12"): a part
 *   with syntax diagnostics is parsed again when the edit changes the line
 *   count above it;
 * - the known operations (PRIMITIVES, extra operations), which definition
 *   checks read: every check is redone when they change.
 * Cross-statement work (names, duplicates, aliases, resolution) is redone on
 * every edit: it is linear in the number of statements, without re-reading them.
 */
import type { Comment, Diagnostic, GenotypeDef, Statement, TextChange } from './ast.js';
import { analyzeParsed, type AnalyzedDocument, type DefinitionResult } from './document.js';
import { Tokens, initialLexState, lexInto, lineStartLexState, pushEof, type LexResult, type LexState } from './lexer.js';
import { DEFAULT_CALLEES, isStatementBoundary, parseTokens } from './parser.js';
import { shiftComment, shiftDiagnostic, shiftStatement } from './shift.js';
import { knownOperations, type ValidationOptions } from './validate.js';
import { identifierEnd } from './identifier.js';

/** Texts are compared a block at a time first: comparing slices runs at memory speed, a charCodeAt loop does not. */
const BLOCK = 2048;

/** The smallest range that tells two texts apart (common prefix and suffix left out). */
export function textChange(before: string, after: string): TextChange {
  const shorter = Math.min(before.length, after.length);
  let start = 0;
  while (start + BLOCK <= shorter && before.slice(start, start + BLOCK) === after.slice(start, start + BLOCK)) start += BLOCK;
  while (start < shorter && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  const room = shorter - start;
  let common = 0;
  while (common + BLOCK <= room && before.slice(before.length - common - BLOCK, before.length - common) === after.slice(after.length - common - BLOCK, after.length - common)) {
    common += BLOCK;
  }
  while (common < room && before.charCodeAt(before.length - 1 - common) === after.charCodeAt(after.length - 1 - common)) common++;
  return { start, oldEnd: before.length - common, newEnd: after.length - common };
}

/** One part of a file: from a cut (or the file start) to the next cut. */
interface Part {
  readonly start: number;
  /** Line of `start`. */
  readonly line: number;
  /** End of the '=' of the `NAME =` the part starts with; -1 for the first part, which starts at 0. */
  readonly eqEnd: number;
  /** Names that build genotypes where the part starts. */
  readonly callees: readonly string[];
  readonly statements: readonly Statement[];
  readonly comments: readonly Comment[];
  /** Scanner and parser diagnostics, in document order. */
  readonly diagnostics: readonly Diagnostic[];
  /** Per statement: the result of a genotype definition (for `opsKey`), else undefined. */
  readonly results?: readonly (DefinitionResult | undefined)[];
}

const NO_RESULTS: readonly (DefinitionResult | undefined)[] = [];

function calleesKey(callees: readonly string[]): string {
  return callees.length === 1 ? callees[0]! : callees.join('\u0000');
}

/** The names that build genotypes after `part`: namedtuple declarations in it add theirs. */
function calleesAfter(text: string, callees: readonly string[], statements: readonly Statement[]): readonly string[] {
  let out = callees;
  for (const statement of statements) {
    if (statement.kind !== 'python' || statement.what !== 'namedtuple') continue;
    // The declaration starts with its name (`X = namedtuple(...)`).
    const end = identifierEnd(text, statement.span.start);
    const name = text.slice(statement.span.start, end);
    if (end > statement.span.start && !out.includes(name)) out = [...out, name];
  }
  return out;
}

/** A known-operations key: checks hold while it is unchanged (insertion order matters: suggestions prefer earlier names). */
function opsKeyOf(statements: readonly Statement[], options: ValidationOptions | undefined): string {
  const file = { text: '', statements, comments: [], diagnostics: [] };
  return [...knownOperations(file, options)].join('\u0000');
}

/**
 * Scans and parses [part start, up to the cut at token `stop` or the end) of
 * `text`, and cuts the result into parts.
 */
function parseRange(
  text: string,
  lexed: LexResult,
  stop: number,
  first: { start: number; line: number; eqEnd: number; callees: readonly string[] },
): Part[] {
  const parsed = parseTokens(lexed, stop, first.callees);
  const tokens = lexed.tokens;
  const end = stop < 0 ? tokens.count : stop;
  const parts: Part[] = [];
  let statementAt = 0;
  let commentAt = 0;
  let diagnosticAt = 0;
  let current = first;
  const close = (limit: number): void => {
    const statements: Statement[] = [];
    while (statementAt < parsed.statements.length && parsed.statements[statementAt]!.span.start < limit) statements.push(parsed.statements[statementAt++]!);
    const comments: Comment[] = [];
    while (commentAt < parsed.comments.length && parsed.comments[commentAt]!.span.start < limit) comments.push(parsed.comments[commentAt++]!);
    const diagnostics: Diagnostic[] = [];
    while (diagnosticAt < parsed.diagnostics.length && parsed.diagnostics[diagnosticAt]!.span.start < limit) diagnostics.push(parsed.diagnostics[diagnosticAt++]!);
    parts.push({ start: current.start, line: current.line, eqEnd: current.eqEnd, callees: current.callees, statements, comments, diagnostics });
  };
  for (let i = 0; i < end; i++) {
    const at = tokens.start[i]!;
    if (at <= first.start || !isStatementBoundary(tokens, i)) continue;
    close(at);
    current = { start: at, line: tokens.line[i]!, eqEnd: tokens.end[i + 1]!, callees: calleesAfter(text, current.callees, parts[parts.length - 1]!.statements) };
  }
  close(Infinity);
  return parts;
}

/** Tokens for a range of about `length` characters (a whole-file estimate would allocate for the whole file). */
function rangeResult(text: string, length: number): LexResult {
  return { tokens: new Tokens(text, 64 + Math.ceil(length / 3)), comments: [], diagnostics: [] };
}

/**
 * Scans the two tokens of the `NAME =` at a cut the scanner stopped at, so the
 * parser sees what follows its range (messages name it), then the end.
 * Comments scanned on the way belong to the next part and are dropped.
 */
function closeAtCut(lexed: LexResult, state: LexState): number {
  const stop = lexed.tokens.count;
  const comments = lexed.comments.length;
  const diagnostics = lexed.diagnostics.length;
  lexInto(lexed, { ...state }, Infinity, stop + 2);
  lexed.comments.length = comments;
  lexed.diagnostics.length = diagnostics;
  pushEof(lexed.tokens, state);
  return stop;
}

/** A part parsed again where it now stands (its extent is unchanged: only what it depends on changed). */
function reparsePart(text: string, start: number, end: number, line: number, eqEnd: number, callees: readonly string[]): Part {
  const lexed = rangeResult(text, end - start);
  const state = start === 0 ? initialLexState(text) : lineStartLexState(start, line);
  lexInto(lexed, state, end, Infinity);
  const stop = end < text.length ? closeAtCut(lexed, state) : (pushEof(lexed.tokens, state), -1);
  const parts = parseRange(text, lexed, stop, { start, line, eqEnd, callees });
  return parts[0]!;
}

function movePart(part: Part, delta: number, lineDelta: number): Part {
  const statements = part.statements.map((s) => shiftStatement(s, delta));
  const moved: Part = {
    start: part.start + delta,
    line: part.line + lineDelta,
    eqEnd: part.eqEnd < 0 ? part.eqEnd : part.eqEnd + delta,
    callees: part.callees,
    statements,
    comments: part.comments.map((c) => shiftComment(c, delta)),
    diagnostics: part.diagnostics.map((d) => shiftDiagnostic(d, delta)),
  };
  if (!part.results) return moved;
  const results = part.results.map((r) => r && { check: { diagnostics: r.check.diagnostics.map((d) => shiftDiagnostic(d, delta)), hasError: r.check.hasError }, model: r.model });
  return { ...moved, results };
}

/** An analysed document that can follow edits. Immutable: `update` returns a new one. */
export class IncrementalAnalysis {
  private constructor(
    readonly text: string,
    readonly doc: AnalyzedDocument,
    private readonly parts: readonly Part[],
    private readonly opsKey: string,
    private readonly options: ValidationOptions | undefined,
  ) {}

  /** A from-scratch analysis (the same as `analyze`), kept in parts for later updates. */
  static of(text: string, options?: ValidationOptions): IncrementalAnalysis {
    const lexed: LexResult = { tokens: new Tokens(text), comments: [], diagnostics: [] };
    const state = initialLexState(text);
    lexInto(lexed, state, Infinity, Infinity);
    pushEof(lexed.tokens, state);
    const parts = parseRange(text, lexed, -1, { start: 0, line: 0, eqEnd: -1, callees: DEFAULT_CALLEES });
    return IncrementalAnalysis.assemble(text, parts, options, undefined);
  }

  /**
   * The analysis of `text`, an edit of this one's text. `change` may give the
   * edited range when the caller knows it (else it is found by diffing).
   * `options` are those of the new analysis (as for `analyze`); when the
   * known operations change, every definition is checked again.
   */
  update(text: string, options?: ValidationOptions, change?: TextChange): IncrementalAnalysis {
    if (text === this.text && sameOptions(options, this.options)) return this;
    const edit = change ?? textChange(this.text, text);
    const delta = edit.newEnd - edit.oldEnd;
    const old = this.parts;

    // The first part to scan again: the last one starting at or before the edit whose `NAME =` the edit leaves alone.
    let k = lastPartAtOrBefore(old, edit.start);
    while (k > 0 && old[k]!.eqEnd >= edit.start) k--;
    const from = old[k]!;
    const lexed = rangeResult(text, Math.max(1024, edit.newEnd - from.start + 4096));
    const state = from.start === 0 ? initialLexState(text) : lineStartLexState(from.start, from.line);

    // Scan until landing exactly on an old cut behind the edit (then everything behind is as before).
    let j = k + 1;
    while (j < old.length && old[j]!.start < edit.oldEnd) j++;
    let matched = -1;
    while (j < old.length) {
      const at = old[j]!.start + delta;
      lexInto(lexed, state, at, Infinity);
      if (state.offset === at && state.lineStartOffset === at && state.lineStartFlag !== 0) {
        matched = j;
        break;
      }
      j++;
      while (j < old.length && old[j]!.start + delta < state.offset) j++;
    }
    let stop = -1;
    let lineDelta = 0;
    if (matched >= 0) {
      lineDelta = state.line - old[matched]!.line;
      stop = closeAtCut(lexed, state);
    } else {
      lexInto(lexed, state, Infinity, Infinity);
      pushEof(lexed.tokens, state);
    }

    const parts: Part[] = old.slice(0, k);
    for (const part of parseRange(text, lexed, stop, from)) parts.push(part);
    if (matched >= 0) {
      let callees = calleesAfter(text, parts[parts.length - 1]!.callees, parts[parts.length - 1]!.statements);
      for (let i = matched; i < old.length; i++) {
        const part = old[i]!;
        const start = part.start + delta;
        let next: Part;
        if (calleesKey(callees) !== calleesKey(part.callees) || (lineDelta !== 0 && part.diagnostics.length > 0)) {
          const end = i + 1 < old.length ? old[i + 1]!.start + delta : text.length;
          next = reparsePart(text, start, end, part.line + lineDelta, part.eqEnd + delta, callees);
        } else if (delta === 0 && lineDelta === 0) {
          next = part;
        } else {
          next = movePart(part, delta, lineDelta);
        }
        parts.push(next);
        callees = calleesAfter(text, callees, next.statements);
      }
    }
    return IncrementalAnalysis.assemble(text, parts, options, this.opsKey);
  }

  /** Puts the parts together as one file and analyses it, reusing the definition checks the parts carry. */
  private static assemble(text: string, parts: readonly Part[], options: ValidationOptions | undefined, previousOpsKey: string | undefined): IncrementalAnalysis {
    const statements: Statement[] = [];
    const comments: Comment[] = [];
    const diagnostics: Diagnostic[] = [];
    for (const part of parts) {
      for (const s of part.statements) statements.push(s);
      for (const c of part.comments) comments.push(c);
      for (const d of part.diagnostics) diagnostics.push(d);
    }
    const opsKey = opsKeyOf(statements, options);
    const known = new Map<GenotypeDef, DefinitionResult>();
    if (opsKey === previousOpsKey) {
      for (const part of parts) {
        const results = part.results;
        if (!results) continue;
        for (let i = 0; i < results.length; i++) {
          const result = results[i];
          if (result) known.set(part.statements[i] as GenotypeDef, result);
        }
      }
    }
    const { doc, results } = analyzeParsed({ text, statements, comments, diagnostics }, options, (def) => known.get(def));
    const withResults = parts.map((part): Part => {
      if (part.results && opsKey === previousOpsKey) return part;
      let any = false;
      const own = part.statements.map((s) => {
        const result = s.kind === 'genotype' ? results.get(s) : undefined;
        if (result) any = true;
        return result;
      });
      return { ...part, results: any ? own : NO_RESULTS };
    });
    return new IncrementalAnalysis(text, doc, withResults, opsKey, options);
  }
}

function sameOptions(a: ValidationOptions | undefined, b: ValidationOptions | undefined): boolean {
  const x = a?.extraOps ?? [];
  const y = b?.extraOps ?? [];
  return x.length === y.length && x.every((op, i) => op === y[i]);
}

function lastPartAtOrBefore(parts: readonly Part[], offset: number): number {
  let lo = 0;
  let hi = parts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (parts[mid]!.start <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}
