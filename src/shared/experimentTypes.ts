/**
 * `experiment.json`: the plan and state of a wide-vs-narrow experiment (an
 * architecture, random-connection variants stratified by normal-cell width,
 * one training run each, their landscapes, a report), and the progress lines
 * `cellscope experiment` prints. Pure types and checks.
 */
import { BN_MODES, LANDSCAPE_QUANTITIES, VARIANCE_SPLITS, type BnMode, type LandscapeQuantity, type VarianceSplit } from './landscapeTypes.js';
import { RUN_CONFIG_SHAPE, RUN_ID_SHAPE, type RunConfig } from './runTypes.js';
import { arrayOf, boolean, integer, literal, nullable, number, object, oneOf, optional, refinedString, shapeProblem, string, type Shape } from './shape.js';
import type { ExperimentSlurm } from './slurmTypes.js';

export const EXPERIMENT_FILE = 'experiment.json';
export const EXPERIMENT_REPORT_FILE = 'report.html';

export interface ExperimentEntry {
  /** Genotype name the run records (`DARTS_V2`, `DARTS_V2_connections_s7`). */
  readonly name: string;
  readonly role: 'original' | 'variant';
  /** Seed of the random-connection variant (the authors' numpy seeding). */
  readonly seed?: number;
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
  readonly variants: number;
  /** Normal-cell widths (in c) the variants were stratified over. */
  readonly widths: readonly number[];
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
      role: oneOf(['original', 'variant']),
      seed: optional(integer(0)),
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
