/**
 * The paper's random variants of a genotype (Section 4.1 and the authors'
 * code): random connections, random operations and the adapted
 * widest/shallowest cell. The two random samplers replay the authors' numpy
 * calls on a bit-exact copy of numpy's legacy generator, so seed k gives
 * exactly what the authors' sampler script gives for seed k (random_conn /
 * random_ops of shuyao95/Understanding-NAS genotypes.py: its DARTS_CONNk,
 * DARTS_OPSk, NASNet_CONNk, …). It does not give the fixed variants written
 * into their loss-landscape fork (cifar10/models/darts.py's DARTS_CONN1…4,
 * DARTS_OPS1…5: other cells under the same names, shipped by name in
 * library.ts), nor their hand-made adapted cells (*_ADAPT, also in the
 * library); `adapted` below is our own rule. Pure and deterministic.
 */
import { type Cell, type Edge, type Genotype, nodeOfEntry } from './model.js';
import { DARTS_PRIMITIVES } from './ops.js';
import { NumpyRandomState } from './numpyRandom.js';
import { cellDepth, cellWidth, formatWidth } from './metrics.js';

export type VariantKind = 'connections' | 'ops' | 'adapt';

export const VARIANT_KINDS: readonly VariantKind[] = ['connections', 'ops', 'adapt'];

export class SamplingError extends Error {
  override readonly name = 'SamplingError';
}

function withInputs(cell: Cell, inputs: readonly number[]): Cell {
  return { ...cell, edges: cell.edges.map((e, i): Edge => ({ op: e.op, input: inputs[i]! })) };
}

function withOps(cell: Cell, ops: readonly string[]): Cell {
  return { ...cell, edges: cell.edges.map((e, i): Edge => ({ op: ops[i]!, input: e.input })) };
}

/**
 * Random connections as the authors drew them: `states` starts [0, 1]; for
 * entry i = 0..n-1 the normal entry's input and then the reduce entry's input
 * are each `choice(states, 1)`; after every odd i the node those two entries
 * feed joins `states`. Operations and concat lists are kept.
 *
 * n is the larger of the two cells' entry counts. When the cells differ in
 * length (the authors' cells never do), the shorter cell simply makes no draw
 * for entries it lacks, so the longer cell's draws stay interleaved in the
 * same order and equal-length cells reproduce the authors exactly.
 */
export function randomConnections(genotype: Genotype, seed: number): Genotype {
  const rs = new NumpyRandomState(seed);
  const normalCount = genotype.normal.edges.length;
  const reduceCount = genotype.reduce.edges.length;
  const states = [0, 1];
  const normal: number[] = [];
  const reduce: number[] = [];
  for (let i = 0; i < Math.max(normalCount, reduceCount); i++) {
    if (i < normalCount) normal.push(rs.choiceFrom(states));
    if (i < reduceCount) reduce.push(rs.choiceFrom(states));
    if (i % 2 === 1) states.push(nodeOfEntry(i));
  }
  return { normal: withInputs(genotype.normal, normal), reduce: withInputs(genotype.reduce, reduce) };
}

/**
 * Random operations as the authors drew them: `choice(7, n_normal)` for the
 * normal entries, then `choice(7, n_reduce)` for the reduce entries; draw d is
 * DARTS_PRIMITIVES[1 + d] (never `none`). Inputs and concat lists are kept.
 */
export function randomOperations(genotype: Genotype, seed: number): Genotype {
  const rs = new NumpyRandomState(seed);
  const draw = (cell: Cell) => rs.choice(7, cell.edges.length).map((d) => DARTS_PRIMITIVES[1 + d]!);
  const normalOps = draw(genotype.normal);
  const reduceOps = draw(genotype.reduce);
  return { normal: withOps(genotype.normal, normalOps), reduce: withOps(genotype.reduce, reduceOps) };
}

/**
 * The adapted widest/shallowest cell (the authors made theirs by hand): every
 * input re-pointed to node 0 or 1, operations and concat kept. Rule, per node:
 * entries whose input is already 0 or 1 keep it; each other entry takes, in
 * ascending order, an input node (0, then 1) not already used by the node's
 * other entry, and 1 when both are taken. So a node fed by (0, 3) becomes
 * (0, 1), (2, 3) becomes (0, 1), (1, 4) becomes (1, 0), and (1, 1) stays.
 * Every node is then fed only by the cell inputs: width Mc, depth 2.
 */
export function adapted(genotype: Genotype): Genotype {
  const adaptCell = (cell: Cell): Cell => {
    const inputs = cell.edges.map((e) => e.input);
    for (let first = 0; first < inputs.length; first += 2) {
      const entries = first + 1 < inputs.length ? [first, first + 1] : [first];
      const used = new Set<number>(entries.map((i) => inputs[i]!).filter((input) => input === 0 || input === 1));
      for (const i of entries) {
        if (inputs[i] === 0 || inputs[i] === 1) continue;
        const free = [0, 1].find((n) => !used.has(n)) ?? 1;
        inputs[i] = free;
        used.add(free);
      }
    }
    return withInputs(cell, inputs);
  };
  return { normal: adaptCell(genotype.normal), reduce: adaptCell(genotype.reduce) };
}

/** The variant of the given kind for seed `seed` (`adapt` ignores the seed). */
export function sampleVariant(genotype: Genotype, kind: VariantKind, seed: number): Genotype {
  switch (kind) {
    case 'connections':
      return randomConnections(genotype, seed);
    case 'ops':
      return randomOperations(genotype, seed);
    case 'adapt':
      return adapted(genotype);
  }
}

/** Wanted properties of a variant's normal cell (the paper's Figure-1 axes). */
export interface VariantConstraint {
  /** Width in units of c, e.g. 2.5 for 2.5c. */
  normalWidth?: number;
  normalDepth?: number;
}

export interface SampledVariant {
  seed: number;
  genotype: Genotype;
}

export interface FindOptions {
  /** How many variants to return. */
  count: number;
  /** First seed tried; default 1, the authors' first seed. */
  start?: number;
  /** Seeds tried at most before giving up; default 100000. */
  maxSeeds?: number;
}

const KIND_LABEL: Record<VariantKind, string> = {
  connections: 'random-connection',
  ops: 'random-operation',
  adapt: 'adapted',
};

const MAX_SEED = 0xffffffff;
/** Above this many connection patterns the feasibility check is skipped (cells of 7+ nodes). */
const MAX_PATTERNS = 100_000;

interface Shape {
  width: number;
  depth: number;
}

function sameWidth(a: number, b: number): boolean {
  return Math.abs(a - b) < 1e-9;
}

function satisfies(shape: Shape, constraint: VariantConstraint): boolean {
  return (
    (constraint.normalWidth === undefined || sameWidth(shape.width, constraint.normalWidth)) &&
    (constraint.normalDepth === undefined || shape.depth === constraint.normalDepth)
  );
}

function shapeOf(cell: Cell): Shape {
  return { width: cellWidth(cell), depth: cellDepth(cell) };
}

/**
 * Every (width, depth) a random-connection variant of `cell` can have, found by
 * enumerating connection patterns up to what cannot change width or depth: the
 * order of a node's two entries, and which of the two input nodes (0 or 1) an
 * entry reads. Returns undefined when even that is too many patterns.
 */
export function achievableConnectionShapes(cell: Cell): Shape[] | undefined {
  const count = cell.edges.length;
  // Options per node: each entry reads "an input node" or an earlier intermediate.
  const nodes: { entries: number[]; sources: number[] }[] = [];
  for (let first = 0; first < count; first += 2) {
    const node = nodeOfEntry(first);
    const sources = [-1]; // -1: an input node, written as 0 for the first and 1 for the second
    for (let n = 2; n < node; n++) sources.push(n);
    nodes.push({ entries: first + 1 < count ? [first, first + 1] : [first], sources });
  }
  let patterns = 1;
  for (const { entries, sources } of nodes) {
    const k = sources.length;
    patterns *= entries.length === 2 ? (k * (k + 1)) / 2 : k;
    if (patterns > MAX_PATTERNS) return undefined;
  }

  const shapes = new Map<string, Shape>();
  const inputs = new Array<number>(count).fill(0);
  const visit = (index: number): void => {
    if (index === nodes.length) {
      const shape = shapeOf(withInputs(cell, inputs));
      shapes.set(`${shape.width}/${shape.depth}`, shape);
      return;
    }
    const { entries, sources } = nodes[index]!;
    for (let a = 0; a < sources.length; a++) {
      // Unordered pairs: the second entry's source index is never below the first's.
      for (let b = entries.length === 2 ? a : 0; b < (entries.length === 2 ? sources.length : 1); b++) {
        const first = sources[a]!;
        inputs[entries[0]!] = first === -1 ? 0 : first;
        if (entries.length === 2) {
          const second = sources[b]!;
          inputs[entries[1]!] = second === -1 ? (first === -1 ? 1 : 0) : second;
        }
        visit(index + 1);
      }
    }
  };
  visit(0);
  return [...shapes.values()].sort((x, y) => x.width - y.width || x.depth - y.depth);
}

/** "1c–4c" for an unbroken run in steps of 0.5c, otherwise a list. */
function formatWidths(widths: number[]): string {
  const unique = [...new Set(widths)].sort((a, b) => a - b);
  const run = unique.length > 2 && unique.every((w, i) => i === 0 || sameWidth(w - unique[i - 1]!, 0.5));
  return run ? `${formatWidth(unique[0]!)}–${formatWidth(unique.at(-1)!)} (in steps of 0.5c)` : unique.map(formatWidth).join(', ');
}

function formatDepths(depths: number[]): string {
  const unique = [...new Set(depths)].sort((a, b) => a - b);
  const run = unique.length > 2 && unique.every((d, i) => i === 0 || d === unique[i - 1]! + 1);
  return run ? `${unique[0]}–${unique.at(-1)}` : unique.join(', ');
}

function describeConstraint(c: VariantConstraint): string {
  const parts: string[] = [];
  if (c.normalWidth !== undefined) parts.push(`width ${formatWidth(c.normalWidth)}`);
  if (c.normalDepth !== undefined) parts.push(`depth ${c.normalDepth}`);
  return parts.length > 0 ? `normal ${parts.join(' and ')}` : 'any normal cell';
}

/** Why no shape satisfies the constraint, in the user's terms. */
function impossibleMessage(kind: VariantKind, constraint: VariantConstraint, shapes: Shape[]): string {
  const head = `no ${KIND_LABEL[kind]} variant of this genotype has ${describeConstraint(constraint)}`;
  if (kind !== 'connections') {
    const [only] = shapes;
    const why = kind === 'ops' ? 'random operations keep the connections, so every variant has' : 'the adapted cell has';
    return `${head}: ${why} normal width ${formatWidth(only!.width)}, depth ${only!.depth}`;
  }
  const widths = shapes.map((s) => s.width);
  const depths = shapes.map((s) => s.depth);
  const { normalWidth, normalDepth } = constraint;
  if (normalWidth !== undefined && normalDepth !== undefined) {
    const atWidth = shapes.filter((s) => sameWidth(s.width, normalWidth)).map((s) => s.depth);
    if (atWidth.length > 0) return `${head}: with width ${formatWidth(normalWidth)} the possible depths are ${formatDepths(atWidth)}`;
    const atDepth = shapes.filter((s) => s.depth === normalDepth).map((s) => s.width);
    if (atDepth.length > 0) return `${head}: with depth ${normalDepth} the possible widths are ${formatWidths(atDepth)}`;
    return `${head}: possible widths are ${formatWidths(widths)}, possible depths are ${formatDepths(depths)}`;
  }
  if (normalWidth !== undefined) return `${head}: possible widths are ${formatWidths(widths)}`;
  return `${head}: possible depths are ${formatDepths(depths)}`;
}

function checkConstraint(constraint: VariantConstraint): void {
  const { normalWidth, normalDepth } = constraint;
  if (normalWidth !== undefined && !(Number.isFinite(normalWidth) && normalWidth > 0)) {
    throw new SamplingError(`normal width must be a positive number of c, got ${normalWidth}`);
  }
  if (normalDepth !== undefined && !(Number.isInteger(normalDepth) && normalDepth >= 1)) {
    throw new SamplingError(`normal depth must be a positive whole number, got ${normalDepth}`);
  }
}

/**
 * The first `count` seeds from `start` upwards whose variant's normal cell
 * satisfies `constraint`, in ascending seed order. Throws SamplingError at once
 * when no variant of the kind can satisfy it (decided by enumeration, skipped
 * only for cells with more than 100000 distinct connection patterns), and when
 * `maxSeeds` seeds give fewer than `count` matches. `adapt` ignores the seed,
 * so it yields at most one variant (the first seed) rather than copies.
 */
export function findVariants(
  genotype: Genotype,
  kind: VariantKind,
  constraint: VariantConstraint,
  options: FindOptions,
): SampledVariant[] {
  const { count, start = 1, maxSeeds = 100_000 } = options;
  if (!Number.isInteger(count) || count < 0) throw new SamplingError(`count must be a whole number, got ${count}`);
  if (!Number.isInteger(start) || start < 0 || start > MAX_SEED) throw new SamplingError(`start must be a seed between 0 and 2**32 - 1, got ${start}`);
  if (!Number.isInteger(maxSeeds) || maxSeeds < 1) throw new SamplingError(`maxSeeds must be a positive whole number, got ${maxSeeds}`);
  checkConstraint(constraint);
  if (count === 0) return [];

  const constrained = constraint.normalWidth !== undefined || constraint.normalDepth !== undefined;
  if (constrained) {
    const shapes =
      kind === 'connections'
        ? achievableConnectionShapes(genotype.normal)
        : [shapeOf((kind === 'ops' ? genotype : adapted(genotype)).normal)];
    if (shapes && !shapes.some((s) => satisfies(s, constraint))) {
      throw new SamplingError(impossibleMessage(kind, constraint, shapes));
    }
  }

  const wanted = kind === 'adapt' ? 1 : count;
  const last = Math.min(MAX_SEED, start + maxSeeds - 1);
  const found: SampledVariant[] = [];
  for (let seed = start; seed <= last && found.length < wanted; seed++) {
    const variant = sampleVariant(genotype, kind, seed);
    if (!constrained || satisfies(shapeOf(variant.normal), constraint)) found.push({ seed, genotype: variant });
  }
  if (found.length < wanted) {
    throw new SamplingError(
      `found ${found.length} of ${wanted} ${KIND_LABEL[kind]} variants with ${describeConstraint(constraint)} ` +
        `in seeds ${start}–${last}; such variants are rare, raise maxSeeds or relax the constraint`,
    );
  }
  return found;
}
