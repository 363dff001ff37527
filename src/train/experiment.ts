/**
 * The wide-vs-narrow experiment end to end (`cellscope experiment`, the
 * editor's Run Wide-vs-Narrow Experiment): for an architecture, sample
 * random-connection variants stratified by normal-cell width (stratify.ts),
 * train the original and every variant one after another with the trainer
 * of `cellscope train` (loop.ts), compute each run's landscape (and
 * gradient-variance surface) with the landscape job, and write the report.
 *
 * Everything lives in one folder: `experiment.json` (the plan, and which run
 * trains which entry), `runs/` (the runs) and `report.html`. Resumable at
 * every level: a finished run is skipped, a stopped or crashed one resumes
 * from its checkpoint, a landscape continues from its points log; the run id
 * is written to experiment.json as soon as the trainer announces it.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { analyze, findGenotype } from '../genotype/document.js';
import { cellMetrics } from '../genotype/metrics.js';
import type { Genotype } from '../genotype/model.js';
import { printGenotype } from '../genotype/printer.js';
import {
  EXPERIMENT_FILE,
  EXPERIMENT_REPORT_FILE,
  type ExperimentEntry,
  type ExperimentFile,
  type ExperimentHessianSettings,
  type ExperimentLandscapeSettings,
  type ExperimentProgressLine,
} from '../shared/experimentTypes.js';
import { LEGACY_VARIANCE } from '../shared/landscapeTypes.js';
import { effectiveStatus, parseProgressLine, type RunConfig } from '../shared/runTypes.js';
import { renderReport } from '../render/report.js';
import { writeFileAtomic } from '../runs/atomicFile.js';
import { resumeTraining, startTraining } from './loop.js';
import { runLandscape } from './probes/landscape.js';
import { runHessianProbe } from './probes/hessian.js';
import { ExperimentError, experimentReportInput, readExperiment, readHessian, runsDirOfExperiment } from '../runs/reportRuns.js';

export { ExperimentError, readExperiment, runsDirOfExperiment };
import { runDirOf } from '../runs/runPaths.js';
import { readRunRecord, trainerAlive } from '../runs/runStore.js';
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

export interface ExperimentEnvironment {
  /** Progress JSON lines: the experiment's own and those of the trainer and landscape job. */
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Set `requested` to stop at the next step of whatever is running; everything stays resumable. */
  readonly cancel?: { requested: boolean };
}

export interface ExperimentOutcome {
  readonly status: 'completed' | 'cancelled';
  readonly dir: string;
  /** report.html, once written. */
  readonly report?: string;
  /** Entries whose training failed (they are reported with what they have). */
  readonly failed: readonly string[];
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

function genotypeOfEntry(entry: ExperimentEntry): Genotype {
  const g = findGenotype(analyze(entry.text), entry.name)?.genotype;
  if (g === undefined) throw new ExperimentError(`experiment entry ${entry.name}: its genotype text does not parse`);
  return g;
}

/**
 * Runs (or continues) the experiment in `dir`. A folder holding an
 * experiment with other settings is refused, so a typo never mixes runs.
 */
export async function runExperiment(dir: string, plan: ExperimentPlan, env: ExperimentEnvironment): Promise<ExperimentOutcome> {
  const cancel = env.cancel ?? { requested: false };
  const progress = (line: Omit<ExperimentProgressLine, 'type'>) => env.stdout(`${JSON.stringify({ type: 'experiment', ...line } satisfies ExperimentProgressLine)}\n`);
  mkdirSync(dir, { recursive: true });
  let file = readExperiment(dir);
  if (file !== undefined) {
    const why = sameExperiment(file, plan);
    if (why !== undefined) throw new ExperimentError(`${dir} holds another experiment (${why}); choose another --dir`);
    env.stderr(`continuing the experiment in ${dir}\n`);
  } else {
    const { entries, widths } = planEntries(plan);
    const now = new Date().toISOString();
    file = {
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
    };
    save();
    progress({ phase: 'plan', total: entries.length });
  }
  const runsDir = runsDirOfExperiment(dir);
  const failed: string[] = [];
  const total = file.entries.length;

  for (let k = 0; k < total; k++) {
    if (cancel.requested) return stopped();
    const entry = file.entries[k]!;
    const status = entry.runId === null ? undefined : statusOf(entry.runId);
    if (status === 'completed') continue;
    if (status === 'running') throw new ExperimentError(`run ${entry.runId} of ${entry.name} is being trained by another process`);
    progress({ phase: 'train', index: k + 1, total, name: entry.name, ...(entry.runId !== null ? { runId: entry.runId } : {}) });
    const trainerEnv = {
      stdout: (text: string) => {
        env.stdout(text);
        // Record the run as soon as it exists, so a crash before it ends still resumes it.
        for (const line of text.split('\n')) {
          const p = parseProgressLine(line);
          if (p?.type === 'start' && file!.entries[k]!.runId !== p.runId) setRunId(k, p.runId);
        }
      },
      stderr: env.stderr,
      handleSignals: false,
      cancel,
    };
    const genotype = genotypeOfEntry(entry);
    const outcome =
      entry.runId === null || status === undefined
        ? await startTraining(
            {
              name: entry.name,
              genotype,
              ref: entry.role === 'original' ? plan.ref : `${plan.ref}~connections:${entry.seed}`,
              origin: entry.role === 'original' ? 'experiment' : 'experiment variant',
              ...(entry.seed !== undefined ? { variant: { kind: 'connections', seed: entry.seed, of: file.architecture } } : {}),
            },
            file.config,
            runsDir,
            trainerEnv,
          )
        : await resumeTraining(runDirOf(runsDir, entry.runId, `entry ${entry.name}`), genotype, trainerEnv);
    // The folder's name, not the id its run.json states: that is what the entry is looked up by.
    const trainedId = basename(outcome.dir);
    if (file.entries[k]!.runId !== trainedId) setRunId(k, trainedId);
    if (outcome.status === 'cancelled') return stopped();
    if (outcome.status === 'failed') {
      failed.push(entry.name);
      env.stderr(`${entry.name} failed (${outcome.reason ?? 'no reason given'}); the experiment goes on without it\n`);
    }
  }

  if (file.landscape !== null) {
    const settings = file.landscape;
    for (let k = 0; k < total; k++) {
      if (cancel.requested) return stopped();
      const entry = file.entries[k]!;
      if (entry.runId === null || statusOf(entry.runId) !== 'completed') continue;
      progress({ phase: 'landscape', index: k + 1, total, name: entry.name, runId: entry.runId });
      const outcome = await runLandscape(
        runDirOf(runsDir, entry.runId, `entry ${entry.name}`),
        {
          grid: settings.grid,
          range: settings.range,
          seed: settings.seed,
          subset: settings.subset,
          what: settings.what,
          // An experiment planned before these settings existed measured what the old job did: keep its landscapes comparable.
          varianceSplit: settings.varianceSplit ?? LEGACY_VARIANCE.varianceSplit,
          bnMode: settings.bnMode ?? LEGACY_VARIANCE.bnMode,
        },
        { stdout: env.stdout, stderr: env.stderr, cancel },
      );
      if (outcome.status === 'cancelled') return stopped();
    }
  }

  if (file.hessian != null) {
    const settings = file.hessian;
    for (let k = 0; k < total; k++) {
      if (cancel.requested) return stopped();
      const entry = file.entries[k]!;
      if (entry.runId === null || statusOf(entry.runId) !== 'completed') continue;
      const runDir = join(runsDir, entry.runId);
      // Done once per run: a resumed experiment keeps what was measured.
      if (readHessian(runDir) !== undefined) continue;
      progress({ phase: 'hessian', index: k + 1, total, name: entry.name, runId: entry.runId });
      await runHessianProbe(runDir, { iterations: settings.iterations, traceSamples: settings.traceSamples }, { stdout: env.stdout });
    }
  }

  const report = writeExperimentReport(dir, file);
  progress({ phase: 'report', report });
  progress({ phase: 'done', report });
  return { status: 'completed', dir, report, failed };

  function save(): void {
    file = { ...file!, updatedAt: new Date().toISOString() };
    writeFileAtomic(join(dir, EXPERIMENT_FILE), `${JSON.stringify(file, null, 2)}\n`);
  }
  function setRunId(k: number, runId: string): void {
    file = { ...file!, entries: file!.entries.map((e, i) => (i === k ? { ...e, runId } : e)) };
    save();
  }
  function statusOf(runId: string) {
    const path = runDirOf(runsDir, runId, `${join(dir, EXPERIMENT_FILE)}`);
    if (!existsSync(join(path, 'run.json'))) return undefined;
    return effectiveStatus(readRunRecord(path), trainerAlive).status;
  }
  function stopped(): ExperimentOutcome {
    progress({ phase: 'stopped' });
    env.stderr(`experiment stopped; run the same command to continue (${dir})\n`);
    return { status: 'cancelled', dir, failed };
  }
}

/** Writes report.html of the experiment from what its runs hold now; returns its path. */
export function writeExperimentReport(dir: string, file: ExperimentFile): string {
  const path = join(dir, EXPERIMENT_REPORT_FILE);
  writeFileSync(path, renderReport(experimentReportInput(dir, file, new Date().toISOString())));
  return path;
}
