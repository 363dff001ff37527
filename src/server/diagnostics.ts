/**
 * Core diagnostics → LSP diagnostics: same code, severity and message,
 * `source: 'cellscope'`, related information pointing into the same
 * document, and the core's data payload carried along (quick fixes re-read
 * it from the server's own analysis, so the client copy is informational).
 */
import { DiagnosticSeverity, DiagnosticTag, type Diagnostic } from 'vscode-languageserver';
import type { Diagnostic as CoreDiagnostic, Severity } from '../genotype/ast.js';
import type { Analysis } from './analysis.js';
import { toRange } from './positions.js';

export const DIAGNOSTIC_SOURCE = 'cellscope';

const SEVERITY: Readonly<Record<Severity, DiagnosticSeverity>> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function toLspDiagnostic(analysis: Analysis, diagnostic: CoreDiagnostic, relatedInformation: boolean): Diagnostic {
  const result: Diagnostic = {
    range: toRange(analysis.lines, diagnostic.span),
    severity: SEVERITY[diagnostic.severity] ?? DiagnosticSeverity.Error,
    code: diagnostic.code,
    source: DIAGNOSTIC_SOURCE,
    message: diagnostic.message,
  };
  // A dead node's entries are code that has no effect: editors fade them.
  if (diagnostic.code === 'dead-node') result.tags = [DiagnosticTag.Unnecessary];
  if (relatedInformation && diagnostic.related && diagnostic.related.length > 0) {
    result.relatedInformation = diagnostic.related.map((related) => ({
      location: { uri: analysis.uri, range: toRange(analysis.lines, related.span) },
      message: related.message,
    }));
  }
  if (diagnostic.data) result.data = diagnostic.data;
  return result;
}

export function documentDiagnostics(analysis: Analysis, relatedInformation: boolean): Diagnostic[] {
  return analysis.doc.diagnostics.map((d) => toLspDiagnostic(analysis, d, relatedInformation));
}
