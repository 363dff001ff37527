/** Document formatting: the printer's stable layout (printer.ts formatEdits), as LSP text edits. */
import type { TextEdit } from 'vscode-languageserver';
import { formatEdits } from '../genotype/printer.js';
import type { Analysis } from './analysis.js';
import { toRange } from './positions.js';

export function formatting(analysis: Analysis): TextEdit[] {
  return formatEdits(analysis.doc.file).map((edit) => ({ range: toRange(analysis.lines, edit.span), newText: edit.newText }));
}
