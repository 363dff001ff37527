/**
 * Completion while typing a genotype, where the text is usually broken: the
 * context (inside an operation string, at an entry's input, after `NAME = `)
 * is read from the raw text around the cursor rather than from the syntax
 * tree, which for half-typed text may not hold the entry at all.
 */
import {
  CompletionItemKind,
  InsertTextFormat,
  type CompletionItem,
  type CompletionList,
  type Position,
} from 'vscode-languageserver';
import { IDENTIFIER_PATTERN, nameStartLength } from '../genotype/identifier.js';
import { LIBRARY } from '../genotype/library.js';
import { DARTS_PRIMITIVES, opInfo } from '../genotype/ops.js';
import type { Analysis } from './analysis.js';
import { toOffset } from './positions.js';

export const COMPLETION_TRIGGERS = ["'", '"', ',', '=', ' '];

export interface CompletionOptions {
  readonly snippets: boolean;
}

export type CompletionContext =
  | { readonly kind: 'op'; readonly contentStart: number; readonly contentEnd: number }
  | { readonly kind: 'input'; readonly node: number; readonly wordStart: number }
  | { readonly kind: 'name'; readonly defining: string; readonly wordStart: number };


/** `NAME = ` or `NAME = PARTIAL` at the end of a line: a definition being written (names as Python's, identifier.ts). */
const DEFINING = new RegExp(`^\\s*(${IDENTIFIER_PATTERN})\\s*=\\s*(${IDENTIFIER_PATTERN})?$`, 'u');

/** Start of the line holding `offset`. (lastIndexOf treats a negative start as 0, so offset 0 needs its own case.) */
function lineStartOf(text: string, offset: number): number {
  return offset <= 0 ? 0 : text.lastIndexOf('\n', offset - 1) + 1;
}

/** Start of the top-level statement the offset is in: the last line at or before it that starts in column 0 with a name. */
function statementStart(text: string, offset: number): number {
  let lineStart = lineStartOf(text, offset);
  while (lineStart > 0) {
    if (nameStartLength(text, lineStart) > 0) return lineStart;
    lineStart = lineStartOf(text, lineStart - 1);
  }
  return 0;
}

interface Open {
  readonly char: '(' | '[';
  tuples: number;
}

interface Scan {
  /** Open brackets at the offset, innermost last; for a `[`, how many `(` it holds so far. */
  readonly stack: Open[];
  /** Offset of the opening quote when the offset is inside a string. */
  readonly quoteAt?: number;
  readonly inComment: boolean;
}

/** Brackets, strings and comments from `from` up to `offset`. */
function scan(text: string, from: number, offset: number): Scan {
  const stack: Open[] = [];
  let quote: string | undefined;
  let quoteAt = -1;
  for (let i = from; i < offset; i++) {
    const ch = text[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote || ch === '\n') quote = undefined;
      continue;
    }
    if (ch === '#') {
      const newline = text.indexOf('\n', i);
      if (newline < 0 || newline >= offset) return { stack, inComment: true };
      i = newline;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      quoteAt = i;
    } else if (ch === '[') stack.push({ char: '[', tuples: 0 });
    else if (ch === '(') {
      const top = stack[stack.length - 1];
      if (top?.char === '[') top.tuples++;
      stack.push({ char: '(', tuples: 0 });
    } else if (ch === ']' || ch === ')') stack.pop();
  }
  return quote ? { stack, quoteAt, inComment: false } : { stack, inComment: false };
}

export function completionContext(text: string, offset: number): CompletionContext | undefined {
  const at = Math.max(0, Math.min(offset, text.length));
  const state = scan(text, statementStart(text, at), at);
  if (state.inComment) return undefined;
  if (state.quoteAt !== undefined) {
    const quote = text[state.quoteAt]!;
    let contentEnd = at;
    while (contentEnd < text.length && /[\w.-]/.test(text[contentEnd]!)) contentEnd++;
    if (text[contentEnd] !== quote) contentEnd = at;
    return { kind: 'op', contentStart: state.quoteAt + 1, contentEnd };
  }
  const lineStart = lineStartOf(text, at);
  const before = text.slice(lineStart, at);
  const top = state.stack[state.stack.length - 1];
  const list = state.stack[state.stack.length - 2];
  const input = /(['"])[^'"\n]*\1\s*,\s*(\d*)$/.exec(before);
  if (input && top?.char === '(' && list?.char === '[' && list.tuples > 0) {
    // The entry being typed is the list's n-th tuple; entries 2i and 2i+1 feed node i+2.
    const node = 2 + Math.floor((list.tuples - 1) / 2);
    return { kind: 'input', node, wordStart: at - input[2]!.length };
  }
  const name = DEFINING.exec(before);
  if (name && state.stack.length === 0 && name[1] !== 'PRIMITIVES') {
    return { kind: 'name', defining: name[1]!, wordStart: at - (name[2]?.length ?? 0) };
  }
  return undefined;
}

export function completion(analysis: Analysis, position: Position, options: CompletionOptions): CompletionList {
  const offset = toOffset(analysis.lines, position);
  const context = completionContext(analysis.text, offset);
  const empty: CompletionList = { isIncomplete: false, items: [] };
  if (!context) return empty;
  const range = (start: number, end: number) => ({ start: analysis.lines.positionAt(start), end: analysis.lines.positionAt(end) });
  switch (context.kind) {
    case 'op': {
      const edit = range(context.contentStart, context.contentEnd);
      const ops = [...analysis.doc.knownOps];
      const rank = (op: string): number => {
        const i = DARTS_PRIMITIVES.indexOf(op);
        return i >= 0 ? i : opInfo(op) ? 100 : 200;
      };
      ops.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
      return {
        isIncomplete: false,
        items: ops.map((op, i): CompletionItem => {
          const info = opInfo(op);
          return {
            label: op,
            kind: CompletionItemKind.EnumMember,
            detail: info ? info.description : 'custom operation (PRIMITIVES or settings)',
            sortText: String(i).padStart(4, '0'),
            textEdit: { range: edit, newText: op },
          };
        }),
      };
    }
    case 'input': {
      const edit = range(context.wordStart, offset);
      const items: CompletionItem[] = [];
      for (let n = 0; n < context.node; n++) {
        const label = n === 0 ? 'c_{k-2}' : n === 1 ? 'c_{k-1}' : `node ${n}`;
        items.push({
          label: String(n),
          labelDetails: { description: label },
          kind: CompletionItemKind.Value,
          detail: `input ${n} → ${label} (this entry feeds node ${context.node})`,
          sortText: String(n).padStart(4, '0'),
          textEdit: { range: edit, newText: String(n) },
        });
      }
      return { isIncomplete: false, items };
    }
    case 'name': {
      const edit = range(context.wordStart, offset);
      const items: CompletionItem[] = [];
      const seen = new Set<string>([context.defining]);
      for (const g of analysis.doc.genotypes) {
        if (seen.has(g.name)) continue;
        seen.add(g.name);
        items.push({
          label: g.name,
          kind: g.def.kind === 'genotype' ? CompletionItemKind.Class : CompletionItemKind.Reference,
          detail: g.def.kind === 'genotype' ? 'genotype in this file' : `alias${g.aliasOf ? ` of ${g.aliasOf}` : ''} in this file`,
          sortText: `1${g.name}`,
          textEdit: { range: edit, newText: g.name },
        });
      }
      for (const entry of LIBRARY) {
        for (const name of [entry.name, ...(entry.aliases ?? [])]) {
          if (seen.has(name)) continue;
          seen.add(name);
          items.push({
            label: name,
            kind: CompletionItemKind.Class,
            detail: `built-in${name !== entry.name ? ` (${entry.name})` : ''}: ${entry.paper}`,
            sortText: `2${name}`,
            textEdit: { range: edit, newText: name },
          });
        }
      }
      items.push(genotypeSnippet(edit, options.snippets));
      return { isIncomplete: false, items };
    }
  }
}

function genotypeSnippet(range: { start: Position; end: Position }, snippets: boolean): CompletionItem {
  const snippet = [
    'Genotype(',
    "    normal=[('${1:sep_conv_3x3}', ${2:0}), ('${3:sep_conv_3x3}', ${4:1})],",
    '    normal_concat=[${5:2}],',
    "    reduce=[('${6:max_pool_3x3}', ${7:0}), ('${8:max_pool_3x3}', ${9:1})],",
    '    reduce_concat=[${10:2}],',
    ')$0',
  ].join('\n');
  const plain = snippet.replace(/\$\{\d+:([^}]*)\}/g, '$1').replace(/\$0/, '');
  return {
    label: 'Genotype(...)',
    kind: CompletionItemKind.Snippet,
    detail: 'a new genotype: normal and reduce cell, concat lists',
    sortText: '0Genotype',
    filterText: 'Genotype',
    insertTextFormat: snippets ? InsertTextFormat.Snippet : InsertTextFormat.PlainText,
    textEdit: { range, newText: snippets ? snippet : plain },
  };
}
