/**
 * Hovers: what an operation is and costs, which node an input index reads,
 * and a genotype's width, depth, parameters and multiply-accumulates (with
 * paper and source for the built-in library).
 */
import { MarkupKind, type Hover, type Position } from 'vscode-languageserver';
import type { CellListNode, GenotypeDef } from '../genotype/ast.js';
import { findGenotype, type ResolvedGenotype } from '../genotype/document.js';
import { formatCount, opParams, type NetworkSize } from '../genotype/metrics.js';
import { nodeOfEntry, type CellKind } from '../genotype/model.js';
import { opInfo } from '../genotype/ops.js';
import type { Analysis } from './analysis.js';
import { locate, type Target } from './locate.js';
import { toOffset, toRange } from './positions.js';
import type { ServerSettings } from './settings.js';
import { groupDigits, summarize, summaryMarkdown } from './summary.js';

export function hover(analysis: Analysis, position: Position, settings: ServerSettings): Hover | null {
  const target = locate(analysis.doc.file, toOffset(analysis.lines, position));
  if (!target) return null;
  const lines = hoverLines(analysis, target, settings);
  if (lines.length === 0) return null;
  const span = target.kind === 'concat' ? target.concat.span : target.kind === 'name' || target.kind === 'alias-target' ? target.ident.span : target.lit.span;
  return { contents: { kind: MarkupKind.Markdown, value: lines.join('\n') }, range: toRange(analysis.lines, span) };
}

function hoverLines(analysis: Analysis, target: Target, settings: ServerSettings): string[] {
  switch (target.kind) {
    case 'op':
      return opLines(analysis, target.lit.value, target.cell, target.entry.input?.value, settings.evaluation);
    case 'primitive':
      return opLines(analysis, target.lit.value, undefined, undefined, settings.evaluation);
    case 'input':
      return inputLines(target.def, target.cell, target.list, target.entryIndex, target.lit.value);
    case 'name': {
      const resolved = analysis.doc.genotypes.find((g) => g.def === target.def);
      return resolved ? genotypeLines(resolved, settings.evaluation) : [];
    }
    case 'alias-target': {
      const resolved = findGenotype(analysis.doc, target.ident.text);
      return resolved ? genotypeLines(resolved, settings.evaluation) : [`**${target.ident.text}**: not defined in this file and not a built-in genotype`];
    }
    case 'concat':
      return [];
  }
}

function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

function opLines(analysis: Analysis, op: string, cell: CellKind | undefined, input: number | undefined, size: NetworkSize): string[] {
  const info = opInfo(op);
  if (!info) {
    if (analysis.doc.knownOps.has(op)) {
      return [`${code(op)}: custom operation (from this file's PRIMITIVES or the extra operations setting); no cost model, counted as 0 parameters`];
    }
    return [`${code(op)}: unknown operation`];
  }
  const lines = [`**${info.name}**: ${info.description}`, ''];
  const shape: string[] = [];
  if (info.kernel !== undefined) shape.push(`kernel ${info.kernel}×${info.kernel}`);
  if (info.dilation !== undefined) shape.push(`dilation ${info.dilation}`);
  shape.push(`family ${info.family.replace('_', ' ')}`);
  lines.push(shape.join(' · '), '');
  const c = size.channels;
  // In a reduction cell an operation reading a cell input (0 or 1) runs at stride 2.
  const strided = cell === 'reduce' && input !== undefined && input < 2;
  const stride: 1 | 2 = strided ? 2 : 1;
  const params = opParams(op, c, stride);
  lines.push(`Parameters at C = ${c}${strided ? ', stride 2 (reads a cell input in a reduction cell)' : ''}: **${groupDigits(params)}**`);
  const later = [2 * c, 4 * c].map((channels) => `${formatCount(opParams(op, channels, stride))} at ${channels}`);
  lines.push('', `(cells of later stages have 2C and 4C channels: ${later.join(', ')})`);
  return lines;
}

function describeInput(n: number): string {
  if (n === 0) return 'c_{k-2}: the output of the cell before the previous one';
  if (n === 1) return 'c_{k-1}: the output of the previous cell';
  return `node ${n}`;
}

function entryText(list: CellListNode, index: number): string | undefined {
  const entry = list.entries[index];
  if (!entry) return undefined;
  return `(${entry.op ? `'${entry.op.value}'` : '?'}, ${entry.input ? entry.input.value : '?'})`;
}

function inputLines(def: GenotypeDef, cell: CellKind, list: CellListNode, entryIndex: number, value: number): string[] {
  const node = nodeOfEntry(entryIndex);
  const lines = [`Input **${value}** of node ${node} (${cell} cell of ${code(def.name.text)}) → ${describeInput(value)}`];
  if (!Number.isInteger(value) || value < 0 || value >= node) {
    lines.push('', `Out of range: node ${node} can read ${node <= 2 ? '0 or 1' : `0 to ${node - 1}`}.`);
    return lines;
  }
  if (value >= 2) {
    const first = 2 * (value - 2);
    const parts = [entryText(list, first), entryText(list, first + 1)].filter((t): t is string => t !== undefined);
    if (parts.length > 0) lines.push('', `node ${value} = ${parts.join(' + ')}`);
  }
  return lines;
}

function genotypeLines(resolved: ResolvedGenotype, size: NetworkSize): string[] {
  const title = resolved.aliasOf && resolved.aliasOf !== resolved.name ? `**${resolved.name}** = alias of **${resolved.aliasOf}**` : `**${resolved.name}**`;
  const lines = [title, ''];
  if (resolved.genotype) lines.push(...summaryMarkdown(summarize(resolved.genotype, size), size));
  else lines.push('This genotype has errors; fix them to see its width, depth and cost.');
  const entry = resolved.builtin;
  if (entry) {
    lines.push('', `Built-in: ${entry.paper}`, '', `Source: ${entry.source}`);
    if (entry.note) lines.push('', entry.note);
  }
  return lines;
}
