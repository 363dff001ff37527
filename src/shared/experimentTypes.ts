/**
 * `experiment.json`: the plan and state of a wide-vs-narrow experiment (an
 * architecture, random-connection variants stratified by normal-cell width,
 * one training run each, their landscapes, a report) or of the paper's
 * Section 5 protocol (the same, plus random-operation variants, the adapted
 * cell and several training seeds, fully regularised), and the progress
 * lines `cellscope experiment` prints. Pure types and checks.
 */
import { BN_MODES, LANDSCAPE_QUANTITIES, VARIANCE_SPLITS, type BnMode, type LandscapeQuantity, type VarianceSplit } from './landscapeTypes.js';
import { RUN_CONFIG_SHAPE, RUN_ID_SHAPE, type RunConfig } from './runTypes.js';
import { arrayOf, boolean, integer, literal, nullable, number, object, oneOf, optional, refinedString, shapeProblem, string, type Shape } from './shape.js';
import type { ExperimentSlurm } from './slurmTypes.js';
import type { VariantKind } from '../genotype/samplers.js';

export const EXPERIMENT_FILE = 'experiment.json';
export const EXPERIMENT_REPORT_FILE = 'report.html';

/**
 * What an entry's cell is. `variant` is a random-connection variant: the name
 * every experiment.json before Section 5 wrote, kept so that they still read
 * (and so that an experiment without the new kinds writes what it always did).
 * `operations`: random operations (connections kept); `adapted`: the
 * widest/shallowest cell (every input re-pointed to node 0 or 1).
 */
export const EXPERIMENT_ROLES = ['original', 'variant', 'operations', 'adapted'] as const;
export type ExperimentRole = (typeof EXPERIMENT_ROLES)[number];

/** The sampler kind (samplers.ts, `NAME~kind:seed`) behind a role; undefined for the original. */
export function variantKindOfRole(role: ExperimentRole): VariantKind | undefined {
  switch (role) {
    case 'original':
      return undefined;
    case 'variant':
      return 'connections';
    case 'operations':
      return 'ops';
    case 'adapted':
      return 'adapt';
  }
}

/** Protocols `--protocol` selects in one word. */
export const EXPERIMENT_PROTOCOLS = ['section5'] as const;
export type ExperimentProtocol = (typeof EXPERIMENT_PROTOCOLS)[number];

/** The paper's fully regularised training (Section 5; paper.md: cutout 16, auxiliary head 0.4, drop path 0.2). */
export const SECTION5_REGULARISATION = { cutout: true, cutoutLength: 16, auxiliary: true, auxiliaryWeight: 0.4, dropPath: 0.2 } as const;

/**
 * What `--protocol section5` plans unless flags say otherwise: 4 random-connection
 * variants (as a plain experiment), 4 random-operation variants (the authors'
 * seeds 1–4), the adapted cell, and every cell trained with 3 seeds, so each
 * kind's error has a spread; no landscapes or Hessian probe (Section 5 compares
 * test error; the paper's landscapes are of unregularised runs).
 */
export const SECTION5_DEFAULTS = { variants: 4, operationVariants: 4, adapted: true, seeds: 3, landscape: false, hessian: false } as const;

export interface ExperimentEntry {
  /** Genotype name the run records (`DARTS_V2`, `DARTS_V2_connections_s7`, `DARTS_V2_ops_s2`, `NASNet_ADAPT`, `DARTS_V2_adapt`). */
  readonly name: string;
  readonly role: ExperimentRole;
  /** Seed of the random variant (the authors' numpy seeding): connections or operations. */
  readonly seed?: number;
  /** An adapted entry that is a built-in: the authors' hand-made `*_ADAPT` cell (absent: our adaptation rule, `ARCH~adapt`). */
  readonly builtin?: string;
  /** The training seed of this entry's run (RunConfig.seed); absent: the experiment's `config.seed`. */
  readonly trainSeed?: number;
  readonly width: number;
  readonly depth: number;
  /** The genotype as printed by the core. */
  readonly text: string;
  /** The run training it, once started. */
  readonly runId: string | null;
}

export interface ExperimentLandscapeSettings {
  readonly grid: number;
  readonly range: number;
  readonly seed: number;
  readonly subset: number | null;
  readonly what: readonly LandscapeQuantity[];
  /** The variance surface's data and BatchNorm mode (absent in experiments planned before: the landscape job's defaults then, train/train). */
  readonly varianceSplit?: VarianceSplit;
  readonly bnMode?: BnMode;
}

/** The smoothness probe (Section 4.3) each completed run gets after its landscape. */
export interface ExperimentHessianSettings {
  readonly iterations: number;
  readonly traceSamples: number;
}

export interface ExperimentFile {
  readonly format: 1;
  /** The architecture as given (built-in name or FILE#NAME). */
  readonly ref: string;
  readonly architecture: string;
  /** Random-connection variants. */
  readonly variants: number;
  /** Normal-cell widths (in c) the variants were stratified over. */
  readonly widths: readonly number[];
  /** `--protocol` it was planned with; absent: none (a plain wide-vs-narrow experiment). */
  readonly protocol?: ExperimentProtocol;
  /** Random-operation variants (seeds 1…K); absent: none. */
  readonly operationVariants?: number;
  /** Whether the adapted cell is an entry; absent: no. */
  readonly adapted?: boolean;
  /** Training seeds every cell is trained with, one run each; absent: one run per cell, with `config.seed`. */
  readonly seeds?: readonly number[];
  readonly config: RunConfig;
  /** null: no landscapes. */
  readonly landscape: ExperimentLandscapeSettings | null;
  /** null or absent (experiments planned before the probe existed): no Hessian probe. */
  readonly hessian?: ExperimentHessianSettings | null;
  readonly entries: readonly ExperimentEntry[];
  /** Its Slurm jobs, when submitted with --executor slurm. */
  readonly slurm?: ExperimentSlurm;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export type ExperimentPhase = 'plan' | 'train' | 'landscape' | 'hessian' | 'report' | 'done' | 'stopped' | 'submitted';

/** One progress line of `cellscope experiment` (the trainer's and landscape job's own lines are passed through too). */
export interface ExperimentProgressLine {
  readonly type: 'experiment';
  readonly phase: ExperimentPhase;
  /** 1-based position of the entry being worked on, and how many there are. */
  readonly index?: number;
  readonly total?: number;
  readonly name?: string;
  /** The entry's training seed, when the experiment trains every cell with several. */
  readonly trainSeed?: number;
  readonly runId?: string;
  /** The report, once written. */
  readonly report?: string;
  /** `submitted`: the array job and the report job after it (--executor slurm). */
  readonly arrayJobId?: string;
  readonly reportJobId?: string;
}

const SLURM_ID: Shape = refinedString((v) => (/^\d+$/.test(v) ? undefined : 'a Slurm job id (digits)'));
/** An sbatch option's value goes into a batch script: one word, no quotes, no newline. */
const SLURM_WORD: Shape = refinedString((v) => (/^[^\s'"\\$`]+$/.test(v) ? undefined : 'one word without spaces or quotes'));
const SLURM_OPTIONS_SHAPE: Shape = object({
  partition: optional(SLURM_WORD),
  gres: optional(SLURM_WORD),
  time: optional(SLURM_WORD),
  mem: optional(SLURM_WORD),
  cpusPerTask: optional(integer(1)),
  account: optional(SLURM_WORD),
  maxRunning: optional(integer(1)),
  extraLines: optional(arrayOf(refinedString((v) => (/^#SBATCH\s+-[^\n]*$/.test(v) ? undefined : 'an #SBATCH line')))),
  requeue: optional(boolean),
});

/**
 * The shape of experiment.json. Its run ids are checked as run ids: they are
 * joined to the experiment's runs folder, so `../x` or `/x` would reach
 * outside it.
 */
export const EXPERIMENT_FILE_SHAPE: Shape = object({
  format: literal(1),
  ref: string,
  architecture: string,
  variants: integer(0),
  widths: arrayOf(number),
  protocol: optional(oneOf(EXPERIMENT_PROTOCOLS)),
  operationVariants: optional(integer(0)),
  adapted: optional(boolean),
  seeds: optional(arrayOf(integer(0))),
  config: RUN_CONFIG_SHAPE,
  landscape: nullable(
    object({
      grid: integer(1),
      range: number,
      seed: integer(0),
      subset: nullable(integer(1)),
      what: arrayOf(oneOf(LANDSCAPE_QUANTITIES)),
      varianceSplit: optional(oneOf(VARIANCE_SPLITS)),
      bnMode: optional(oneOf(BN_MODES)),
    }),
  ),
  hessian: optional(nullable(object({ iterations: integer(1), traceSamples: integer(0) }))),
  entries: arrayOf(
    object({
      name: string,
      role: oneOf(EXPERIMENT_ROLES),
      seed: optional(integer(0)),
      builtin: optional(string),
      trainSeed: optional(integer(0)),
      width: number,
      depth: integer(0),
      text: string,
      runId: nullable(RUN_ID_SHAPE),
    }),
  ),
  slurm: optional(
    object({
      script: string,
      reportScript: string,
      options: SLURM_OPTIONS_SHAPE,
      submissions: arrayOf(object({ at: string, arrayJobId: SLURM_ID, tasks: arrayOf(integer(0)), reportJobId: SLURM_ID, why: string })),
    }),
  ),
  createdAt: string,
  updatedAt: string,
});

/** What is wrong with a parsed experiment.json (`field entries[2].runId: …`); undefined when it is one. */
export function experimentFileProblem(value: unknown): string | undefined {
  return shapeProblem(EXPERIMENT_FILE_SHAPE, value);
}

export function isExperimentFile(value: unknown): value is ExperimentFile {
  return experimentFileProblem(value) === undefined;
}
