/**
 * Primitive operations → dispatches, and tensors → memory.
 *
 * Batching. Each operation gets the earliest level after every earlier
 * operation it conflicts with (reads what it writes, writes what it reads
 * or writes, on overlapping channels of the same tensor). Operations of one
 * level are independent, so those of the same kernel become one dispatch,
 * one entry each (the dispatch's z). This is what turns a cell's five
 * sep_conv first halves, or all its BN statistics, into single dispatches.
 * The sums of filter-gradient partials (one dispatch for all), then the
 * optimiser's two dispatches come last (parameter gradients are not tracked
 * as accesses: each parameter's gradient has exactly one writer).
 *
 * Memory. Arena tensors live from the first to the last dispatch that
 * touches them; each is placed at the lowest offset that does not overlap a
 * placed tensor whose lifetime overlaps its own (first fit, in order of
 * first use), in as many arenas (buffers of at most one binding's size) as
 * needed. State tensors (statistics, masks, input, labels, logits, metrics)
 * are small and persistent: bump-allocated after the running statistics.
 */
import { KERNELS, type KernelKind, type PrimOp, type Tensor } from './ir.js';

export interface Dispatch {
  readonly kind: KernelKind;
  readonly level: number;
  readonly entries: PrimOp[];
}

/** Kernels that run after every other dispatch, in this order (each kind one level). */
const LAST: ReadonlyMap<KernelKind, number> = new Map([
  ['gradReduce', 1],
  ['sumSquares', 2],
  ['sgd', 3],
]);

interface Touch {
  readonly level: number;
  readonly c0: number;
  readonly c: number;
  readonly write: boolean;
}

export function schedule(ops: readonly PrimOp[]): Dispatch[] {
  const history = new Map<Tensor, Touch[]>();
  const levels: number[] = [];
  let maxLevel = -1;
  for (const op of ops) {
    let level = 0;
    const rank = LAST.get(op.kind);
    if (rank !== undefined) level = maxLevel + rank;
    const visit = (t: Tensor, c0: number, c: number, write: boolean) => {
      for (const h of history.get(t) ?? []) {
        if ((write || h.write) && h.c0 < c0 + c && c0 < h.c0 + h.c) level = Math.max(level, h.level + 1);
      }
    };
    for (const a of op.reads) visit(a.t, a.c0, a.c, false);
    for (const a of op.writes) visit(a.t, a.c0, a.c, true);
    for (const a of op.reads) push(history, a.t, { level, c0: a.c0, c: a.c, write: false });
    for (const a of op.writes) push(history, a.t, { level, c0: a.c0, c: a.c, write: true });
    levels.push(level);
    if (rank === undefined) maxLevel = Math.max(maxLevel, level);
  }
  const groups = new Map<string, Dispatch>();
  ops.forEach((op, i) => {
    const key = `${levels[i]}:${op.kind}`;
    let d = groups.get(key);
    if (d === undefined) {
      d = { kind: op.kind, level: levels[i]!, entries: [] };
      groups.set(key, d);
    }
    d.entries.push(op);
  });
  return [...groups.values()].sort((a, b) => a.level - b.level || KERNELS.indexOf(a.kind) - KERNELS.indexOf(b.kind));
}

function push(m: Map<Tensor, Touch[]>, t: Tensor, touch: Touch): void {
  const list = m.get(t);
  if (list === undefined) m.set(t, [touch]);
  else list.push(touch);
}

export function elements(t: Tensor): number {
  return t.dims[0] * t.dims[1] * t.dims[2] * t.dims[3];
}

/** First and last dispatch of every arena tensor. */
export function lifetimes(dispatches: readonly Dispatch[]): void {
  dispatches.forEach((d, i) => {
    for (const op of d.entries) {
      for (const a of [...op.reads, ...op.writes]) {
        const t = a.t;
        t.first = t.first === undefined ? i : Math.min(t.first, i);
        t.last = t.last === undefined ? i : Math.max(t.last, i);
      }
      for (const f of op.fields) {
        if (typeof f === 'object' && f !== null && 't' in f) {
          const t = f.t;
          t.first = t.first === undefined ? i : Math.min(t.first, i);
          t.last = t.last === undefined ? i : Math.max(t.last, i);
        }
      }
    }
  });
}

/** Thrown when the plan cannot be placed in the device's memory or bindings. */
export class PlanMemoryError extends Error {
  constructor(
    message: string,
    readonly neededBytes: number,
  ) {
    super(message);
    this.name = 'PlanMemoryError';
  }
}

export interface MemoryPlan {
  /** Elements of each arena. */
  readonly arenas: number[];
  /** Bytes all arenas take. */
  readonly arenaBytes: number;
  /** Bytes the same tensors would take with no reuse (each its own buffer). */
  readonly unsharedBytes: number;
  /** Elements of the state buffer. */
  readonly stateElements: number;
}

/** Offsets are aligned to 64 elements (256 bytes): coalesced starts, and the alignment storage bindings need. */
const ALIGN = 64;

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/**
 * Places every arena tensor (first fit by lifetime) in at most `maxArenas`
 * arenas of at most `arenaLimit` elements, and every state tensor after
 * `stateBase` elements. Slots: arenas are `firstArenaSlot + k`, state is `stateSlot`.
 */
export function planMemory(tensors: readonly Tensor[], o: { arenaLimit: number; maxArenas: number; firstArenaSlot: number; stateSlot: number; stateBase: number }): MemoryPlan {
  const arena = tensors.filter((t) => t.space === 'arena' && t.first !== undefined).sort((a, b) => a.first! - b.first! || elements(b) - elements(a));
  const placed: Tensor[][] = [];
  const arenas: number[] = [];
  let unshared = 0;
  for (const t of arena) {
    const size = align(elements(t));
    unshared += size * 4;
    if (size > o.arenaLimit) {
      throw new PlanMemoryError(`tensor ${t.name} needs ${fmtBytes(size * 4)}, more than one storage binding allows (${fmtBytes(o.arenaLimit * 4)})`, size * 4);
    }
    let done = false;
    for (let k = 0; k <= placed.length && !done; k++) {
      if (k === placed.length) {
        if (k >= o.maxArenas) break;
        placed.push([]);
        arenas.push(0);
      }
      const live = placed[k]!.filter((p) => p.first! <= t.last! && t.first! <= p.last!).sort((a, b) => a.offset! - b.offset!);
      let offset = 0;
      for (const p of live) {
        if (offset + size <= p.offset!) break;
        offset = Math.max(offset, p.offset! + align(elements(p)));
      }
      if (offset + size <= o.arenaLimit) {
        t.slot = o.firstArenaSlot + k;
        t.offset = offset;
        placed[k]!.push(t);
        arenas[k] = Math.max(arenas[k]!, offset + size);
        done = true;
      }
    }
    if (!done) {
      const need = placed.reduce((s, _, k) => s + arenas[k]!, 0) * 4 + size * 4;
      throw new PlanMemoryError(`the plan needs more than ${o.maxArenas} arenas of ${fmtBytes(o.arenaLimit * 4)} (at least ${fmtBytes(need)})`, need);
    }
  }
  let state = o.stateBase;
  for (const t of tensors) {
    if (t.space !== 'state') continue;
    t.slot = o.stateSlot;
    t.offset = state;
    state = align(state + elements(t));
  }
  return { arenas, arenaBytes: arenas.reduce((s, a) => s + a * 4, 0), unsharedBytes: unshared, stateElements: Math.max(state, 1) };
}

export function fmtBytes(b: number): string {
  return b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`;
}
