/**
 * Names across a file: go to definition of an alias's target, find every
 * reference of a genotype name, and rename one (its definitions and every
 * alias pointing at it). A name means what alias resolution says it means:
 * the file's own definition wins, otherwise a built-in genotype.
 */
import { ErrorCodes, ResponseError, type Location, type Position, type Range, type TextEdit, type WorkspaceEdit } from 'vscode-languageserver';
import type { Ident } from '../genotype/ast.js';
import { builtin } from '../genotype/library.js';
import { isIdentifier } from '../genotype/identifier.js';
import type { Analysis } from './analysis.js';
import { locate } from './locate.js';
import { toOffset, toRange } from './positions.js';

interface NameUse {
  readonly ident: Ident;
  /** A definition's own name (as opposed to the target of an alias). */
  readonly declaration: boolean;
}

/** What a name denotes: `file:NAME` for a name this file defines, `builtin:CANONICAL` for the library, else undefined. */
function meaning(analysis: Analysis, name: string): string | undefined {
  if (analysis.doc.byName.has(name)) return `file:${name}`;
  const entry = builtin(name);
  return entry ? `builtin:${entry.name}` : undefined;
}

function uses(analysis: Analysis): NameUse[] {
  const out: NameUse[] = [];
  for (const statement of analysis.doc.file.statements) {
    if (statement.kind === 'genotype') out.push({ ident: statement.name, declaration: true });
    else if (statement.kind === 'alias') {
      out.push({ ident: statement.name, declaration: true });
      out.push({ ident: statement.target, declaration: false });
    }
  }
  return out;
}

function nameAt(analysis: Analysis, position: Position): { ident: Ident; meaning: string } | undefined {
  const target = locate(analysis.doc.file, toOffset(analysis.lines, position));
  if (target?.kind !== 'name' && target?.kind !== 'alias-target') return undefined;
  const m = meaning(analysis, target.ident.text);
  return m ? { ident: target.ident, meaning: m } : undefined;
}

export function definition(analysis: Analysis, position: Position): Location[] {
  const at = nameAt(analysis, position);
  if (!at || !at.meaning.startsWith('file:')) return [];
  const def = analysis.doc.byName.get(at.ident.text)?.def;
  return def ? [{ uri: analysis.uri, range: toRange(analysis.lines, def.name.span) }] : [];
}

export function references(analysis: Analysis, position: Position, includeDeclaration: boolean): Location[] {
  const at = nameAt(analysis, position);
  if (!at) return [];
  return uses(analysis)
    .filter((use) => (includeDeclaration || !use.declaration) && meaning(analysis, use.ident.text) === at.meaning)
    .map((use) => ({ uri: analysis.uri, range: toRange(analysis.lines, use.ident.span) }));
}

export function prepareRename(analysis: Analysis, position: Position): { range: Range; placeholder: string } | null {
  const at = nameAt(analysis, position);
  if (!at) return null;
  if (!at.meaning.startsWith('file:')) {
    throw new ResponseError(ErrorCodes.InvalidRequest, `'${at.ident.text}' is a built-in genotype; only names defined in this file can be renamed`);
  }
  return { range: toRange(analysis.lines, at.ident.span), placeholder: at.ident.text };
}

const RESERVED = new Set(['Genotype', 'PRIMITIVES', 'range', 'namedtuple', 'import', 'from', 'as', 'None', 'True', 'False']);

export function rename(analysis: Analysis, position: Position, newName: string): WorkspaceEdit | null {
  const at = nameAt(analysis, position);
  if (!at) return null;
  if (!at.meaning.startsWith('file:')) {
    throw new ResponseError(ErrorCodes.InvalidRequest, `'${at.ident.text}' is a built-in genotype; only names defined in this file can be renamed`);
  }
  if (!isIdentifier(newName) || RESERVED.has(newName)) {
    throw new ResponseError(ErrorCodes.InvalidParams, `'${newName}' is not a valid genotype name (a Python identifier: letters, digits and _, not starting with a digit)`);
  }
  if (newName === at.ident.text) return { changes: { [analysis.uri]: [] } };
  const all = uses(analysis);
  if (analysis.doc.byName.has(newName) || all.some((use) => use.ident.text === newName)) {
    throw new ResponseError(ErrorCodes.InvalidParams, `'${newName}' is already used in this file`);
  }
  const edits: TextEdit[] = all
    .filter((use) => meaning(analysis, use.ident.text) === at.meaning)
    .map((use) => ({ range: toRange(analysis.lines, use.ident.span), newText: newName }));
  return { changes: { [analysis.uri]: edits } };
}
