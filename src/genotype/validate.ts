/**
 * Semantic checks of a parsed genotype file: what the DARTS code would reject
 * or silently get wrong (unknown operations, inputs from the future, concat of
 * nodes that do not exist) and what is legal but almost certainly unintended
 * (dead nodes, `none` edges, a node that sums one operation with itself).
 * Each diagnostic sits on the exact characters at fault, so the editor, the
 * CLI and quick fixes can all point at them. The parser reports syntax; this
 * module never re-reports what the parser already flagged: an argument that
 * was written but did not parse is not also "missing", and counts that a
 * syntax error may have changed (empty, odd, dead nodes, which nodes exist)
 * are not judged in a list that holds one.
 *
 * Linear in the size of the file: one pass per statement, sets and maps for
 * every lookup, and alias chains memoised (names.ts).
 */
import {
  LineIndex,
  type AliasDef,
  type CellListNode,
  type ConcatNode,
  type Diagnostic,
  type GenotypeDef,
  type GenotypeFile,
  type NumberLit,
  type Span,
} from './ast.js';
import { consumersOf, deadNodes } from './graph.js';
import { LIBRARY } from './library.js';
import { CELL_KINDS, nodeOfEntry, type Cell, type CellKind } from './model.js';
import { nameTable, resolveAliases, type AliasResolution, type NameTable, type NamedDef } from './names.js';
import { KNOWN_OPS } from './ops.js';
import { nearestName } from './suggest.js';

export interface ValidationOptions {
  /** User-configured extra operation names (e.g. from a custom search space). */
  readonly extraOps?: readonly string[];
}

/** Every diagnostic code the parser and the validator emit; stable, part of the interface. */
export const DIAGNOSTIC_CODES = [
  // Parser (parser.ts), all errors:
  'syntax', //              text that is not a genotype file statement
  'duplicate-argument', //  a Genotype(...) field given twice
  'too-many-arguments', //  more than the four positional fields
  'unknown-argument', //    a keyword that is not normal, normal_concat, reduce or reduce_concat
  'unsupported-statement', // warning: a Python statement the genotype language skips (def, x = 5, print(...))
  // Validator (this module):
  'unknown-op', //          error: an operation that is neither in ops.ts, nor in the file's PRIMITIVES, nor in extraOps
  'input-out-of-range', //  error: an input index not smaller than the node it feeds
  'input-negative', //      error: a negative input index
  'input-not-integer', //   error: an input index with a fraction (nodes are whole numbers)
  'odd-entries', //         error: a cell with an odd number of entries (nodes take two each)
  'empty-cell', //          error: a cell list with no entries
  'concat-empty', //        error: an empty concat (the cell would have no output)
  'concat-unknown-node', // error: a concat entry naming a node the cell does not have
  'concat-input-node', //   error: a concat entry naming input node 0 or 1
  'concat-duplicate', //    error: a node listed twice in a concat
  'duplicate-name', //      error: a genotype or alias name defined a second time (the first is used)
  'unknown-alias', //       error: an alias of a name neither defined in the file nor built in
  'alias-cycle', //         error: aliases that lead back to themselves
  'missing-cell', //        error: Genotype(...) without its normal or reduce cell
  'missing-concat', //      error: Genotype(...) without normal_concat or reduce_concat
  'dead-node', //           warning: an intermediate node whose value never reaches the concat
  'none-op', //             warning: a `none` edge in a final genotype
  'identical-inputs', //    warning: both entries of a node are the same operation on the same input
] as const;

export type DiagnosticCode = (typeof DIAGNOSTIC_CODES)[number];

/** What one validation pass learns about a file; document.ts builds on it. */
export interface FileCheck {
  /** Semantic diagnostics only, in document order. */
  readonly diagnostics: Diagnostic[];
  readonly names: NameTable;
  readonly aliases: ReadonlyMap<AliasDef, AliasResolution>;
  readonly knownOps: ReadonlySet<string>;
  /** Definitions carrying at least one semantic error. */
  readonly defsWithErrors: ReadonlySet<NamedDef>;
  /** The checks of each genotype definition on its own, for incremental analysis to keep. */
  readonly genotypeChecks: ReadonlyMap<GenotypeDef, GenotypeCheck>;
}

/**
 * What the checks of one Genotype(...) definition found. It depends only on
 * the definition's own text (syntax errors inside it included) and on the
 * known operations, so it stays valid while other statements change.
 */
export interface GenotypeCheck {
  /** In the order the checks report them (checkFile sorts the whole file's). */
  readonly diagnostics: readonly Diagnostic[];
  readonly hasError: boolean;
}

/** Semantic diagnostics of a parsed file (syntax diagnostics stay in file.diagnostics). Never throws. */
export function validate(file: GenotypeFile, options?: ValidationOptions): Diagnostic[] {
  return checkFile(file, options).diagnostics;
}

/** Known operations: ops.ts, the file's own PRIMITIVES lists, and the user's extra names. */
export function knownOperations(file: GenotypeFile, options?: ValidationOptions): Set<string> {
  const known = new Set<string>(KNOWN_OPS.keys());
  for (const statement of file.statements) if (statement.kind === 'primitives') for (const op of statement.ops) known.add(op.value);
  for (const op of options?.extraOps ?? []) known.add(op);
  return known;
}

/**
 * Validates a parsed file. `reuse` may answer a genotype definition's checks
 * from an earlier run (incremental analysis, which knows the definition and the
 * known operations are unchanged); the rest is checked here. Cross-statement
 * checks (names, aliases) always run: they are cheap.
 */
export function checkFile(file: GenotypeFile, options?: ValidationOptions, reuse?: (def: GenotypeDef) => GenotypeCheck | undefined): FileCheck {
  const names = nameTable(file);
  const aliases = resolveAliases(names);
  const checker = new Checker(file, knownOperations(file, options), names, aliases);
  const genotypeChecks = new Map<GenotypeDef, GenotypeCheck>();
  for (const def of names.defs) {
    if (def.kind === 'genotype') {
      const check = reuse?.(def) ?? checker.checkGenotype(def);
      genotypeChecks.set(def, check);
      checker.add(def, check);
    } else {
      checker.current = def;
      checker.alias(def);
    }
  }
  checker.current = undefined;
  for (const { def, first } of names.duplicates) checker.duplicate(def, first);
  const diagnostics = checker.diagnostics.sort((a, b) => a.span.start - b.span.start);
  return { diagnostics, names, aliases, knownOps: checker.knownOps, defsWithErrors: checker.defsWithErrors, genotypeChecks };
}

/** What node `node` may read, e.g. "c_{k-2}=0, c_{k-1}=1 or nodes 2–3". */
function readableInputs(node: number): string {
  if (node <= 2) return 'c_{k-2}=0 or c_{k-1}=1';
  if (node === 3) return 'c_{k-2}=0, c_{k-1}=1 or node 2';
  return `c_{k-2}=0, c_{k-1}=1 or nodes 2–${node - 1}`;
}

/** "nodes 2–5", "node 2", or "no nodes" for a cell with `count` intermediate nodes. */
function nodeRange(count: number): string {
  if (count <= 0) return 'no nodes';
  if (count === 1) return 'only node 2';
  return `nodes 2–${count + 1}`;
}

/**
 * Whether a concat lists distinct existing intermediate nodes: the usual case,
 * answered without allocating (a bit per node) so that a large file of sound
 * genotypes builds no message, map or list per concat.
 */
function isCleanConcat(items: readonly NumberLit[], nodeCount: number | undefined): boolean {
  const maxNode = nodeCount === undefined ? 31 : Math.min(31, nodeCount + 1);
  let seen = 0;
  for (const item of items) {
    const value = item.value;
    if (!Number.isInteger(value) || value < 2 || value > maxNode) return false;
    const bit = 1 << value;
    if (seen & bit) return false;
    seen |= bit;
  }
  return true;
}

/**
 * Whether every intermediate node reaches the output, answered without
 * allocating: a node's inputs are lower nodes, so one pass from the highest
 * node down, with a bit per node, marks everything live. Cells too large for
 * the bits answer false and take the general path (graph.ts), as does any cell
 * with a dead node, whose message needs it.
 */
function everyNodeLive(list: CellListNode, concat: ConcatNode): boolean {
  const entries = list.entries;
  const lastNode = Math.ceil(entries.length / 2) + 1;
  if (lastNode > 31) return false;
  let live = 0;
  for (const item of concat.items) if (item.value >= 2 && item.value <= lastNode) live |= 1 << item.value;
  for (let node = lastNode; node >= 2; node--) {
    if (!(live & (1 << node))) return false;
    for (let k = 2 * (node - 2); k < 2 * (node - 1) && k < entries.length; k++) {
      const input = entries[k]!.input?.value;
      if (input !== undefined && input >= 2 && input < node) live |= 1 << input;
    }
  }
  return true;
}

function cover(a: Span, b: Span): Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

class Checker {
  readonly diagnostics: Diagnostic[] = [];
  readonly defsWithErrors = new Set<NamedDef>();
  /** The definition being checked; errors found while it is set mark it broken. */
  current: NamedDef | undefined;
  private lines: LineIndex | undefined;
  private aliasCandidates: string[] | undefined;
  private readonly opSuggestions = new Map<string, string | undefined>();
  private readonly cycleMembers = new Map<readonly AliasDef[], Set<AliasDef>>();
  /** Starts of the syntax errors, ascending, for `hasSyntaxError`. */
  private readonly syntaxErrorStarts: number[];

  constructor(
    private readonly file: GenotypeFile,
    readonly knownOps: ReadonlySet<string>,
    private readonly names: NameTable,
    private readonly aliases: ReadonlyMap<AliasDef, AliasResolution>,
  ) {
    this.syntaxErrorStarts = file.diagnostics
      .filter((d) => d.severity === 'error')
      .map((d) => d.span.start)
      .sort((a, b) => a - b);
  }

  /** Whether a syntax error starts inside `span` (binary search: no scan per node). */
  private hasSyntaxError(span: Span): boolean {
    const starts = this.syntaxErrorStarts;
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]! < span.start) lo = mid + 1;
      else hi = mid;
    }
    return lo < starts.length && starts[lo]! < Math.max(span.end, span.start + 1);
  }

  /** Where `report` collects: the file's list, or one genotype definition's while it is checked. */
  private sink: Diagnostic[] = this.diagnostics;
  private sinkHasError = false;

  private report(diagnostic: Diagnostic): void {
    this.sink.push(diagnostic);
    if (diagnostic.severity === 'error') {
      this.sinkHasError = true;
      if (this.current) this.defsWithErrors.add(this.current);
    }
  }

  /** The checks of one genotype definition, collected apart from the file's. */
  checkGenotype(def: GenotypeDef): GenotypeCheck {
    const diagnostics: Diagnostic[] = [];
    this.sink = diagnostics;
    this.sinkHasError = false;
    this.current = undefined;
    this.genotype(def);
    const check: GenotypeCheck = { diagnostics, hasError: this.sinkHasError };
    this.sink = this.diagnostics;
    return check;
  }

  /** Adds a genotype definition's checks (made now or earlier) to the file's. */
  add(def: GenotypeDef, check: GenotypeCheck): void {
    for (const diagnostic of check.diagnostics) this.diagnostics.push(diagnostic);
    if (check.hasError) this.defsWithErrors.add(def);
  }

  private lineOf(offset: number): number {
    this.lines ??= new LineIndex(this.file.text);
    return this.lines.positionAt(offset).line + 1;
  }

  private genotype(def: GenotypeDef): void {
    const call = def.call;
    const written = (field: string) => call.args.some((arg) => arg.field === field);
    for (const kind of CELL_KINDS) {
      const list = kind === 'normal' ? call.normal : call.reduce;
      const concat = kind === 'normal' ? call.normalConcat : call.reduceConcat;
      const concatField = kind === 'normal' ? 'normal_concat' : 'reduce_concat';
      if (!list && !written(kind)) {
        this.report({
          span: call.callee.span,
          severity: 'error',
          code: 'missing-cell',
          message: `${call.callee.text}(...) of '${def.name.text}' has no ${kind} cell`,
          data: { field: kind },
        });
      }
      if (!concat && !written(concatField)) {
        this.report({
          span: call.callee.span,
          severity: 'error',
          code: 'missing-concat',
          message: `${call.callee.text}(...) of '${def.name.text}' has no ${concatField}`,
          data: { field: concatField },
        });
      }
      // A list with a syntax error in it may have lost entries: its length says nothing.
      const sound = list && !this.hasSyntaxError(list.span) ? list : undefined;
      if (list) this.cell(kind, list, sound !== undefined);
      const concatClean = concat && !this.hasSyntaxError(concat.span) ? this.concat(kind, concat, sound) : false;
      if (sound && concat && concatClean && sound.entries.length > 0) this.deadNodes(kind, sound, concat);
    }
  }

  private cell(kind: CellKind, list: CellListNode, sound: boolean): void {
    const entries = list.entries;
    if (entries.length === 0) {
      if (!sound) return;
      this.report({
        span: list.span,
        severity: 'error',
        code: 'empty-cell',
        message: `the ${kind} cell is empty: a cell needs two (operation, input) entries per intermediate node`,
        data: { cell: kind },
      });
      return;
    }
    if (entries.length % 2 === 1 && sound) {
      const lastNode = nodeOfEntry(entries.length - 1);
      this.report({
        span: list.span,
        severity: 'error',
        code: 'odd-entries',
        message: `the ${kind} cell has ${entries.length} entries: each node takes two, so node ${lastNode} has only one`,
        data: { cell: kind, entries: entries.length },
      });
    }
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const node = nodeOfEntry(i);
      if (entry.op) {
        const op = entry.op.value;
        if (!this.knownOps.has(op)) {
          const suggestion = this.opSuggestion(op);
          this.report({
            span: entry.op.span,
            severity: 'error',
            code: 'unknown-op',
            message: suggestion
              ? `unknown operation '${op}' — did you mean '${suggestion}'?`
              : `unknown operation '${op}' (node ${node}, ${kind}) — list it in the file's PRIMITIVES or in the extra operations setting`,
            data: { op, suggestion },
          });
        } else if (op === 'none') {
          this.report({
            span: entry.op.span,
            severity: 'warning',
            code: 'none-op',
            message: `'none' in a final genotype: this edge into node ${node} (${kind}) contributes only zeros`,
            data: { cell: kind, node },
          });
        }
      }
      if (entry.input) this.input(kind, node, entry.input);
    }
    for (let i = 0; i + 1 < entries.length; i += 2) {
      const a = entries[i]!;
      const b = entries[i + 1]!;
      if (a.op && b.op && a.input && b.input && a.op.value === b.op.value && a.input.value === b.input.value) {
        const node = nodeOfEntry(i);
        this.report({
          span: b.span,
          severity: 'warning',
          code: 'identical-inputs',
          message: `both entries of node ${node} (${kind}) are ('${b.op.value}', ${b.input.value}): the node sums the same operation of the same input twice`,
          related: [{ span: a.span, message: `first ('${a.op.value}', ${a.input.value}) of node ${node}` }],
          data: { cell: kind, node },
        });
      }
    }
  }

  /** A typo tends to repeat across a file: each unknown name is measured once. */
  private opSuggestion(op: string): string | undefined {
    if (!this.opSuggestions.has(op)) this.opSuggestions.set(op, nearestName(op, this.knownOps));
    return this.opSuggestions.get(op);
  }

  private input(kind: CellKind, node: number, input: NumberLit): void {
    const value = input.value;
    // The usual case, a valid input, builds no message: a large file has tens of thousands of inputs.
    if (Number.isInteger(value) && value >= 0 && value < node) return;
    const where = `input ${value} of node ${node} (${kind})`;
    const can = `node ${node} can read ${readableInputs(node)}`;
    if (!Number.isInteger(value)) {
      this.report({ span: input.span, severity: 'error', code: 'input-not-integer', message: `${where} is not a node number: ${can}`, data: { maxValid: node - 1 } });
    } else if (value < 0) {
      this.report({ span: input.span, severity: 'error', code: 'input-negative', message: `${where} is negative: ${can}`, data: { maxValid: node - 1 } });
    } else if (value >= node) {
      this.report({
        span: input.span,
        severity: 'error',
        code: 'input-out-of-range',
        message: `${where} must be smaller than ${node}: ${can}`,
        data: { maxValid: node - 1 },
      });
    }
  }

  /** Checks a concat against its cell; true when it has no error (dead-node analysis is only meaningful then). */
  private concat(kind: CellKind, concat: ConcatNode, list: CellListNode | undefined): boolean {
    const field = `${kind}_concat`;
    if (concat.items.length === 0) {
      this.report({
        span: concat.span,
        severity: 'error',
        code: 'concat-empty',
        message: `${field} is empty: the ${kind} cell would have no output`,
        data: { cell: kind },
      });
      return false;
    }
    // Without a parsed cell the node count is unknown: only what is wrong in any cell is reported.
    const nodeCount = list ? Math.ceil(list.entries.length / 2) : undefined;
    if (isCleanConcat(concat.items, nodeCount)) return true;
    const has = nodeCount === undefined ? '' : `the ${kind} cell has ${nodeRange(nodeCount)}`;
    const inputNodes: NumberLit[] = [];
    const unknownNodes: NumberLit[] = [];
    const first = new Map<number, NumberLit>();
    let clean = true;
    for (const item of concat.items) {
      const value = item.value;
      if (value === 0 || value === 1) inputNodes.push(item);
      else if (!Number.isInteger(value) || value < 2 || (nodeCount !== undefined && value > nodeCount + 1)) unknownNodes.push(item);
      const earlier = first.get(value);
      if (earlier) {
        clean = false;
        this.report({
          span: item.span,
          severity: 'error',
          code: 'concat-duplicate',
          message: `node ${value} is listed twice in ${field}`,
          related: [{ span: earlier.span, message: `first listing of node ${value}` }],
          data: { cell: kind, node: value },
        });
      } else first.set(value, item);
    }
    if (inputNodes.length > 0 || unknownNodes.length > 0) clean = false;
    // A range(a, b) gives every item the span of the call: one diagnostic per problem, not per value.
    const groups: Array<{ code: 'concat-input-node' | 'concat-unknown-node'; items: NumberLit[] }> = [];
    for (const [code, items] of [['concat-input-node', inputNodes], ['concat-unknown-node', unknownNodes]] as const) {
      if (concat.form === 'range') {
        if (items.length > 0) groups.push({ code, items });
      } else for (const item of items) groups.push({ code, items: [item] });
    }
    for (const { code, items } of groups) {
      const values = items.map((i) => i.value);
      const span = items.length === 1 ? items[0]!.span : concat.span;
      const shown = values.join(', ');
      const plural = values.length > 1 ? 's' : '';
      if (code === 'concat-input-node') {
        this.report({
          span,
          severity: 'error',
          code,
          message: `${field} names input node${plural} ${shown}: the output concatenates intermediate nodes only${nodeCount === undefined ? '' : ` (${nodeRange(nodeCount)})`}`,
          data: { cell: kind, nodes: values },
        });
      } else {
        this.report({
          span,
          severity: 'error',
          code,
          message: `${field} names node${plural} ${shown}, which ${values.length > 1 ? 'do' : 'does'} not exist${has ? `: ${has}` : ''}`,
          data: { cell: kind, nodes: values, ...(nodeCount === undefined ? {} : { maxNode: nodeCount + 1 }) },
        });
      }
    }
    return clean;
  }

  private deadNodes(kind: CellKind, list: CellListNode, concat: ConcatNode): void {
    // Fast path for the DARTS family, which concatenates every node: a sound concat
    // (distinct existing nodes) as long as the node count leaves nothing out.
    if (concat.items.length === Math.ceil(list.entries.length / 2)) return;
    if (everyNodeLive(list, concat)) return;
    // Missing parts become impossible inputs, which the graph helpers ignore.
    const cell: Cell = {
      edges: list.entries.map((entry) => ({ op: entry.op?.value ?? '', input: entry.input?.value ?? -1 })),
      concat: concat.items.map((item) => item.value),
    };
    const field = `${kind}_concat`;
    for (const node of deadNodes(cell)) {
      const firstEntry = list.entries[2 * (node - 2)]!;
      const secondEntry = list.entries[2 * (node - 2) + 1];
      const readers = consumersOf(cell, node);
      const why =
        readers.length === 0
          ? 'nothing in concat depends on it'
          : `nothing in concat depends on it (it only feeds dead node${readers.length > 1 ? 's' : ''} ${readers.join(', ')})`;
      this.report({
        span: secondEntry ? cover(firstEntry.span, secondEntry.span) : firstEntry.span,
        severity: 'warning',
        code: 'dead-node',
        message: `node ${node} (${kind}) is dead: ${why}`,
        related: [{ span: concat.span, message: `${field}, which neither lists node ${node} nor any node reading it` }],
        data: { cell: kind, node },
      });
    }
  }

  alias(def: AliasDef): void {
    const resolution = this.aliases.get(def);
    if (resolution?.kind === 'unknown' && resolution.at === def) {
      const target = def.target.text;
      const suggestion = nearestName(target, this.knownGenotypeNames());
      this.report({
        span: def.target.span,
        severity: 'error',
        code: 'unknown-alias',
        message: `'${def.name.text}' is an alias of '${target}', which is neither defined in this file nor a built-in genotype${suggestion ? ` — did you mean '${suggestion}'?` : ''}`,
        data: { target, suggestion },
      });
    } else if (resolution?.kind === 'cycle' && this.inCycle(resolution.cycle, def)) {
      const cycle = resolution.cycle;
      const start = cycle.indexOf(def);
      const order = [...cycle.slice(start), ...cycle.slice(0, start)];
      // Long loops are summarised so that the message stays readable and each one stays short.
      const shown = order.length <= 6 ? order.map((a) => a.name.text) : [...order.slice(0, 3).map((a) => a.name.text), `… (${order.length} aliases)`];
      const next = order[1 % order.length]!;
      this.report({
        span: def.target.span,
        severity: 'error',
        code: 'alias-cycle',
        message: `alias cycle: ${[...shown, def.name.text].join(' → ')} never reaches a genotype`,
        related: [{ span: next.name.span, message: `'${next.name.text}' is an alias of '${next.target.text}'` }],
        data: { cycle: order.length <= 6 ? order.map((a) => a.name.text) : undefined },
      });
    }
  }

  private inCycle(cycle: readonly AliasDef[], def: AliasDef): boolean {
    let members = this.cycleMembers.get(cycle);
    if (!members) this.cycleMembers.set(cycle, (members = new Set(cycle)));
    return members.has(def);
  }

  private knownGenotypeNames(): string[] {
    if (!this.aliasCandidates) {
      this.aliasCandidates = [...this.names.first.keys()];
      for (const entry of LIBRARY) {
        if (!this.names.first.has(entry.name)) this.aliasCandidates.push(entry.name);
        for (const alias of entry.aliases ?? []) if (!this.names.first.has(alias)) this.aliasCandidates.push(alias);
      }
    }
    return this.aliasCandidates;
  }

  duplicate(def: NamedDef, first: NamedDef): void {
    this.current = def;
    const name = def.name.text;
    this.report({
      span: def.name.span,
      severity: 'error',
      code: 'duplicate-name',
      message: `'${name}' is already defined on line ${this.lineOf(first.name.span.start)}; this second definition is ignored`,
      related: [{ span: first.name.span, message: `first definition of '${name}'` }],
      data: { name },
    });
    this.current = undefined;
  }
}
