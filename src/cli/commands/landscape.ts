/**
 * `cellscope landscape RUN`: the loss landscape (and gradient-variance
 * surface) of a trained run, written to the run folder as landscape.json.
 * Resumable: stopped with Ctrl-C / SIGTERM (or killed), the same command
 * continues where it stopped. Progress is JSON lines on stdout. Exit status:
 * 0 complete, 1 failed, 143 stopped.
 */
import { BN_MODES, LANDSCAPE_QUANTITIES, VARIANCE_SPLITS, type BnMode, type LandscapeQuantity, type VarianceSplit } from '../../shared/landscapeTypes.js';
import type { BackendChoice } from '../../shared/backendTypes.js';
import { findRunDir, RunStoreError } from '../../runs/runStore.js';
import { flagBoolean, flagList, flagNumber, flagString, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from '../args.js';
import type { CliIO, Command } from '../command.js';
import { BACKEND_FLAG, BACKEND_USAGE, RUNS_FLAG, runsDirOf } from './train.js';

/** The landscape flags, shared with `cellscope experiment`. */
export const LANDSCAPE_FLAGS: Record<string, FlagSpec> = {
  grid: { type: 'int', min: 1, max: 1001 },
  range: { type: 'number', min: 1e-6 },
  seed: { type: 'int', min: 0, max: 4294967295 },
  subset: { type: 'int', min: 1 },
  what: { type: 'list' },
  'variance-batches': { type: 'int', min: 2, max: 10000 },
  batch: { type: 'int', min: 1, max: 65536 },
  'variance-split': { type: 'string', choices: [...VARIANCE_SPLITS] },
  bn: { type: 'string', choices: [...BN_MODES] },
};

/** --variance-split and --bn as request fields (absent: the paper's test split and evaluation-mode BatchNorm). */
export function varianceFlags(args: ParsedArgs): { varianceSplit?: VarianceSplit; bnMode?: BnMode } {
  const split = flagString(args, 'variance-split') as VarianceSplit | undefined;
  const bn = flagString(args, 'bn') as BnMode | undefined;
  return { ...(split !== undefined ? { varianceSplit: split } : {}), ...(bn !== undefined ? { bnMode: bn } : {}) };
}

export function landscapeWhat(args: ParsedArgs, flag = 'what'): LandscapeQuantity[] | undefined {
  const what = flagList(args, flag);
  if (what === undefined) return undefined;
  for (const q of what) {
    if (!(LANDSCAPE_QUANTITIES as readonly string[]).includes(q)) throw new UsageError(`--${flag} takes ${LANDSCAPE_QUANTITIES.join(', ')}, not '${q}'`);
  }
  return what as LandscapeQuantity[];
}

/** Turns SIGINT/SIGTERM into a stop request for the duration of `work`. */
export async function withStopSignals<T>(io: CliIO, cancel: { requested: boolean }, work: () => Promise<T>): Promise<T> {
  const onSignal = (signal: NodeJS.Signals) => {
    if (cancel.requested) process.exit(143);
    cancel.requested = true;
    io.stderr(`${signal}: stopping after the point in progress (again to stop now)\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await work();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

export const landscapeCommand: Command = {
  name: 'landscape',
  summary: 'loss landscape and gradient-variance surface of a trained run (resumable)',
  usage: [
    'cellscope landscape RUN [--grid 51] [--range 1] [--seed 0] [--subset N] [--what loss,variance]',
    `  [--variance-batches K] [--variance-split test|train] [--bn eval|train] [--batch N] [--restart] [${BACKEND_USAGE}] [--runs DIR]`,
    'RUN: a run id (or unique prefix) under --runs (default ./runs), or a run directory.',
    'Writes RUN/landscape.json: loss and accuracy (and with --what variance the gradient variance) on a grid×grid',
    'grid over [-range, range]² of two seeded filter-normalised directions, centred on the trained weights.',
    'The defaults are the paper\'s: a 51×51 grid over the whole test set; the variance surface from K mini-batches of the',
    'test set with BatchNorm in evaluation mode, as the loss (--variance-split train / --bn train: training batches, batch statistics).',
    'Interrupted, the same command continues; --restart discards points computed with other settings.',
    'Backend: the one the run was trained on, unless --backend says otherwise (the choices as for cellscope train).',
  ].join('\n'),
  async run(argv, io) {
    const args = parseArgs(argv, {
      ...LANDSCAPE_FLAGS,
      restart: { type: 'boolean' },
      backend: BACKEND_FLAG,
      runs: RUNS_FLAG,
    });
    if (args.positional.length !== 1) throw new UsageError('landscape needs exactly one RUN');
    let dir: string;
    try {
      dir = findRunDir(args.positional[0]!, runsDirOf(args, io.cwd), io.cwd);
    } catch (error) {
      if (!(error instanceof RunStoreError)) throw error;
      io.stderr(`cellscope landscape: ${error.message}\n`);
      return 1;
    }
    const what = landscapeWhat(args);
    const grid = flagNumber(args, 'grid');
    const range = flagNumber(args, 'range');
    const seed = flagNumber(args, 'seed');
    const subset = flagNumber(args, 'subset');
    const varianceBatches = flagNumber(args, 'variance-batches');
    const batch = flagNumber(args, 'batch');
    const backend = flagString(args, 'backend');
    // TensorFlow.js is loaded only by the commands that compute.
    const { runLandscape, LandscapeError } = await import('../../train/probes/landscape.js');
    const cancel = { requested: false };
    try {
      const outcome = await withStopSignals(io, cancel, () =>
        runLandscape(
          dir,
          {
            ...(grid !== undefined ? { grid } : {}),
            ...(range !== undefined ? { range } : {}),
            ...(seed !== undefined ? { seed } : {}),
            ...(subset !== undefined ? { subset } : {}),
            ...(what !== undefined ? { what } : {}),
            ...(varianceBatches !== undefined ? { varianceBatches } : {}),
            ...(batch !== undefined ? { evalBatchSize: batch } : {}),
            ...varianceFlags(args),
            ...(backend !== undefined ? { backend: backend as BackendChoice } : {}),
            restart: flagBoolean(args, 'restart'),
          },
          { stdout: io.stdout, stderr: io.stderr, cancel },
        ),
      );
      if (outcome.status === 'cancelled') {
        io.stderr(`stopped with ${outcome.reused + outcome.computed} points done; run the same command to continue\n`);
        return 143;
      }
      io.stderr(`${outcome.file} (${outcome.computed} points computed, ${outcome.reused} reused)\n`);
      return 0;
    } catch (error) {
      if (error instanceof LandscapeError || error instanceof RunStoreError) {
        io.stderr(`cellscope landscape: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  },
};
