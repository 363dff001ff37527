/**
 * The plan of a wide-vs-narrow experiment and its folder, without TensorFlow:
 * what `cellscope experiment` writes before anything trains, so that the
 * Slurm submitter (which trains nothing itself) shares it with the local run.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { cellMetrics } from '../genotype/metrics.js';
import type { Genotype } from '../genotype/model.js';
import { printGenotype } from '../genotype/printer.js';
import type { ExperimentEntry, ExperimentFile, ExperimentHessianSettings, ExperimentLandscapeSettings } from '../shared/experimentTypes.js';
import type { RunConfig } from '../shared/runTypes.js';
import { writeExperiment } from '../runs/experimentFile.js';
import { ExperimentError, readExperiment } from '../runs/reportRuns.js';
import { stratifiedVariants } from './stratify.js';

export interface ExperimentPlan {
  /** As given: a built-in name or FILE#NAME. */
  readonly ref: string;
  readonly name: string;
  readonly genotype: Genotype;
  readonly variants: number;
  readonly widths?: readonly number[];
  readonly config: RunConfig;
  readonly landscape: ExperimentLandscapeSettings | null;
  /** The smoothness probe after the landscapes; absent or null: none. */
  readonly hessian?: ExperimentHessianSettings | null;
}

/** The experiment's plan: the original first, then the stratified variants narrow to wide. */
export function planEntries(plan: Pick<ExperimentPlan, 'name' | 'genotype' | 'variants' | 'widths'>): { entries: ExperimentEntry[]; widths: number[] } {
  const variants = stratifiedVariants(plan.genotype, plan.variants, plan.widths !== undefined ? { widths: plan.widths } : {});
  const own = cellMetrics(plan.genotype.normal);
  const entries: ExperimentEntry[] = [
    { name: plan.name, role: 'original', width: own.width, depth: own.depth, text: printGenotype(plan.name, plan.genotype), runId: null },
    ...variants.map((v) => {
      const name = `${plan.name}_connections_s${v.seed}`;
      return { name, role: 'variant' as const, seed: v.seed, width: v.width, depth: v.depth, text: printGenotype(name, v.genotype), runId: null };
    }),
  ];
  return { entries, widths: [...new Set(variants.map((v) => v.width))] };
}

/** What must agree for an existing experiment folder to be continued rather than refused. */
function sameExperiment(file: ExperimentFile, plan: ExperimentPlan): string | undefined {
  if (file.architecture !== plan.name) return `it is an experiment on ${file.architecture}`;
  if (file.variants !== plan.variants) return `it has ${file.variants} variants`;
  if (JSON.stringify(file.config) !== JSON.stringify(plan.config)) return 'its training settings differ';
  return undefined;
}

/**
 * experiment.json of `dir`: the one there (when it is this experiment; another
 * experiment's folder is refused, so a typo never mixes runs) or a new one.
 */
export function openExperiment(dir: string, plan: ExperimentPlan): { file: ExperimentFile; created: boolean } {
  const existed = existsSync(dir);
  mkdirSync(dir, { recursive: true });
  const found = existed ? readExperiment(dir) : undefined;
  if (found !== undefined) {
    const why = sameExperiment(found, plan);
    if (why !== undefined) throw new ExperimentError(`${dir} holds another experiment (${why}); choose another --dir`);
    return { file: found, created: false };
  }
  const { entries, widths } = planEntries(plan);
  const now = new Date().toISOString();
  const file = writeExperiment(dir, {
    format: 1,
    ref: plan.ref,
    architecture: plan.name,
    variants: plan.variants,
    widths,
    config: plan.config,
    landscape: plan.landscape,
    hessian: plan.hessian ?? null,
    entries,
    createdAt: now,
    updatedAt: now,
  });
  return { file, created: true };
}
