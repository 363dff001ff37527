/**
 * The outline: each genotype with its normal and reduce cells, each alias
 * with its target, and the PRIMITIVES list. Flat SymbolInformation for
 * clients without hierarchical document symbols.
 */
import { SymbolKind, type DocumentSymbol, type SymbolInformation } from 'vscode-languageserver';
import type { CellListNode, ConcatNode, Span } from '../genotype/ast.js';
import type { Analysis } from './analysis.js';
import { toRange } from './positions.js';

function cellDetail(list: CellListNode, concat: ConcatNode | undefined): string {
  const nodes = Math.ceil(list.entries.length / 2);
  const parts = [`${nodes} node${nodes === 1 ? '' : 's'}`];
  if (concat) parts.push(`concat ${concat.form === 'range' && concat.bounds ? `range(${concat.bounds[0].value}, ${concat.bounds[1].value})` : `[${concat.items.map((i) => i.value).join(', ')}]`}`);
  return parts.join(' · ');
}

function cover(a: Span, b: Span | undefined): Span {
  return b ? { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) } : a;
}

export function documentSymbols(analysis: Analysis): DocumentSymbol[] {
  const range = (span: Span) => toRange(analysis.lines, span);
  const symbols: DocumentSymbol[] = [];
  for (const statement of analysis.doc.file.statements) {
    if (statement.kind === 'genotype') {
      const call = statement.call;
      const children: DocumentSymbol[] = [];
      for (const cell of ['normal', 'reduce'] as const) {
        const list = cell === 'normal' ? call.normal : call.reduce;
        const concat = cell === 'normal' ? call.normalConcat : call.reduceConcat;
        if (!list) continue;
        const arg = call.args.find((a) => a.value === list);
        const full = cover(arg?.span ?? list.span, concat ? call.args.find((a) => a.value === concat)?.span ?? concat.span : undefined);
        children.push({
          name: cell,
          detail: cellDetail(list, concat),
          kind: SymbolKind.Field,
          range: range(cover(full, list.span)),
          selectionRange: range(arg?.keyword?.span ?? list.span),
        });
      }
      symbols.push({
        name: statement.name.text,
        detail: call.callee.text,
        kind: SymbolKind.Class,
        range: range(statement.span),
        selectionRange: range(statement.name.span),
        children,
      });
    } else if (statement.kind === 'alias') {
      symbols.push({
        name: statement.name.text,
        detail: `= ${statement.target.text}`,
        kind: SymbolKind.Constant,
        range: range(statement.span),
        selectionRange: range(statement.name.span),
      });
    } else if (statement.kind === 'primitives') {
      symbols.push({
        name: statement.name.text,
        detail: `${statement.ops.length} operations`,
        kind: SymbolKind.Enum,
        range: range(statement.span),
        selectionRange: range(statement.name.span),
        children: statement.ops.map((op) => ({ name: op.value || "''", kind: SymbolKind.EnumMember, range: range(op.span), selectionRange: range(op.span) })),
      });
    }
  }
  return symbols;
}

/** The same outline flattened, for clients without hierarchicalDocumentSymbolSupport. */
export function symbolInformation(analysis: Analysis): SymbolInformation[] {
  const out: SymbolInformation[] = [];
  const walk = (symbols: readonly DocumentSymbol[], container: string | undefined): void => {
    for (const s of symbols) {
      out.push({ name: s.name, kind: s.kind, location: { uri: analysis.uri, range: s.range }, ...(container ? { containerName: container } : {}) });
      if (s.children) walk(s.children, s.name);
    }
  };
  walk(documentSymbols(analysis), undefined);
  return out;
}
