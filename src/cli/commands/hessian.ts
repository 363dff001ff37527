/**
 * `cellscope hessian RUN`: the smoothness probe of Section 4.3 on a trained
 * run — the top eigenvalue of the training loss's Hessian (power iteration)
 * and its trace (Hutchinson) — written to RUN/hessian.json. Exit status: 0
 * done, 1 failed.
 */
import { findRunDir, RunStoreError } from '../../runs/runStore.js';
import type { BackendChoice } from '../../shared/backendTypes.js';
import { flagNumber, flagString, parseArgs, UsageError, type FlagSpec } from '../args.js';
import type { Command } from '../command.js';
import { BACKEND_FLAG, BACKEND_USAGE, RUNS_FLAG, runsDirOf } from './train.js';

/** The probe's flags, shared with `cellscope experiment`. */
export const HESSIAN_FLAGS: Record<string, FlagSpec> = {
  'hessian-iterations': { type: 'int', min: 1, max: 1000 },
  'trace-samples': { type: 'int', min: 0, max: 10000 },
  'hessian-batches': { type: 'int', min: 1, max: 10000 },
};

export const hessianCommand: Command = {
  name: 'hessian',
  summary: 'smoothness of a trained run: top Hessian eigenvalue and trace of the training loss (Section 4.3)',
  usage: [
    `cellscope hessian RUN [--hessian-iterations 20] [--trace-samples 10] [--hessian-batches K] [--seed 0] [${BACKEND_USAGE}] [--runs DIR]`,
    'Writes RUN/hessian.json: the largest eigenvalue of the Hessian of the training loss at the trained weights (power',
    'iteration) and its trace (Hutchinson, Rademacher vectors), on K fixed training batches with BatchNorm in training mode.',
    'Hessian-vector products are central differences of exact gradients.',
  ].join('\n'),
  async run(argv, io) {
    const args = parseArgs(argv, { ...HESSIAN_FLAGS, seed: { type: 'int', min: 0, max: 4294967295 }, backend: BACKEND_FLAG, runs: RUNS_FLAG });
    if (args.positional.length !== 1) throw new UsageError('hessian needs exactly one RUN');
    let dir: string;
    try {
      dir = findRunDir(args.positional[0]!, runsDirOf(args, io.cwd), io.cwd);
    } catch (error) {
      if (!(error instanceof RunStoreError)) throw error;
      io.stderr(`cellscope hessian: ${error.message}\n`);
      return 1;
    }
    const { runHessianProbe } = await import('../../train/probes/hessian.js');
    const { LandscapeError } = await import('../../train/probes/landscape.js');
    const iterations = flagNumber(args, 'hessian-iterations');
    const traceSamples = flagNumber(args, 'trace-samples');
    const batches = flagNumber(args, 'hessian-batches');
    const seed = flagNumber(args, 'seed');
    const backend = flagString(args, 'backend');
    try {
      const file = await runHessianProbe(
        dir,
        {
          ...(iterations !== undefined ? { iterations } : {}),
          ...(traceSamples !== undefined ? { traceSamples } : {}),
          ...(batches !== undefined ? { batches } : {}),
          ...(seed !== undefined ? { seed } : {}),
          ...(backend !== undefined ? { backend: backend as BackendChoice } : {}),
        },
        { stdout: io.stdout },
      );
      io.stderr(`λ_max ${file.topEigenvalue.toPrecision(4)} (${file.converged ? 'converged' : 'not converged'} after ${file.iterations} iterations)` +
        `${file.trace !== null ? `, trace ${file.trace.toPrecision(4)} ± ${file.traceStandardError!.toPrecision(2)}` : ''}\n`);
      return 0;
    } catch (error) {
      if (error instanceof LandscapeError || error instanceof RunStoreError) {
        io.stderr(`cellscope hessian: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  },
};
