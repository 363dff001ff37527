/**
 * One analysis per document version: computed once per edit (and per change
 * of the extra operations), and every request on that version — diagnostics,
 * hover, lenses, symbols, completion — reads the cached result.
 *
 * After an edit the analysis is updated incrementally from the previous
 * version's (genotype/incremental.ts: only the statements the edit touched are
 * parsed and checked again), and so is the line index; the edited range is
 * found once, by diffing the two texts, and serves both.
 */
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { LineIndex } from '../genotype/ast.js';
import type { AnalyzedDocument } from '../genotype/document.js';
import { IncrementalAnalysis, textChange } from '../genotype/incremental.js';

export interface Analysis {
  readonly uri: string;
  readonly version: number;
  readonly text: string;
  readonly doc: AnalyzedDocument;
  readonly lines: LineIndex;
}

interface Entry {
  readonly analysis: Analysis;
  readonly state: IncrementalAnalysis;
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
    const options = { extraOps: ops };
    let state: IncrementalAnalysis;
    let lines: LineIndex;
    if (cached) {
      const change = textChange(cached.state.text, text);
      state = cached.state.update(text, options, change);
      lines = LineIndex.afterEdit(cached.analysis.lines, text, change);
    } else {
      state = IncrementalAnalysis.of(text, options);
      lines = new LineIndex(text);
    }
    const analysis: Analysis = { uri: document.uri, version: document.version, text, doc: state.doc, lines };
    this.entries.set(document.uri, { analysis, state, opsKey });
    return analysis;
  }

  delete(uri: string): void {
    this.entries.delete(uri);
  }

  clear(): void {
    this.entries.clear();
  }
}
