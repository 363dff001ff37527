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
 *
 * `runExperimentEntry` is one entry alone (training, landscape, smoothness): what a
 * Slurm array task (`--executor slurm`) or a device worker (`--devices`)
 * runs, several at once on one folder, so experiment.json is only changed
 * under its lock (runs/experimentFile.ts).
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { analyze, findGenotype } from '../genotype/document.js';
import type { Genotype } from '../genotype/model.js';
import { variantKindOfRole, type ExperimentEntry, type ExperimentFile, type ExperimentProgressLine } from '../shared/experimentTypes.js';
import { LEGACY_VARIANCE } from '../shared/landscapeTypes.js';
import { effectiveStatus, parseProgressLine } from '../shared/runTypes.js';
import { setEntryRunId, writeExperimentReport } from '../runs/experimentFile.js';
import { runDirOf } from '../runs/runPaths.js';
import { readRunRecord, trainerAlive } from '../runs/runStore.js';
import { slurmJobOfEnv } from '../runs/slurm/jobEnv.js';
import { slurmJobName } from '../shared/slurmTypes.js';
import { resumeTraining, startTraining, type TrainGenotype, type TrainOutcome } from './loop.js';
import { runLandscape } from './probes/landscape.js';
import { runHessianProbe } from './probes/hessian.js';
import { ExperimentError, readExperiment, readHessian, runsDirOfExperiment } from '../runs/reportRuns.js';
import { openExperiment, planEntries, type ExperimentPlan } from './experimentPlan.js';

export { ExperimentError, readExperiment, runsDirOfExperiment, planEntries, writeExperimentReport, type ExperimentPlan };

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

function genotypeOfEntry(entry: ExperimentEntry): Genotype {
  const g = findGenotype(analyze(entry.text), entry.name)?.genotype;
  if (g === undefined) throw new ExperimentError(`experiment entry ${entry.name}: its genotype text does not parse`);
  return g;
}

function runStatusOf(runsDir: string, runId: string) {
  const path = runDirOf(runsDir, runId, 'experiment.json');
  if (!existsSync(join(path, 'run.json'))) return undefined;
  const record = readRunRecord(path);
  const own = slurmJobOfEnv();
  // This very Slurm task, requeued (preempted, node lost): its earlier
  // trainer is gone even if run.json still says running on another node.
  if (record.status === 'running' && record.slurm !== undefined && own !== undefined && slurmJobName(record.slurm) === slurmJobName(own)) return 'failed';
  return effectiveStatus(record, trainerAlive).status;
}

/**
 * What the run of `entry` records about where its genotype came from: the
 * reference that rebuilds it (`ARCH`, `ARCH~connections:7`, `ARCH~ops:2`,
 * `ARCH~adapt`, or the authors' `NASNet_ADAPT`), and the variant it is.
 */
export function entryProvenance(file: Pick<ExperimentFile, 'ref' | 'architecture'>, entry: ExperimentEntry): Pick<TrainGenotype, 'ref' | 'origin' | 'variant'> {
  const kind = variantKindOfRole(entry.role);
  if (kind === undefined) return { ref: file.ref, origin: 'experiment' };
  // The report tells an original from a variant by `variant`, so every other entry carries one.
  const variant = { kind, seed: entry.seed ?? 0, of: file.architecture };
  if (entry.builtin !== undefined) return { ref: entry.builtin, origin: 'experiment adapted (the authors\' cell)', variant };
  const ref = kind === 'adapt' ? `${file.ref}~adapt` : `${file.ref}~${kind}:${entry.seed ?? 0}`;
  return { ref, origin: kind === 'connections' ? 'experiment variant' : kind === 'ops' ? 'experiment operation variant' : 'experiment adapted', variant };
}

/**
 * Trains entry `k` of the experiment in `dir`: starts its run, or resumes it
 * from its checkpoint; a completed run is left as it is (undefined). The run
 * id goes into experiment.json as soon as the trainer announces it (under the
 * file's lock: other entries may be training in other processes).
 */
export async function trainEntry(dir: string, k: number, env: ExperimentEnvironment): Promise<TrainOutcome | undefined> {
  const file = readExperiment(dir);
  if (file === undefined) throw new ExperimentError(`${dir}: no experiment.json`);
  const entry = file.entries[k];
  if (entry === undefined) throw new ExperimentError(`${dir}: the experiment has no entry ${k} (it has ${file.entries.length})`);
  const runsDir = runsDirOfExperiment(dir);
  const status = entry.runId === null ? undefined : runStatusOf(runsDir, entry.runId);
  if (status === 'completed') return undefined;
  if (status === 'running') throw new ExperimentError(`run ${entry.runId} of ${entry.name} is being trained by another process`);
  let recorded = entry.runId;
  const trainerEnv = {
    stdout: (text: string) => {
      env.stdout(text);
      // Record the run as soon as it exists, so a crash before it ends still resumes it.
      for (const line of text.split('\n')) {
        const p = parseProgressLine(line);
        if (p?.type === 'start' && recorded !== p.runId) {
          setEntryRunId(dir, k, p.runId);
          recorded = p.runId;
        }
      }
    },
    stderr: env.stderr,
    handleSignals: false,
    cancel: env.cancel ?? { requested: false },
  };
  const genotype = genotypeOfEntry(entry);
  const outcome =
    entry.runId === null || status === undefined
      ? await startTraining(
          { name: entry.name, genotype, ...entryProvenance(file, entry) },
          // Each training seed is its own run; the rest of the recipe is the experiment's.
          entry.trainSeed === undefined ? file.config : { ...file.config, seed: entry.trainSeed },
          runsDir,
          trainerEnv,
        )
      : await resumeTraining(runDirOf(runsDir, entry.runId, `entry ${entry.name}`), genotype, trainerEnv);
  // The folder's name, not the id its run.json states: that is what the entry is looked up by.
  const trainedId = basename(outcome.dir);
  if (recorded !== trainedId) setEntryRunId(dir, k, trainedId);
  return outcome;
}

/** The landscape of entry `k` when the experiment asks for one and its run completed: 'cancelled' when stopped. */
export async function landscapeEntry(dir: string, k: number, env: ExperimentEnvironment): Promise<'done' | 'skipped' | 'cancelled'> {
  const file = readExperiment(dir)!;
  const entry = file.entries[k]!;
  const runsDir = runsDirOfExperiment(dir);
  if (file.landscape === null || entry.runId === null || runStatusOf(runsDir, entry.runId) !== 'completed') return 'skipped';
  const s = file.landscape;
  const outcome = await runLandscape(
    runDirOf(runsDir, entry.runId, `entry ${entry.name}`),
    {
      grid: s.grid,
      range: s.range,
      seed: s.seed,
      subset: s.subset,
      what: s.what,
      // An experiment planned before these settings existed measured what the old job did: keep its landscapes comparable.
      varianceSplit: s.varianceSplit ?? LEGACY_VARIANCE.varianceSplit,
      bnMode: s.bnMode ?? LEGACY_VARIANCE.bnMode,
    },
    { stdout: env.stdout, stderr: env.stderr, cancel: env.cancel ?? { requested: false } },
  );
  return outcome.status === 'cancelled' ? 'cancelled' : 'done';
}

/** The smoothness probe (Section 4.3) of entry `k` when the experiment asks for it and its run completed. */
export async function hessianEntry(dir: string, k: number, env: ExperimentEnvironment): Promise<'done' | 'skipped'> {
  const file = readExperiment(dir)!;
  const entry = file.entries[k]!;
  const runsDir = runsDirOfExperiment(dir);
  if (file.hessian == null || entry.runId === null || runStatusOf(runsDir, entry.runId) !== 'completed') return 'skipped';
  const runDir = runDirOf(runsDir, entry.runId, `entry ${entry.name}`);
  // Done once per run: a resumed experiment keeps what was measured.
  if (readHessian(runDir) !== undefined) return 'skipped';
  await runHessianProbe(runDir, { iterations: file.hessian.iterations, traceSamples: file.hessian.traceSamples }, { stdout: env.stdout });
  return 'done';
}

/**
 * One entry as a worker does it (an array task of `--executor slurm`, a
 * device worker of `--devices`): its training, then its landscape, then
 * its smoothness probe.
 */
export async function runExperimentEntry(dir: string, k: number, env: ExperimentEnvironment): Promise<'completed' | 'failed' | 'cancelled'> {
  const outcome = await trainEntry(dir, k, env);
  if (outcome !== undefined && outcome.status !== 'completed') return outcome.status === 'cancelled' ? 'cancelled' : 'failed';
  if ((await landscapeEntry(dir, k, env)) === 'cancelled') return 'cancelled';
  await hessianEntry(dir, k, env);
  return 'completed';
}

/**
 * Runs (or continues) the experiment in `dir`. A folder holding an
 * experiment with other settings is refused, so a typo never mixes runs.
 */
export async function runExperiment(dir: string, plan: ExperimentPlan, env: ExperimentEnvironment): Promise<ExperimentOutcome> {
  const cancel = env.cancel ?? { requested: false };
  const progress = (line: Omit<ExperimentProgressLine, 'type'>) => env.stdout(`${JSON.stringify({ type: 'experiment', ...line } satisfies ExperimentProgressLine)}\n`);
  const opened = openExperiment(dir, plan);
  if (opened.created) progress({ phase: 'plan', total: opened.file.entries.length });
  else env.stderr(`continuing the experiment in ${dir}\n`);
  const failed: string[] = [];
  const total = opened.file.entries.length;
  const inner = { ...env, cancel };

  for (let k = 0; k < total; k++) {
    if (cancel.requested) return stopped();
    const entry = readExperiment(dir)!.entries[k]!;
    if (entry.runId !== null && runStatusOf(runsDirOfExperiment(dir), entry.runId) === 'completed') continue;
    progress({ phase: 'train', index: k + 1, total, name: entry.name, ...(entry.trainSeed !== undefined ? { trainSeed: entry.trainSeed } : {}), ...(entry.runId !== null ? { runId: entry.runId } : {}) });
    const outcome = await trainEntry(dir, k, inner);
    if (outcome === undefined) continue;
    if (outcome.status === 'cancelled') return stopped();
    if (outcome.status === 'failed') {
      failed.push(entry.name);
      env.stderr(`${entry.name} failed (${outcome.reason ?? 'no reason given'}); the experiment goes on without it\n`);
    }
  }

  for (let k = 0; k < total; k++) {
    if (cancel.requested) return stopped();
    const entry = readExperiment(dir)!.entries[k]!;
    if (opened.file.landscape === null || entry.runId === null || runStatusOf(runsDirOfExperiment(dir), entry.runId) !== 'completed') continue;
    progress({ phase: 'landscape', index: k + 1, total, name: entry.name, runId: entry.runId });
    if ((await landscapeEntry(dir, k, inner)) === 'cancelled') return stopped();
  }

  for (let k = 0; k < total; k++) {
    if (cancel.requested) return stopped();
    const entry = readExperiment(dir)!.entries[k]!;
    if (opened.file.hessian == null || entry.runId === null || runStatusOf(runsDirOfExperiment(dir), entry.runId) !== 'completed') continue;
    if (readHessian(runDirOf(runsDirOfExperiment(dir), entry.runId, `entry ${entry.name}`)) !== undefined) continue;
    progress({ phase: 'hessian', index: k + 1, total, name: entry.name, runId: entry.runId });
    await hessianEntry(dir, k, inner);
  }

  const report = writeExperimentReport(dir, readExperiment(dir)!);
  progress({ phase: 'report', report });
  progress({ phase: 'done', report });
  return { status: 'completed', dir, report, failed };

  function stopped(): ExperimentOutcome {
    progress({ phase: 'stopped' });
    env.stderr(`experiment stopped; run the same command to continue (${dir})\n`);
    return { status: 'cancelled', dir, failed };
  }
}
