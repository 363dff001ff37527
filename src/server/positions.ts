/**
 * Core spans (UTF-16 offsets) ↔ LSP ranges. Both count UTF-16 code units, so
 * the conversion is a line lookup; positions past the end of a line or of
 * the document clamp (LineIndex does), which keeps out-of-range requests
 * harmless.
 */
import type { Position, Range } from 'vscode-languageserver';
import type { LineIndex, Span } from '../genotype/ast.js';

export function toRange(lines: LineIndex, span: Span): Range {
  return { start: lines.positionAt(span.start), end: lines.positionAt(span.end) };
}

export function toSpan(lines: LineIndex, range: Range): Span {
  const start = toOffset(lines, range.start);
  const end = toOffset(lines, range.end);
  return start <= end ? { start, end } : { start: end, end: start };
}

/** Offset of an LSP position; garbage (negative, fractional, NaN) is clamped instead of trusted. */
export function toOffset(lines: LineIndex, position: Position): number {
  const line = Number.isFinite(position.line) ? Math.max(0, Math.floor(position.line)) : 0;
  const character = Number.isFinite(position.character) ? Math.max(0, Math.floor(position.character)) : 0;
  return lines.offsetAt({ line, character });
}

/** Whether `offset` is on the span, its end included (a cursor just after a word is on it). */
export function touches(span: Span, offset: number): boolean {
  return span.start <= offset && offset <= span.end;
}

export function overlaps(a: Span, b: Span): boolean {
  return a.start <= b.end && b.start <= a.end;
}
