/**
 * Dispatches → the entry table (u32 records the kernels read) and the
 * workgroup counts of each dispatch. Runs once, at plan time.
 */
import { REDUCING, type Field, type View } from './ir.js';
import type { Dispatch } from './schedule.js';
import { ENTRY_WORDS } from './wgsl.js';

export interface EncodedDispatch {
  readonly dispatch: Dispatch;
  /** Byte offset of its records in the table buffer. */
  readonly tableOffset: number;
  readonly tableBytes: number;
  readonly workgroups: readonly [number, number, number];
}

export interface EncodedTable {
  readonly words: Uint32Array;
  readonly dispatches: EncodedDispatch[];
}

const MAX_PER_DIMENSION = 65535;

function viewWords(v: View): number[] {
  const t = v.t;
  if (t.slot === undefined || t.offset === undefined) throw new Error(`internal: tensor ${t.name} was not placed`);
  const [, C, H, W] = t.dims;
  const [sn, sc, sy, sx] = t.layout === 'nchw' ? [C * H * W, H * W, W, 1] : [H * W * C, 1, W * C, C];
  return [t.slot, t.offset + v.c0 * sc + v.y0 * sy + v.x0 * sx, sn, sc, sy, sx, t.dims[0], v.c, v.h, v.w];
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function fieldWords(f: Field): number[] {
  if (typeof f === 'number') return [f >>> 0];
  if ('f32' in f) {
    f32[0] = f.f32;
    return [u32[0]!];
  }
  if ('at' in f) {
    if (f.at.offset === undefined) throw new Error(`internal: state tensor ${f.at.name} was not placed`);
    return [f.at.offset + (f.plus ?? 0)];
  }
  return viewWords(f);
}

export function encodeTable(dispatches: readonly Dispatch[], alignment: number): EncodedTable {
  const alignWords = Math.max(alignment, 16) / 4;
  let words = 0;
  const layout = dispatches.map((d) => {
    const offset = words;
    words = Math.ceil((words + d.entries.length * ENTRY_WORDS) / alignWords) * alignWords;
    return offset;
  });
  const table = new Uint32Array(Math.max(words, alignWords));
  const out: EncodedDispatch[] = dispatches.map((d, i) => {
    d.entries.forEach((op, z) => {
      const rec = op.fields.flatMap(fieldWords);
      if (rec.length > ENTRY_WORDS) throw new Error(`internal: ${op.kind} record of ${rec.length} words`);
      table.set(rec, layout[i]! + z * ENTRY_WORDS);
    });
    const size = Math.max(...d.entries.map((op) => op.size));
    const groups = REDUCING.has(d.kind) ? size : Math.ceil(size / 64);
    const x = Math.min(Math.max(groups, 1), MAX_PER_DIMENSION);
    const y = Math.ceil(Math.max(groups, 1) / x);
    if (y > MAX_PER_DIMENSION || d.entries.length > MAX_PER_DIMENSION) throw new Error(`dispatch of ${d.kind} too large: ${groups} workgroups × ${d.entries.length} entries`);
    return { dispatch: d, tableOffset: layout[i]! * 4, tableBytes: d.entries.length * ENTRY_WORDS * 4, workgroups: [x, y, d.entries.length] as const };
  });
  return { words: table, dispatches: out };
}
