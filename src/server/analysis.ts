/**
 * One analysis per document version: `analyze()` runs once per edit (and per
 * change of the extra operations), and every request on that version —
 * diagnostics, hover, lenses, symbols, completion — reads the cached result.
 */
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { LineIndex } from '../genotype/ast.js';
import { analyze, type AnalyzedDocument } from '../genotype/document.js';

export interface Analysis {
  readonly uri: string;
  readonly version: number;
  readonly text: string;
  readonly doc: AnalyzedDocument;
  readonly lines: LineIndex;
}

interface Entry {
  readonly analysis: Analysis;
  readonly opsKey: string;
}

export class AnalysisCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly extraOps: () => readonly string[]) {}

  /** The analysis of the document's current version (computed on first use). */
  get(document: TextDocument): Analysis {
    const ops = this.extraOps();
    const opsKey = ops.join('\u0000');
    const cached = this.entries.get(document.uri);
    if (cached && cached.analysis.version === document.version && cached.opsKey === opsKey) return cached.analysis;
    const text = document.getText();
    const analysis: Analysis = {
      uri: document.uri,
      version: document.version,
      text,
      doc: analyze(text, { extraOps: ops }),
      lines: new LineIndex(text),
    };
    this.entries.set(document.uri, { analysis, opsKey });
    return analysis;
  }

  delete(uri: string): void {
    this.entries.delete(uri);
  }

  clear(): void {
    this.entries.clear();
  }
}
