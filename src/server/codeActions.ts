/**
 * Quick fixes tied to diagnostics (replace an unknown operation by the
 * suggestion, add a dead node to the concat, clamp an out-of-range input to
 * the last valid node) and one rewrite offered on any concat: `range(a, b)`
 * ↔ list. Fixes read the server's own analysis of the current version, not
 * the client's copy of the diagnostic, so a stale client cannot make them
 * edit the wrong characters.
 */
import { CodeActionKind, type CodeAction, type CodeActionParams, type Diagnostic as LspDiagnostic } from 'vscode-languageserver';
import type { ConcatNode, Diagnostic, Span } from '../genotype/ast.js';
import { isContiguous } from '../genotype/model.js';
import { printConcat, quoteString } from '../genotype/printer.js';
import type { Analysis } from './analysis.js';
import { toLspDiagnostic } from './diagnostics.js';
import { genotypeDefAt, locate } from './locate.js';
import { overlaps, toRange, toSpan } from './positions.js';

function wanted(only: readonly string[] | undefined, kind: string): boolean {
  return !only || only.length === 0 || only.some((o) => kind === o || kind.startsWith(`${o}.`));
}

export function codeActions(analysis: Analysis, params: CodeActionParams): CodeAction[] {
  const span = toSpan(analysis.lines, params.range);
  const only = params.context?.only;
  const actions: CodeAction[] = [];
  if (wanted(only, CodeActionKind.QuickFix)) {
    for (const diagnostic of analysis.doc.diagnostics) {
      if (!overlaps(diagnostic.span, span)) continue;
      const fix = quickFix(analysis, diagnostic, params.context?.diagnostics ?? []);
      if (fix) actions.push(fix);
    }
  }
  if (wanted(only, CodeActionKind.RefactorRewrite)) {
    const rewrite = concatRewrite(analysis, span);
    if (rewrite) actions.push(rewrite);
  }
  return actions;
}

function edit(analysis: Analysis, span: Span, newText: string): CodeAction['edit'] {
  return { changes: { [analysis.uri]: [{ range: toRange(analysis.lines, span), newText }] } };
}

/** The client's copy of the diagnostic when it sent one (so the editor links the fix to it), else ours. */
function clientDiagnostic(analysis: Analysis, diagnostic: Diagnostic, sent: readonly LspDiagnostic[]): LspDiagnostic {
  const ours = toLspDiagnostic(analysis, diagnostic, true);
  const same = sent.find(
    (d) =>
      d.code === ours.code &&
      d.range.start.line === ours.range.start.line &&
      d.range.start.character === ours.range.start.character &&
      d.range.end.line === ours.range.end.line &&
      d.range.end.character === ours.range.end.character,
  );
  return same ?? ours;
}

function quickFix(analysis: Analysis, diagnostic: Diagnostic, sent: readonly LspDiagnostic[]): CodeAction | undefined {
  const data = diagnostic.data ?? {};
  const make = (title: string, span: Span, newText: string): CodeAction => ({
    title,
    kind: CodeActionKind.QuickFix,
    diagnostics: [clientDiagnostic(analysis, diagnostic, sent)],
    isPreferred: true,
    edit: edit(analysis, span, newText),
  });
  switch (diagnostic.code) {
    case 'unknown-op': {
      const suggestion = data.suggestion;
      const target = locate(analysis.doc.file, diagnostic.span.start);
      if (typeof suggestion !== 'string' || target?.kind !== 'op') return undefined;
      // A string literal's span is its content, without the quotes: replace the content, escaped for its quote.
      return make(`Replace with '${suggestion}'`, target.lit.span, quoteString(suggestion, target.lit.quote).slice(1, -1));
    }
    case 'input-out-of-range': {
      const maxValid = data.maxValid;
      if (typeof maxValid !== 'number' || !Number.isInteger(maxValid) || maxValid < 0) return undefined;
      const label = maxValid === 0 ? 'c_{k-2}' : maxValid === 1 ? 'c_{k-1}' : `node ${maxValid}`;
      return make(`Change input to ${maxValid} (${label}), the last valid node`, diagnostic.span, String(maxValid));
    }
    case 'dead-node': {
      const node = data.node;
      const cell = data.cell;
      const def = genotypeDefAt(analysis.doc.file, diagnostic.span.start);
      if (typeof node !== 'number' || (cell !== 'normal' && cell !== 'reduce') || !def) return undefined;
      const concat = cell === 'normal' ? def.call.normalConcat : def.call.reduceConcat;
      if (!concat) return undefined;
      const values = [...new Set([...concat.items.map((i) => i.value), node])].sort((a, b) => a - b);
      return make(`Add node ${node} to ${cell}_concat`, concat.span, printConcat(values, concat.form));
    }
    default:
      return undefined;
  }
}

/** The concat under the range: its value or its `normal_concat=` keyword. */
function concatAt(analysis: Analysis, span: Span): ConcatNode | undefined {
  const target = locate(analysis.doc.file, span.start);
  if (target?.kind === 'concat') return target.concat;
  const def = genotypeDefAt(analysis.doc.file, span.start);
  for (const arg of def?.call.args ?? []) {
    if (arg.value && 'form' in arg.value && overlaps(arg.span, span)) return arg.value;
  }
  return undefined;
}

function concatRewrite(analysis: Analysis, span: Span): CodeAction | undefined {
  const concat = concatAt(analysis, span);
  if (!concat || concat.items.length === 0) return undefined;
  const values = concat.items.map((i) => i.value);
  if (concat.form === 'range') {
    const text = printConcat(values, 'list');
    return { title: `Convert to the list ${text}`, kind: CodeActionKind.RefactorRewrite, edit: edit(analysis, concat.span, text) };
  }
  if (!isContiguous(values)) return undefined;
  const text = printConcat(values, 'range');
  return { title: `Convert to ${text}`, kind: CodeActionKind.RefactorRewrite, edit: edit(analysis, concat.span, text) };
}
