/**
 * Syntax moved by an edit above it: copies of statements, comments and
 * diagnostics with every span moved by `delta` UTF-16 units. Incremental
 * analysis (incremental.ts) keeps the statements an edit did not touch and
 * moves them instead of parsing them again.
 *
 * The copies have exactly the shape the parser gives (optional properties
 * absent, not undefined), the same sharing the parser sets up (an argument's
 * value is the very node the call holds as `normal`, ...; the items of a
 * range(a, b) share the call's span) and the same completeness for genotypeOf.
 * Written out per node type rather than as a generic walk: this runs over every
 * statement below an edit on every keystroke.
 */
import type {
  ArgNode,
  Building,
  CellListNode,
  Comment,
  ConcatNode,
  Diagnostic,
  EntryNode,
  GenotypeCallNode,
  Ident,
  NumberLit,
  RelatedInfo,
  Span,
  Statement,
  StringLit,
} from './ast.js';
import { copyCompleteness } from './parser.js';

function span(s: Span, delta: number): Span {
  return { start: s.start + delta, end: s.end + delta };
}

function ident(i: Ident, delta: number): Ident {
  return { text: i.text, span: span(i.span, delta) };
}

function number(n: NumberLit, delta: number): NumberLit {
  return { value: n.value, span: span(n.span, delta) };
}

function string(s: StringLit, delta: number): StringLit {
  return { value: s.value, span: span(s.span, delta), quote: s.quote };
}

function entry(e: EntryNode, delta: number): EntryNode {
  const s = span(e.span, delta);
  if (e.op && e.input) return { span: s, op: string(e.op, delta), input: number(e.input, delta) };
  if (e.op) return { span: s, op: string(e.op, delta) };
  if (e.input) return { span: s, input: number(e.input, delta) };
  return { span: s };
}

function cellList(list: CellListNode, delta: number): CellListNode {
  const entries: EntryNode[] = new Array<EntryNode>(list.entries.length);
  for (let i = 0; i < entries.length; i++) entries[i] = entry(list.entries[i]!, delta);
  const copy: CellListNode = { span: span(list.span, delta), entries };
  copyCompleteness(list, copy);
  return copy;
}

function concat(node: ConcatNode, delta: number): ConcatNode {
  const s = span(node.span, delta);
  let items: NumberLit[];
  if (node.form === 'range') {
    // range(a, b): every value carries the span of the call, as the parser gives it.
    items = node.items.map((item) => ({ value: item.value, span: item.span === node.span ? s : span(item.span, delta) }));
  } else {
    items = node.items.map((item) => number(item, delta));
  }
  const copy: ConcatNode = node.bounds
    ? { span: s, form: node.form, items, bounds: [number(node.bounds[0], delta), number(node.bounds[1], delta)] }
    : { span: s, form: node.form, items };
  copyCompleteness(node, copy);
  return copy;
}

function value(v: CellListNode | ConcatNode, delta: number): CellListNode | ConcatNode {
  return 'entries' in v ? cellList(v, delta) : concat(v, delta);
}

function call(c: GenotypeCallNode, delta: number): GenotypeCallNode {
  const moved = new Map<CellListNode | ConcatNode, CellListNode | ConcatNode>();
  const args: ArgNode[] = c.args.map((arg) => {
    const copy: Building<ArgNode> = { span: span(arg.span, delta) };
    if (arg.field) copy.field = arg.field;
    if (arg.keyword) copy.keyword = ident(arg.keyword, delta);
    if (arg.value) {
      const v = value(arg.value, delta);
      moved.set(arg.value, v);
      copy.value = v;
    }
    return copy;
  });
  // The call's fields are values of its arguments: the copies keep that identity.
  const out: Building<GenotypeCallNode> = { span: span(c.span, delta), callee: ident(c.callee, delta), args };
  if (c.normal) out.normal = (moved.get(c.normal) as CellListNode | undefined) ?? cellList(c.normal, delta);
  if (c.normalConcat) out.normalConcat = (moved.get(c.normalConcat) as ConcatNode | undefined) ?? concat(c.normalConcat, delta);
  if (c.reduce) out.reduce = (moved.get(c.reduce) as CellListNode | undefined) ?? cellList(c.reduce, delta);
  if (c.reduceConcat) out.reduceConcat = (moved.get(c.reduceConcat) as ConcatNode | undefined) ?? concat(c.reduceConcat, delta);
  return out;
}

export function shiftStatement(statement: Statement, delta: number): Statement {
  switch (statement.kind) {
    case 'genotype':
      return { kind: 'genotype', span: span(statement.span, delta), name: ident(statement.name, delta), call: call(statement.call, delta) };
    case 'alias':
      return { kind: 'alias', span: span(statement.span, delta), name: ident(statement.name, delta), target: ident(statement.target, delta) };
    case 'primitives':
      return { kind: 'primitives', span: span(statement.span, delta), name: ident(statement.name, delta), ops: statement.ops.map((op) => string(op, delta)) };
    case 'python':
      return { kind: 'python', span: span(statement.span, delta), what: statement.what };
  }
}

export function shiftComment(comment: Comment, delta: number): Comment {
  return { span: span(comment.span, delta), text: comment.text };
}

function related(info: RelatedInfo, delta: number): RelatedInfo {
  return { span: span(info.span, delta), message: info.message };
}

/** Diagnostic payloads hold names and numbers, never spans: they are shared, not copied. */
export function shiftDiagnostic(d: Diagnostic, delta: number): Diagnostic {
  const out: Building<Diagnostic> = { span: span(d.span, delta), severity: d.severity, code: d.code, message: d.message };
  if ('related' in d) out.related = d.related?.map((r) => related(r, delta));
  if ('data' in d) out.data = d.data;
  return out;
}
