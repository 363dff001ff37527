/**
 * Reading what a report shows from run folders (run.json, metrics.jsonl,
 * landscape.json, hessian.json, hessian-epochs.jsonl) and experiment folders (experiment.json). Node file access only, no TensorFlow, so the CLI's
 * `report` and the editor's report panel both use it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { EXPERIMENT_FILE, experimentFileProblem, type ExperimentFile } from '../shared/experimentTypes.js';
import { probeHessianOf, sliceOf, type RunProbes } from '../shared/chartData.js';
import { HESSIAN_EPOCHS_FILE, HESSIAN_FILE, isLandscapeFile, LANDSCAPE_FILE, type HessianFile, type LandscapeFile } from '../shared/landscapeTypes.js';
import type { ReportInput, ReportRun } from '../render/report.js';
import { runDirOf } from './runPaths.js';
import { readHessianEpochs, readHessianReport, readMetricsFile, readRunRecord, RUN_FILE, type ProbeFileRead } from './runStore.js';

export { readHessianEpochs, readHessianReport, type ProbeFileRead };

/** landscape.json of a run: absent ({}), its content, or why it cannot be read. */
export function readLandscapeReport(runDir: string): ProbeFileRead<LandscapeFile> {
  const path = join(runDir, LANDSCAPE_FILE);
  if (!existsSync(path)) return {};
  try {
    const value: unknown = JSON.parse(readFileSync(path, 'utf8'));
    return isLandscapeFile(value) ? { file: value } : { problem: `${path}: not a landscape file this version reads (grid, range, seed, loss and accuracy grids)` };
  } catch (error) {
    return { problem: `${path}: unreadable (${(error as Error).message})` };
  }
}

/** landscape.json of a run, when it exists and parses. */
export function readLandscape(runDir: string): LandscapeFile | undefined {
  return readLandscapeReport(runDir).file;
}

/**
 * What the results panel shows of a run's probes: the smoothness probe's
 * numbers, the per-epoch λ_max, the 1D slice of the landscape (not its whole
 * grid), and each file that is there but broken, named with its field.
 */
export function readRunProbes(runDir: string): RunProbes {
  const hessian = readHessianReport(runDir);
  const epochs = readHessianEpochs(runDir);
  const landscape = readLandscapeReport(runDir);
  const slice = landscape.file !== undefined ? sliceOf(landscape.file) : undefined;
  const problems = [hessian.problem, landscape.problem, ...epochs.problems].filter((p): p is string => p !== undefined);
  return {
    ...(hessian.file !== undefined ? { hessian: probeHessianOf(hessian.file) } : {}),
    hessianEpochs: epochs.lines,
    ...(slice !== undefined ? { slice } : {}),
    problems,
  };
}

/** Changes when any of a run's probe files is written (size and modification time of each): when to read them again. */
export function probeFilesStamp(runDir: string): string {
  return [HESSIAN_FILE, HESSIAN_EPOCHS_FILE, LANDSCAPE_FILE]
    .map((name) => {
      try {
        const st = statSync(join(runDir, name));
        return `${st.size}:${st.mtimeMs}`;
      } catch {
        return '-';
      }
    })
    .join('|');
}

/** hessian.json of a run (the smoothness probe), when it exists and fits its shape. */
export function readHessian(runDir: string): HessianFile | undefined {
  return readHessianReport(runDir).file;
}

/** The report's view of each run folder (throws RunStoreError for a folder without a readable run.json). */
export function loadReportRuns(runDirs: readonly string[]): ReportRun[] {
  return runDirs.map((dir) => {
    const record = readRunRecord(dir);
    const landscape = readLandscape(dir);
    const hessian = readHessian(dir);
    // Only the lines that fit their shape reach the report; the others are named there, never drawn.
    const epochs = readHessianEpochs(dir);
    return {
      record,
      metrics: readMetricsFile(dir),
      ...(landscape !== undefined ? { landscape } : {}),
      ...(hessian !== undefined ? { hessian } : {}),
      ...(epochs.lines.length > 0 ? { hessianEpochs: epochs.lines } : {}),
      ...(epochs.problems.length > 0 ? { probeProblems: epochs.problems } : {}),
    };
  });
}

export class ExperimentError extends Error {}

/** Where an experiment keeps its runs. */
export function runsDirOfExperiment(dir: string): string {
  return join(dir, 'runs');
}

/** experiment.json of a folder; undefined when there is none. */
export function readExperiment(dir: string): ExperimentFile | undefined {
  const path = join(dir, EXPERIMENT_FILE);
  if (!existsSync(path)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ExperimentError(`${path}: unreadable (${(error as Error).message})`);
  }
  const problem = experimentFileProblem(value);
  if (problem !== undefined) throw new ExperimentError(`${path}: not a Cellscope experiment: ${problem}`);
  return value as ExperimentFile;
}

/** The run folders of the experiment's entries that have started. */
export function experimentRunDirs(dir: string, file: ExperimentFile): string[] {
  const runs = runsDirOfExperiment(dir);
  return file.entries.flatMap((e, i) => {
    if (e.runId === null) return [];
    const runDir = runDirOf(runs, e.runId, `${join(dir, EXPERIMENT_FILE)} entries[${i}].runId`);
    return existsSync(join(runDir, RUN_FILE)) ? [runDir] : [];
  });
}

/**
 * The report's title: what the experiment set out to compare, from its
 * entries (cells, not runs: several training seeds train one cell several
 * times). A plain experiment keeps its old title.
 */
export function experimentTitle(file: ExperimentFile): string {
  const cells = (role: ExperimentFile['entries'][number]['role']) => new Set(file.entries.filter((e) => e.role === role).map((e) => e.name)).size;
  const connections = cells('variant');
  const operations = cells('operations');
  const adapted = cells('adapted');
  if (file.protocol === undefined && operations === 0 && adapted === 0 && file.seeds === undefined) {
    return `Wide vs narrow: ${file.architecture} and ${file.entries.length - 1} random-connection variants`;
  }
  const parts = [
    connections > 0 ? `${connections} random-connection variant${connections === 1 ? '' : 's'}` : undefined,
    operations > 0 ? `${operations} random-operation variant${operations === 1 ? '' : 's'}` : undefined,
    adapted > 0 ? 'its adapted cell' : undefined,
  ].filter((p): p is string => p !== undefined);
  const against = parts.length === 0 ? '' : ` against ${parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)!}`}`;
  const seeds = file.seeds !== undefined && file.seeds.length > 1 ? `, ${file.seeds.length} training seeds each` : '';
  return `${file.protocol === 'section5' ? 'Section 5' : 'Experiment'}: ${file.architecture}${against}${seeds}`;
}

/** The report of an experiment folder as its runs stand now (the CLI's report.html and the editor's panel). */
export function experimentReportInput(dir: string, file: ExperimentFile, generatedAt: string): ReportInput {
  return {
    title: experimentTitle(file),
    runs: loadReportRuns(experimentRunDirs(dir, file)),
    generatedAt,
    notes: [`Experiment folder ${dir}; ${file.variants > 0 ? `connection variants stratified over normal-cell widths ${file.widths.map((w) => `${w}c`).join(', ')}` : 'no connection variants'}.`],
    ...(file.protocol !== undefined ? { protocol: file.protocol } : {}),
    landscapesPlanned: file.landscape !== null,
  };
}
