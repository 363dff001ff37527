/**
 * `cellscope experiment ARCH --variants K`: the wide-vs-narrow experiment of
 * the paper for one architecture — random-connection variants stratified by
 * normal-cell width, all trained one after another, their loss landscapes
 * and gradient-variance surfaces, and the report (report.html in the
 * experiment folder, whose path is the last line on stdout). Stopped with
 * Ctrl-C / SIGTERM, the same command continues where it stopped.
 * Exit status: 0 done, 1 failed, 143 stopped.
 */
import { resolve } from 'node:path';
import { flagBoolean, flagList, flagNumber, flagString, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from '../args.js';
import type { ExperimentHessianSettings, ExperimentLandscapeSettings } from '../../shared/experimentTypes.js';
import { HESSIAN_FLAGS } from './hessian.js';
import type { Command } from '../command.js';
import { loadGenotype } from '../resolve.js';
import { PAPER_LANDSCAPE, type BnMode, type VarianceSplit } from '../../shared/landscapeTypes.js';
import { LANDSCAPE_FLAGS, landscapeWhat, withStopSignals } from './landscape.js';
import { BACKEND_HELP, configFromArgs, TRAIN_FLAGS as TRAIN_FLAG_SPECS } from './train.js';

/** The training flags an experiment passes on to every run, with `cellscope train`'s specs. */
const PASSED_TRAIN_FLAGS = [
  'dataset', 'data', 'offline', 'preset', 'epochs', 'batch', 'lr', 'layers', 'channels', 'augment', 'seed',
  'train-subset', 'test-subset', 'grad-variance-batches', 'backend',
  // Section 5's regularisation (the paper's fully regularised runs: --cutout --auxiliary --drop-path 0.2).
  'auxiliary', 'auxiliary-weight', 'cutout', 'cutout-length', 'drop-path',
] as const;
const TRAIN_FLAGS: Record<string, FlagSpec> = Object.fromEntries(PASSED_TRAIN_FLAGS.map((name) => [name, TRAIN_FLAG_SPECS[name]!]));

/**
 * The landscape settings of an experiment from its flags; with none, the
 * paper's: 51×51 over the whole test set, loss and variance, the variance
 * on test batches with BatchNorm in evaluation mode.
 */
export function experimentLandscape(args: ParsedArgs): ExperimentLandscapeSettings | null {
  if (flagBoolean(args, 'no-landscape')) return null;
  const subset = flagNumber(args, 'subset');
  return {
    grid: flagNumber(args, 'grid') ?? PAPER_LANDSCAPE.grid,
    range: flagNumber(args, 'range') ?? PAPER_LANDSCAPE.range,
    seed: flagNumber(args, 'landscape-seed') ?? 0,
    subset: subset ?? null,
    what: landscapeWhat(args) ?? ['loss', 'variance'],
    varianceSplit: (flagString(args, 'variance-split') as VarianceSplit | undefined) ?? PAPER_LANDSCAPE.varianceSplit,
    bnMode: (flagString(args, 'bn') as BnMode | undefined) ?? PAPER_LANDSCAPE.bnMode,
  };
}

/** The flags `cellscope experiment` takes. */
export const EXPERIMENT_FLAGS: Record<string, FlagSpec> = {
  ...TRAIN_FLAGS,
  variants: { type: 'int', min: 0, max: 1000 },
  widths: { type: 'list' },
  dir: { type: 'string' },
  grid: LANDSCAPE_FLAGS['grid']!,
  range: LANDSCAPE_FLAGS['range']!,
  subset: LANDSCAPE_FLAGS['subset']!,
  what: LANDSCAPE_FLAGS['what']!,
  'variance-split': LANDSCAPE_FLAGS['variance-split']!,
  bn: LANDSCAPE_FLAGS['bn']!,
  'landscape-seed': { type: 'int', min: 0, max: 4294967295 },
  'no-landscape': { type: 'boolean' },
  'hessian-iterations': HESSIAN_FLAGS['hessian-iterations']!,
  'trace-samples': HESSIAN_FLAGS['trace-samples']!,
  'no-hessian': { type: 'boolean' },
};

/** The smoothness probe's settings (default: 20 power iterations, 10 trace samples); --no-hessian: none. */
export function experimentHessian(args: ParsedArgs): ExperimentHessianSettings | null {
  if (flagBoolean(args, 'no-hessian')) return null;
  return { iterations: flagNumber(args, 'hessian-iterations') ?? 20, traceSamples: flagNumber(args, 'trace-samples') ?? 10 };
}

export const experimentCommand: Command = {
  name: 'experiment',
  summary: 'wide vs narrow: train an architecture and width-stratified variants, probe them, write the report',
  usage: [
    'cellscope experiment ARCH [--variants 4] [--widths 2,2.5,3] [--dir experiments/ARCH]',
    '  [--grid 51] [--range 1] [--landscape-seed 0] [--subset N] [--what loss,variance] [--variance-split test|train] [--bn eval|train]',
    '  [--no-landscape] [--hessian-iterations 20] [--trace-samples 10] [--no-hessian]',
    '  [training flags of cellscope train: --dataset --data --offline --preset --epochs --batch --lr --layers --channels',
    '   --augment --seed --train-subset --test-subset --grad-variance-batches --backend --auxiliary --auxiliary-weight',
    '   --cutout --cutout-length --drop-path]',
    'ARCH: a built-in name or FILE#NAME. Variants: random connections (same operations, re-drawn inputs), stratified',
    'over the normal-cell widths they most often have (or --widths). The original and every variant are trained in turn,',
    'then each gets a landscape and the smoothness probe (top Hessian eigenvalue and trace); the report is DIR/report.html. The same command continues a stopped experiment.',
    BACKEND_HELP,
  ].join('\n'),
  async run(argv, io) {
    const args = parseArgs(argv, EXPERIMENT_FLAGS);
    if (args.positional.length !== 1) throw new UsageError('experiment needs exactly one ARCH (a built-in name or FILE#NAME)');
    const ref = args.positional[0]!;
    const loaded = loadGenotype(ref, io.cwd);
    const widths = flagList(args, 'widths')?.map((w) => {
      const value = Number(w.replace(/c$/, ''));
      if (!(value > 0)) throw new UsageError(`--widths takes widths in c such as 2,2.5,3 (not '${w}')`);
      return value;
    });
    const config = configFromArgs(args, io.cwd);
    const plan = {
      ref,
      name: loaded.name,
      genotype: loaded.genotype,
      variants: flagNumber(args, 'variants') ?? 4,
      ...(widths !== undefined ? { widths } : {}),
      config,
      landscape: experimentLandscape(args),
      hessian: experimentHessian(args),
    };
    const dir = resolve(io.cwd, flagString(args, 'dir') ?? `experiments/${loaded.name}`);
    const { runExperiment, ExperimentError } = await import('../../train/experiment.js');
    const { SamplingError } = await import('../../genotype/samplers.js');
    const { LandscapeError } = await import('../../train/probes/landscape.js');
    const { RunStoreError } = await import('../../runs/runPaths.js');
    const cancel = { requested: false };
    try {
      const outcome = await withStopSignals(io, cancel, () => runExperiment(dir, plan, { stdout: io.stdout, stderr: io.stderr, cancel }));
      if (outcome.status === 'cancelled') return 143;
      if (outcome.failed.length > 0) io.stderr(`runs that failed: ${outcome.failed.join(', ')}\n`);
      io.stderr(`report: ${outcome.report}\n`);
      io.stdout(`${outcome.report}\n`);
      return 0;
    } catch (error) {
      if (error instanceof ExperimentError || error instanceof SamplingError || error instanceof LandscapeError || error instanceof RunStoreError) {
        io.stderr(`cellscope experiment: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  },
};
