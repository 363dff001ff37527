/**
 * What sits at an offset of an analysed document: an operation, an input
 * index, a concat, a genotype name, an alias target. Hover, go to definition,
 * rename and quick fixes all start from this one lookup.
 */
import type {
  AliasDef,
  CellListNode,
  ConcatNode,
  EntryNode,
  GenotypeDef,
  GenotypeFile,
  Ident,
  NumberLit,
  Statement,
  StringLit,
} from '../genotype/ast.js';
import type { CellKind } from '../genotype/model.js';
import { touches } from './positions.js';

export type Target =
  | { readonly kind: 'op'; readonly def: GenotypeDef; readonly cell: CellKind; readonly list: CellListNode; readonly entryIndex: number; readonly entry: EntryNode; readonly lit: StringLit }
  | { readonly kind: 'input'; readonly def: GenotypeDef; readonly cell: CellKind; readonly list: CellListNode; readonly entryIndex: number; readonly entry: EntryNode; readonly lit: NumberLit }
  | { readonly kind: 'concat'; readonly def: GenotypeDef; readonly cell: CellKind; readonly concat: ConcatNode }
  /** The name a genotype or alias definition introduces. */
  | { readonly kind: 'name'; readonly def: GenotypeDef | AliasDef; readonly ident: Ident }
  /** The right-hand side of `ALIAS = TARGET`. */
  | { readonly kind: 'alias-target'; readonly def: AliasDef; readonly ident: Ident }
  | { readonly kind: 'primitive'; readonly lit: StringLit };

/** The statement whose span holds `offset` (statements are in document order, so a binary search). */
export function statementAt(file: GenotypeFile, offset: number): Statement | undefined {
  const statements = file.statements;
  let lo = 0;
  let hi = statements.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (statements[mid]!.span.start <= offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  const statement = found >= 0 ? statements[found] : undefined;
  return statement && touches(statement.span, offset) ? statement : undefined;
}

export function locate(file: GenotypeFile, offset: number): Target | undefined {
  const statement = statementAt(file, offset);
  if (!statement) return undefined;
  switch (statement.kind) {
    case 'alias':
      if (touches(statement.name.span, offset)) return { kind: 'name', def: statement, ident: statement.name };
      if (touches(statement.target.span, offset)) return { kind: 'alias-target', def: statement, ident: statement.target };
      return undefined;
    case 'primitives': {
      const lit = statement.ops.find((op) => touches(op.span, offset));
      return lit ? { kind: 'primitive', lit } : undefined;
    }
    case 'genotype':
      return locateInGenotype(statement, offset);
    default:
      return undefined;
  }
}

function locateInGenotype(def: GenotypeDef, offset: number): Target | undefined {
  if (touches(def.name.span, offset)) return { kind: 'name', def, ident: def.name };
  const call = def.call;
  for (const cell of ['normal', 'reduce'] as const) {
    const list = cell === 'normal' ? call.normal : call.reduce;
    if (list && touches(list.span, offset)) {
      const entryIndex = list.entries.findIndex((entry) => touches(entry.span, offset));
      const entry = list.entries[entryIndex];
      if (!entry) return undefined;
      if (entry.op && touches(entry.op.span, offset)) return { kind: 'op', def, cell, list, entryIndex, entry, lit: entry.op };
      if (entry.input && touches(entry.input.span, offset)) return { kind: 'input', def, cell, list, entryIndex, entry, lit: entry.input };
      return undefined;
    }
    const concat = cell === 'normal' ? call.normalConcat : call.reduceConcat;
    if (concat && touches(concat.span, offset)) return { kind: 'concat', def, cell, concat };
  }
  return undefined;
}

/** The genotype definition whose span holds the offset, if any. */
export function genotypeDefAt(file: GenotypeFile, offset: number): GenotypeDef | undefined {
  const statement = statementAt(file, offset);
  return statement?.kind === 'genotype' ? statement : undefined;
}
