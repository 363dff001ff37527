/**
 * Compiling a genotype and network settings into a static plan: the
 * primitive operations (build.ts), batched into dispatches and placed in
 * memory (schedule.ts). Pure: no device needed, so dispatch counts and
 * planned bytes can be computed (and tested) anywhere; engine.ts turns a
 * plan into pipelines, buffers and bind groups.
 */
import type { Genotype } from '../../genotype/model.js';
import { buildStep, type ParamLayout, type PlanSettings, type StateMap } from './build.js';
import type { Tensor } from './ir.js';
import { fmtBytes, lifetimes, planMemory, PlanMemoryError, schedule, type Dispatch, type MemoryPlan } from './schedule.js';

/** Binding slots every kernel sees (one bind group layout for all pipelines). */
export const SLOT = { params: 0, grads: 1, momentum: 2, state: 3, firstArena: 4 } as const;

export interface DeviceBudget {
  /** Largest storage binding, bytes (the adapter's maxStorageBufferBindingSize). */
  readonly maxBindingBytes: number;
  /** Storage buffers a shader may bind (maxStorageBuffersPerShaderStage): 4 fixed + the table + arenas. */
  readonly maxStorageBuffers: number;
}

/** A budget that never refuses: for counting dispatches and bytes without a device. */
export const UNLIMITED: DeviceBudget = { maxBindingBytes: 2 ** 32 - 4, maxStorageBuffers: 12 };

export interface Plan {
  readonly settings: PlanSettings;
  readonly layout: ParamLayout;
  readonly dispatches: Dispatch[];
  readonly tensors: Tensor[];
  readonly state: StateMap;
  readonly memory: MemoryPlan;
  /** Bytes on the device: arenas, state, and parameters, gradients and momentum. */
  readonly planBytes: number;
  readonly primitiveOps: number;
}

export function compilePlan(genotype: Genotype, settings: PlanSettings, layout: ParamLayout, budget: DeviceBudget = UNLIMITED): Plan {
  const built = buildStep(genotype, settings, layout);
  const dispatches = schedule(built.ops);
  lifetimes(dispatches);
  const maxArenas = budget.maxStorageBuffers - SLOT.firstArena - 1;
  if (maxArenas < 1) throw new Error(`the adapter binds only ${budget.maxStorageBuffers} storage buffers per shader; the plan needs at least ${SLOT.firstArena + 2}`);
  let memory: MemoryPlan;
  const arenaLimit = Math.floor(budget.maxBindingBytes / 4 / 64) * 64;
  const placement = { arenaLimit, firstArenaSlot: SLOT.firstArena, stateSlot: SLOT.state, stateBase: layout.bufferCount };
  try {
    memory = planMemory(built.tensors, { ...placement, maxArenas });
  } catch (error) {
    if (!(error instanceof PlanMemoryError)) throw error;
    // What the whole plan would need with as many arenas as it likes (a single tensor too large keeps its own figure).
    let needed = error.neededBytes;
    try {
      needed = planMemory(built.tensors, { ...placement, maxArenas: Number.MAX_SAFE_INTEGER }).arenaBytes;
    } catch {
      // A tensor larger than a binding: its own size is the figure.
    }
    const available = maxArenas * arenaLimit * 4;
    const fits = largestFittingBatch(genotype, settings, layout, budget, fittingBatch(settings.batch, needed, available));
    throw new PlanMemoryError(
      `the plan's activations need ${fmtBytes(needed)} and the device binds at most ${fmtBytes(available)} (${maxArenas} buffers of ${fmtBytes(arenaLimit * 4)}); batch ${settings.batch} does not fit, ${fits === undefined ? 'nor does batch 1: use fewer channels' : `try batch ${fits} or fewer channels`} (${error.message})`,
      needed,
    );
  }
  const paramBytes = layout.paramCount * 4 * (settings.mode === 'train' ? 3 : 1);
  return {
    settings,
    layout,
    dispatches,
    tensors: built.tensors,
    state: built.state,
    memory,
    planBytes: memory.arenaBytes + memory.stateElements * 4 + paramBytes,
    primitiveOps: built.ops.length,
  };
}

/**
 * The largest batch from `guess` down whose plan places (first fit is not
 * exactly linear in the batch, so the linear estimate is checked by compiling).
 */
function largestFittingBatch(genotype: Genotype, settings: PlanSettings, layout: ParamLayout, budget: DeviceBudget, guess: number): number | undefined {
  for (let b = Math.min(guess, settings.batch - 1); b >= 1; b = b > 8 ? Math.floor(b * 0.9) : b - 1) {
    try {
      compilePlan(genotype, { ...settings, batch: b }, layout, budget);
      return b;
    } catch (error) {
      if (!(error instanceof PlanMemoryError)) throw error;
    }
  }
  return undefined;
}

/** The batch that would fit `available` bytes if activations scale linearly with the batch (a lower bound of at least 1). */
export function fittingBatch(batch: number, needed: number, available: number): number {
  return Math.max(1, Math.floor((batch * available) / needed));
}

export { fmtBytes, PlanMemoryError };
