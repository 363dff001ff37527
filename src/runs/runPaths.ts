/**
 * From run ids to run folders. Every path built from a run id goes through
 * `runDirOf`: ids come from files anyone with access to a shared runs folder
 * can write (experiment.json, queue.json, run.json), so an id is accepted
 * only as one folder name directly inside the runs folder (`runIdProblem`
 * of src/shared/runTypes.ts), never as `..`, `a/b` or an absolute path.
 */
import { dirname, join, resolve } from 'node:path';
import { runIdProblem } from '../shared/runTypes.js';

/** A run folder or file that cannot be used; the message names it and why. */
export class RunStoreError extends Error {}

/** A run id that does not name a folder inside the runs folder. */
export class RunIdError extends RunStoreError {}

/**
 * The folder of run `id` in `runsDir`. Throws RunIdError for anything but a
 * plain run id; `source` says where the id was read (a file and field), for
 * the message.
 */
export function runDirOf(runsDir: string, id: string, source?: string): string {
  const problem = typeof id === 'string' ? runIdProblem(id) : 'a run id must be a string';
  const dir = problem === undefined ? join(runsDir, id) : undefined;
  // The lexical rule already keeps the path inside; checked again on the resolved path.
  if (dir === undefined || dirname(resolve(dir)) !== resolve(runsDir)) {
    throw new RunIdError(`${source !== undefined ? `${source}: ` : ''}${problem ?? `${JSON.stringify(id)} is not a run id`}; refusing to use it as a folder of ${runsDir}`);
  }
  return dir;
}
