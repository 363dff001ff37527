/**
 * Code lenses above every genotype and alias definition: the paper's metrics
 * and the parameter count at the configured size, plus `Show cell`,
 * `Sample variants` and `Train` for clients that declared those commands
 * (initializationOptions.clientCommands). A lens never names a command the
 * client does not have: the numbers lens has an empty command id, which
 * editors show as plain text.
 */
import type { CodeLens } from 'vscode-languageserver';
import type { Analysis } from './analysis.js';
import { toRange } from './positions.js';
import type { ServerSettings } from './settings.js';
import { lensTitle, summarize } from './summary.js';

export const SHOW_CELL_COMMAND = 'cellscope.showCell';
export const SAMPLE_VARIANTS_COMMAND = 'cellscope.sampleVariants';
export const TRAIN_COMMAND = 'cellscope.train';

export function codeLenses(analysis: Analysis, settings: ServerSettings, clientCommands: ReadonlySet<string>): CodeLens[] {
  const lenses: CodeLens[] = [];
  for (const resolved of analysis.doc.genotypes) {
    // A later duplicate of a name is ignored by every tool, so it gets no lens.
    if (analysis.doc.byName.get(resolved.name)?.def !== resolved.def) continue;
    if (!resolved.genotype) continue;
    const range = toRange(analysis.lines, resolved.def.name.span);
    lenses.push({ range, command: { title: lensTitle(summarize(resolved.genotype, settings.evaluation)), command: '' } });
    const args = [analysis.uri, resolved.name];
    if (clientCommands.has(SHOW_CELL_COMMAND)) lenses.push({ range, command: { title: 'Show cell', command: SHOW_CELL_COMMAND, arguments: args } });
    if (clientCommands.has(SAMPLE_VARIANTS_COMMAND)) {
      lenses.push({ range, command: { title: 'Sample variants', command: SAMPLE_VARIANTS_COMMAND, arguments: args } });
    }
    if (clientCommands.has(TRAIN_COMMAND)) lenses.push({ range, command: { title: 'Train', command: TRAIN_COMMAND, arguments: args } });
  }
  return lenses;
}
