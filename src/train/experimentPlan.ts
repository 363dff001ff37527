/**
 * The plan of a wide-vs-narrow experiment and its folder, without TensorFlow:
 * what `cellscope experiment` writes before anything trains, so that the
 * Slurm submitter (which trains nothing itself) shares it with the local run.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { cellMetrics } from '../genotype/metrics.js';
import type { Genotype } from '../genotype/model.js';
import { printGenotype } from '../genotype/printer.js';
import { authorsAdaptedFor } from '../genotype/library.js';
import { adapted, randomOperations } from '../genotype/samplers.js';
import { variantName } from '../genotype/variantText.js';
import type { ExperimentEntry, ExperimentFile, ExperimentHessianSettings, ExperimentLandscapeSettings, ExperimentProtocol } from '../shared/experimentTypes.js';
import type { RunConfig } from '../shared/runTypes.js';
import { writeExperiment } from '../runs/experimentFile.js';
import { ExperimentError, readExperiment } from '../runs/reportRuns.js';
import { stratifiedVariants } from './stratify.js';

export interface ExperimentPlan {
  /** As given: a built-in name or FILE#NAME. */
  readonly ref: string;
  readonly name: string;
  readonly genotype: Genotype;
  /** Random-connection variants, stratified by width. */
  readonly variants: number;
  readonly widths?: readonly number[];
  /** Random-operation variants (the authors' seeds 1…K); absent or 0: none. */
  readonly operationVariants?: number;
  /** The adapted (widest/shallowest) cell as an entry; absent: no. */
  readonly adapted?: boolean;
  /** Training seeds: every cell is trained once with each; absent: once, with config.seed. */
  readonly seeds?: readonly number[];
  /** The protocol the flags came from (recorded, so the report can say which one ran). */
  readonly protocol?: ExperimentProtocol;
  readonly config: RunConfig;
  readonly landscape: ExperimentLandscapeSettings | null;
  /** The smoothness probe after the landscapes; absent or null: none. */
  readonly hessian?: ExperimentHessianSettings | null;
}

type PlanShape = Pick<ExperimentPlan, 'name' | 'genotype' | 'variants' | 'widths' | 'operationVariants' | 'adapted' | 'seeds'>;

/**
 * The experiment's cells, one entry each: the original first, then the
 * stratified random-connection variants narrow to wide, then the
 * random-operation variants (seeds 1…K: no width to stratify by, they keep
 * the original's connections), then the adapted cell. With several training
 * seeds the whole list repeats once per seed, so that a stopped sequential
 * run has every kind at the first seed before it starts the second.
 */
export function planEntries(plan: PlanShape): { entries: ExperimentEntry[]; widths: number[] } {
  const variants = stratifiedVariants(plan.genotype, plan.variants, plan.widths !== undefined ? { widths: plan.widths } : {});
  const own = cellMetrics(plan.genotype.normal);
  const entry = (name: string, role: ExperimentEntry['role'], genotype: Genotype, extra: Partial<ExperimentEntry> = {}): ExperimentEntry => {
    const m = cellMetrics(genotype.normal);
    return { name, role, ...extra, width: m.width, depth: m.depth, text: printGenotype(name, genotype), runId: null };
  };
  const cells: ExperimentEntry[] = [
    { name: plan.name, role: 'original', width: own.width, depth: own.depth, text: printGenotype(plan.name, plan.genotype), runId: null },
    ...variants.map((v) => {
      const name = `${plan.name}_connections_s${v.seed}`;
      return { name, role: 'variant' as const, seed: v.seed, width: v.width, depth: v.depth, text: printGenotype(name, v.genotype), runId: null };
    }),
  ];
  for (let seed = 1; seed <= (plan.operationVariants ?? 0); seed++) {
    cells.push(entry(variantName(plan.name, 'ops', seed), 'operations', randomOperations(plan.genotype, seed), { seed }));
  }
  if (plan.adapted === true) {
    // The authors' own adapted cell where they made one (Section 5 trained those), else our rule.
    const authors = authorsAdaptedFor(plan.genotype);
    if (authors !== undefined) cells.push(entry(authors.name, 'adapted', authors.genotype, { builtin: authors.name }));
    else cells.push(entry(variantName(plan.name, 'adapt', 0), 'adapted', adapted(plan.genotype)));
  }
  const entries = plan.seeds === undefined ? cells : plan.seeds.flatMap((trainSeed) => cells.map((c) => ({ ...c, trainSeed })));
  return { entries, widths: [...new Set(variants.map((v) => v.width))] };
}

/** What must agree for an existing experiment folder to be continued rather than refused. */
function sameExperiment(file: ExperimentFile, plan: ExperimentPlan): string | undefined {
  if (file.architecture !== plan.name) return `it is an experiment on ${file.architecture}`;
  if (file.variants !== plan.variants) return `it has ${file.variants} connection variants`;
  if ((file.operationVariants ?? 0) !== (plan.operationVariants ?? 0)) return `it has ${file.operationVariants ?? 0} operation variants`;
  if ((file.adapted ?? false) !== (plan.adapted ?? false)) return file.adapted === true ? 'it has the adapted cell' : 'it has no adapted cell';
  if (JSON.stringify(file.seeds ?? null) !== JSON.stringify(plan.seeds ?? null)) {
    return file.seeds === undefined ? 'it trains every cell once' : `it trains with seeds ${file.seeds.join(', ')}`;
  }
  if ((file.protocol ?? null) !== (plan.protocol ?? null)) return file.protocol === undefined ? 'it was planned without --protocol' : `it was planned with --protocol ${file.protocol}`;
  // The per-epoch probe is part of the training settings; said by name, since adding it to a planned experiment is the likely slip.
  const every = (c: RunConfig) => JSON.stringify(c.hessianEpochs ?? null);
  if (every(file.config) !== every(plan.config)) {
    const h = file.config.hessianEpochs;
    return h === undefined ? 'it was planned without --hessian-every' : `it was planned with --hessian-every ${h.every} (${h.iterations} iterations, ${h.traceSamples} trace samples, ${h.batches} batches)`;
  }
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
    // Written only when planned, so a plain experiment's file is what it always was.
    ...(plan.protocol !== undefined ? { protocol: plan.protocol } : {}),
    ...((plan.operationVariants ?? 0) > 0 ? { operationVariants: plan.operationVariants } : {}),
    ...(plan.adapted === true ? { adapted: true } : {}),
    ...(plan.seeds !== undefined ? { seeds: [...plan.seeds] } : {}),
    config: plan.config,
    landscape: plan.landscape,
    hessian: plan.hessian ?? null,
    entries,
    createdAt: now,
    updatedAt: now,
  });
  return { file, created: true };
}
