/**
 * The GPU plan compiler without a device (src/train/gpuplan/compile.ts):
 * dispatch budget against tfjs-webgpu's measured launches, the memory plan's
 * invariant (tensors whose lifetimes overlap never share bytes), and the
 * out-of-memory message that names the bytes and a batch that fits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { builtin } from '../../src/genotype/library.js';
import { compilePlan, PlanMemoryError, type Plan } from '../../src/train/gpuplan/compile.js';
import { initialState } from '../../src/train/gpuplan/layout.js';
import { elements } from '../../src/train/gpuplan/schedule.js';
import { ALL_OPS } from './train-helpers.js';

const DARTS_V2 = builtin('DARTS_V2')!.genotype;

async function plan(genotype = DARTS_V2, channels = 16, layers = 8, batch = 8, extra: { auxiliary?: boolean; mode?: 'train' | 'eval'; maxBindingBytes?: number } = {}): Promise<Plan> {
  const net = { channels, layers, classes: 10, inputSize: 32, auxiliary: extra.auxiliary ?? false };
  const init = await initialState(genotype, net, 0);
  return compilePlan(genotype, { ...net, batch, mode: extra.mode ?? 'train', dropPath: true }, init.layout, {
    maxBindingBytes: extra.maxBindingBytes ?? 2 ** 32 - 4,
    maxStorageBuffers: 8,
  });
}

function assertNoOverlap(p: Plan): void {
  const placed = p.tensors.filter((t) => t.space === 'arena' && t.first !== undefined);
  for (const a of placed) {
    for (const b of placed) {
      if (a === b || a.slot !== b.slot) continue;
      const live = a.first! <= b.last! && b.first! <= a.last!;
      const overlap = a.offset! < b.offset! + elements(b) && b.offset! < a.offset! + elements(a);
      assert.ok(!(live && overlap), `${a.name} [${a.first}, ${a.last}] and ${b.name} [${b.first}, ${b.last}] share memory`);
    }
  }
}

test('DARTS_V2 C=36, 20 cells, batch 96: at most 1/10 of tfjs-webgpu’s 23,015 dispatches per step; memory reused', async () => {
  const p = await plan(DARTS_V2, 36, 20, 96);
  assert.ok(p.dispatches.length <= 2301, `${p.dispatches.length} dispatches`);
  assert.ok(p.memory.arenaBytes < p.memory.unsharedBytes * 0.7, `planned ${p.memory.arenaBytes} of ${p.memory.unsharedBytes} unshared`);
  assert.equal(p.dispatches.at(-1)!.kind, 'sgd');
  assert.equal(p.dispatches.at(-2)!.kind, 'sumSquares');
});

test('DARTS_V2 C=16, 8 cells, batch 8: at most 1/10 of tfjs-webgpu’s 8,087 dispatches; no two live tensors share bytes', async () => {
  const p = await plan();
  assert.ok(p.dispatches.length <= 808, `${p.dispatches.length} dispatches`);
  assertNoOverlap(p);
});

test('every operation, auxiliary head, eval plan: tensors placed without overlap', async () => {
  assertNoOverlap(await plan(ALL_OPS, 4, 3, 2, { auxiliary: true }));
  const ev = await plan(ALL_OPS, 4, 3, 2, { mode: 'eval' });
  assertNoOverlap(ev);
  assert.ok(ev.dispatches.every((d) => !['convBackData', 'sgd', 'headBack'].includes(d.kind)));
});

test('a plan larger than the device allows fails at compile time with the bytes it needs and a batch that fits', async () => {
  let suggested = 0;
  await assert.rejects(plan(DARTS_V2, 36, 20, 96, { maxBindingBytes: 2 ** 27 }), (error: unknown) => {
    assert.ok(error instanceof PlanMemoryError, String(error));
    assert.match(error.message, /need \d.*GiB and the device binds at most .*batch 96 does not fit, try batch \d+/);
    suggested = Number(/try batch (\d+)/.exec(error.message)![1]);
    return true;
  });
  const fits = await plan(DARTS_V2, 36, 20, suggested, { maxBindingBytes: 2 ** 27 });
  assert.ok(fits.memory.arenas.length <= 3);
});
