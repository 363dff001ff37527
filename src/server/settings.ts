/**
 * The `cellscope` settings the language server reads (workspace/configuration
 * section `cellscope`): the evaluation network size behind every parameter
 * and multiply-accumulate figure, and the extra operation names a custom
 * search space adds. Anything malformed falls back to the default, so a typo
 * in settings.json never takes the server down.
 */
import { CIFAR_EVALUATION, type NetworkSize } from '../genotype/metrics.js';

export type TraceSetting = 'off' | 'messages' | 'verbose';

export interface ServerSettings {
  /** Size of the evaluation network used for parameter counts and MACs. */
  readonly evaluation: NetworkSize;
  /** Operation names accepted besides ops.ts and the file's PRIMITIVES. */
  readonly extraOperations: readonly string[];
  readonly trace: TraceSetting;
}

export const DEFAULT_SETTINGS: ServerSettings = Object.freeze({
  evaluation: CIFAR_EVALUATION,
  extraOperations: Object.freeze([]) as readonly string[],
  trace: 'off' as const,
});

/** The configuration section the server pulls. */
export const SETTINGS_SECTION = 'cellscope';

function positiveInteger(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 1_000_000 ? value : fallback;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * Settings from the value of the `cellscope` section. Accepts both the nested
 * form clients send (`{evaluation: {channels}}`) and flat dotted keys
 * (`{'evaluation.channels': 36}`), which some editors pass through verbatim.
 */
export function readSettings(section: unknown): ServerSettings {
  const raw = record(section);
  const evaluation = record(raw.evaluation);
  const pick = (nested: unknown, dotted: string): unknown => nested ?? raw[dotted];
  const defaults = DEFAULT_SETTINGS.evaluation;
  const extra = pick(raw.extraOperations, 'extraOperations');
  const trace = pick(record(raw.trace).server, 'trace.server');
  return {
    evaluation: {
      channels: positiveInteger(pick(evaluation.channels, 'evaluation.channels'), defaults.channels),
      layers: positiveInteger(pick(evaluation.layers, 'evaluation.layers'), defaults.layers),
      classes: positiveInteger(pick(evaluation.classes, 'evaluation.classes'), defaults.classes),
      ...(defaults.inputSize === undefined ? {} : { inputSize: defaults.inputSize }),
    },
    extraOperations: Array.isArray(extra) ? extra.filter((op): op is string => typeof op === 'string' && op.length > 0) : [],
    trace: trace === 'messages' || trace === 'verbose' ? trace : 'off',
  };
}

/** Whether two settings give the same diagnostics (only the extra operations matter to validation). */
export function sameValidation(a: ServerSettings, b: ServerSettings): boolean {
  return a.extraOperations.length === b.extraOperations.length && a.extraOperations.every((op, i) => op === b.extraOperations[i]);
}
