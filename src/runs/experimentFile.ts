/**
 * Writing experiment.json. Several processes change it at once under
 * `--executor slurm` or `--devices` (each task records the run it started,
 * the submitter records job ids), so every change is a read-modify-write of
 * the whole file under its lock file (fileLock.ts), never a write of a copy
 * held in memory.
 */
import { join } from 'node:path';
import { EXPERIMENT_FILE, EXPERIMENT_REPORT_FILE, type ExperimentFile } from '../shared/experimentTypes.js';
import { renderReport } from '../render/report.js';
import { writeFileAtomic } from './atomicFile.js';
import { withFileLock } from './fileLock.js';
import { ExperimentError, experimentReportInput, readExperiment } from './reportRuns.js';

export function writeExperiment(dir: string, file: ExperimentFile): ExperimentFile {
  const next = { ...file, updatedAt: new Date().toISOString() };
  writeFileAtomic(join(dir, EXPERIMENT_FILE), `${JSON.stringify(next, null, 2)}\n`);
  return next;
}

/** Applies `change` to experiment.json as it is on disk now, under its lock; returns what was written. */
export function updateExperiment(dir: string, change: (file: ExperimentFile) => ExperimentFile): ExperimentFile {
  return withFileLock(join(dir, EXPERIMENT_FILE), () => {
    const file = readExperiment(dir);
    if (file === undefined) throw new ExperimentError(`${join(dir, EXPERIMENT_FILE)}: no such file`);
    return writeExperiment(dir, change(file));
  });
}

/** Records the run that trains entry `k`. */
export function setEntryRunId(dir: string, k: number, runId: string): ExperimentFile {
  return updateExperiment(dir, (file) => ({ ...file, entries: file.entries.map((e, i) => (i === k ? { ...e, runId } : e)) }));
}

/** Writes report.html of the experiment from what its runs hold now; returns its path. */
export function writeExperimentReport(dir: string, file: ExperimentFile): string {
  const path = join(dir, EXPERIMENT_REPORT_FILE);
  // Replaced, not written through: a report.html planted as a link must not redirect the write.
  writeFileAtomic(path, renderReport(experimentReportInput(dir, file, new Date().toISOString())));
  return path;
}
