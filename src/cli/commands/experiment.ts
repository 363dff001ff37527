/**
 * `cellscope experiment ARCH --variants K`: the wide-vs-narrow experiment of
 * the paper for one architecture — random-connection variants stratified by
 * normal-cell width, all trained one after another, their loss landscapes
 * and gradient-variance surfaces, and the report (report.html in the
 * experiment folder, whose path is the last line on stdout). Stopped with
 * Ctrl-C / SIGTERM, the same command continues where it stopped.
 * Exit status: 0 done, 1 failed, 143 stopped.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { flagBoolean, flagList, flagNumber, flagString, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from '../args.js';
import type { CliIO, Command } from '../command.js';
import {
  EXPERIMENT_PROTOCOLS,
  SECTION5_DEFAULTS,
  SECTION5_REGULARISATION,
  type ExperimentHessianSettings,
  type ExperimentLandscapeSettings,
  type ExperimentProgressLine,
  type ExperimentProtocol,
} from '../../shared/experimentTypes.js';
import type { SlurmOptions } from '../../shared/slurmTypes.js';
import { executorOf, SLURM_FLAGS, SLURM_USAGE, slurmOptionsFromArgs } from '../slurmFlags.js';
import { experimentReport, experimentStatusCommand, experimentTask } from './experimentJobs.js';
import { HESSIAN_FLAGS } from './hessian.js';
import type { ExperimentPlan } from '../../train/experimentPlan.js';
import { loadGenotype } from '../resolve.js';
import { PAPER_LANDSCAPE, type BnMode, type VarianceSplit } from '../../shared/landscapeTypes.js';
import type { RunConfig } from '../../shared/runTypes.js';
import { LANDSCAPE_FLAGS, landscapeWhat, withStopSignals } from './landscape.js';
import { BACKEND_HELP, configFromArgs, TRAIN_FLAGS as TRAIN_FLAG_SPECS } from './train.js';

/** The training flags an experiment passes on to every run, with `cellscope train`'s specs. */
const PASSED_TRAIN_FLAGS = [
  'dataset', 'data', 'offline', 'preset', 'epochs', 'batch', 'lr', 'layers', 'channels', 'augment', 'seed',
  'train-subset', 'test-subset', 'grad-variance-batches', 'backend',
  // Section 5's regularisation (the paper's fully regularised runs: --cutout --auxiliary --drop-path 0.2).
  'auxiliary', 'auxiliary-weight', 'cutout', 'cutout-length', 'drop-path',
  // The smoothness probe during every run's training (config.hessianEpochs; its --hessian-iterations and
  // --trace-samples are the experiment's own flags below, shared with the end-of-run probe).
  'hessian-every', 'hessian-batches',
] as const;
const TRAIN_FLAGS: Record<string, FlagSpec> = Object.fromEntries(PASSED_TRAIN_FLAGS.map((name) => [name, TRAIN_FLAG_SPECS[name]!]));

/**
 * The landscape settings of an experiment from its flags; with none, the
 * paper's: 51×51 over the whole test set, loss and variance, the variance
 * on test batches with BatchNorm in evaluation mode.
 */
export function experimentLandscape(args: ParsedArgs): ExperimentLandscapeSettings | null {
  if (flagBoolean(args, 'no-landscape')) return null;
  // Section 5 compares test error: landscapes only when asked for (--landscape, or one of their settings).
  if (protocolOf(args) === 'section5' && !SECTION5_DEFAULTS.landscape && !flagBoolean(args, 'landscape') && !LANDSCAPE_SETTING_FLAGS.some((f) => args.flags.has(f))) return null;
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
  landscape: { type: 'boolean' },
  'hessian-iterations': HESSIAN_FLAGS['hessian-iterations']!,
  'trace-samples': HESSIAN_FLAGS['trace-samples']!,
  'no-hessian': { type: 'boolean' },
  hessian: { type: 'boolean' },
  protocol: { type: 'string', choices: EXPERIMENT_PROTOCOLS },
  'op-variants': { type: 'int', min: 0, max: 1000 },
  adapted: { type: 'boolean' },
  seeds: { type: 'list' },
};

const LANDSCAPE_SETTING_FLAGS = ['grid', 'range', 'subset', 'what', 'variance-split', 'bn', 'landscape-seed'];
const HESSIAN_SETTING_FLAGS = ['hessian-iterations', 'trace-samples'];

/**
 * `--hessian-batches` sets the per-epoch probe only: refused without
 * `--hessian-every` (as `cellscope train` does), never silently dropped.
 */
export function checkHessianEveryFlags(args: ParsedArgs): void {
  if (args.flags.has('hessian-batches') && !args.flags.has('hessian-every')) {
    throw new UsageError('--hessian-batches sets the per-epoch Hessian probe: give --hessian-every N with it');
  }
}

function protocolOf(args: ParsedArgs): ExperimentProtocol | undefined {
  return flagString(args, 'protocol') as ExperimentProtocol | undefined;
}

/**
 * The flags with `--protocol section5`'s training settings filled in where
 * they were not given: the paper's full regularisation (cutout 16, auxiliary
 * head weight 0.4, drop path 0.2). A flag given on the command line wins
 * (`--drop-path 0` trains without drop path), and the report says so.
 */
export function withProtocolDefaults(args: ParsedArgs): ParsedArgs {
  if (protocolOf(args) !== 'section5') return args;
  const flags = new Map(args.flags);
  const r = SECTION5_REGULARISATION;
  const defaults: [string, boolean | number][] = [
    ['cutout', r.cutout],
    ['cutout-length', r.cutoutLength],
    ['auxiliary', r.auxiliary],
    ['auxiliary-weight', r.auxiliaryWeight],
    ['drop-path', r.dropPath],
  ];
  for (const [name, value] of defaults) if (!flags.has(name)) flags.set(name, value);
  return { positional: args.positional, flags };
}

/** Which cells an experiment trains and how often: its entries' kinds and training seeds. */
export interface ExperimentKinds {
  readonly protocol?: ExperimentProtocol;
  readonly variants: number;
  readonly operationVariants: number;
  readonly adapted: boolean;
  /** Training seeds; undefined: each cell once, with --seed (an experiment as before --seeds existed). */
  readonly seeds?: readonly number[];
}

/**
 * The entries' kinds from the flags: `--variants` (random connections),
 * `--op-variants` (random operations), `--adapted`, `--seeds`; under
 * `--protocol section5` each defaults to SECTION5_DEFAULTS instead of none.
 * `--seeds K` trains every cell with K seeds from --seed on (S, S+1, …);
 * `--seeds 1,5,9` with exactly those.
 */
export function experimentKinds(args: ParsedArgs): ExperimentKinds {
  const protocol = protocolOf(args);
  const section5 = protocol === 'section5';
  const adaptedFlag = args.flags.get('adapted');
  const seeds = trainingSeeds(args, section5 ? SECTION5_DEFAULTS.seeds : undefined);
  return {
    ...(protocol !== undefined ? { protocol } : {}),
    // Section 5 keeps a plain experiment's count of connection variants.
    variants: flagNumber(args, 'variants') ?? (section5 ? SECTION5_DEFAULTS.variants : DEFAULT_VARIANTS),
    operationVariants: flagNumber(args, 'op-variants') ?? (section5 ? SECTION5_DEFAULTS.operationVariants : 0),
    adapted: typeof adaptedFlag === 'boolean' ? adaptedFlag : section5 && SECTION5_DEFAULTS.adapted,
    ...(seeds !== undefined ? { seeds } : {}),
  };
}

const MAX_SEED = 4294967295;
const DEFAULT_VARIANTS = 4;

function trainingSeeds(args: ParsedArgs, defaultCount: number | undefined): number[] | undefined {
  const list = flagList(args, 'seeds');
  const base = flagNumber(args, 'seed') ?? 0;
  const count = (k: number) => Array.from({ length: k }, (_, i) => base + i);
  if (list === undefined) return defaultCount === undefined ? undefined : count(defaultCount);
  const values = list.map((text) => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isInteger(value) || value < 0 || value > MAX_SEED) {
      throw new UsageError(`--seeds takes a count of training seeds (3) or a list of seeds (0,1,2), not '${list.join(',')}'`);
    }
    return value;
  });
  if (values.length === 0) throw new UsageError('--seeds needs a count of training seeds (3) or a list of seeds (0,1,2)');
  if (values.length === 1) {
    const k = values[0]!;
    if (k < 1 || k > 1000) throw new UsageError(`--seeds ${k}: a count of training seeds must be from 1 to 1000 (a single seed is --seed S)`);
    if (base + k - 1 > MAX_SEED) throw new UsageError(`--seeds ${k} from --seed ${base} goes past seed ${MAX_SEED}`);
    return count(k);
  }
  if (args.flags.has('seed')) throw new UsageError('--seed and a list in --seeds: give the seeds in --seeds alone');
  if (new Set(values).size !== values.length) throw new UsageError(`--seeds lists a seed twice (${list.join(',')})`);
  return values;
}

/** The smoothness probe's settings (default: 20 power iterations, 10 trace samples); --no-hessian: none. */
export function experimentHessian(args: ParsedArgs): ExperimentHessianSettings | null {
  if (flagBoolean(args, 'no-hessian')) return null;
  // As landscapes: Section 5's runs get the smoothness probe only when asked for.
  // With --hessian-every the setting flags are (also) the per-epoch probe's, so they alone do not ask for it.
  const asked = flagBoolean(args, 'hessian') || (!args.flags.has('hessian-every') && HESSIAN_SETTING_FLAGS.some((f) => args.flags.has(f)));
  if (protocolOf(args) === 'section5' && !SECTION5_DEFAULTS.hessian && !asked) return null;
  return { iterations: flagNumber(args, 'hessian-iterations') ?? 20, traceSamples: flagNumber(args, 'trace-samples') ?? 10 };
}

/**
 * The runs' training settings: the training flags, with the protocol's
 * defaults where they were not given; with several training seeds,
 * config.seed is the first (each entry records its own).
 */
export function experimentConfig(args: ParsedArgs, cwd: string, kinds: ExperimentKinds): RunConfig {
  let config;
  try {
    config = configFromArgs(withProtocolDefaults(args), cwd);
  } catch (error) {
    // The auxiliary head was the protocol's choice, not the user's: say where it came from and how to leave it out.
    if (error instanceof UsageError && kinds.protocol === 'section5' && !args.flags.has('auxiliary') && /^--auxiliary needs/.test(error.message)) {
      throw new UsageError(`--protocol section5 trains with the auxiliary head (--auxiliary), but ${error.message.replace(/^--auxiliary /, 'it ')}; add --auxiliary=false to train without it`);
    }
    throw error;
  }
  return kinds.seeds !== undefined ? { ...config, seed: kinds.seeds[0]! } : config;
}

export const experimentCommand: Command = {
  name: 'experiment',
  summary: 'wide vs narrow: train an architecture and width-stratified variants, probe them, write the report',
  usage: [
    'cellscope experiment ARCH [--variants 4] [--widths 2,2.5,3] [--op-variants K] [--adapted] [--seeds K|S1,S2,…]',
    '  [--protocol section5] [--dir experiments/ARCH]',
    '  [--grid 51] [--range 1] [--landscape-seed 0] [--subset N] [--what loss,variance] [--variance-split test|train] [--bn eval|train]',
    '  [--no-landscape|--landscape] [--hessian-iterations 20] [--trace-samples 10] [--no-hessian|--hessian]',
    '  [--hessian-every N [--hessian-batches 2]]',
    '  [training flags of cellscope train: --dataset --data --offline --preset --epochs --batch --lr --layers --channels',
    '   --augment --seed --train-subset --test-subset --grad-variance-batches --backend --auxiliary --auxiliary-weight',
    '   --cutout --cutout-length --drop-path]',
    SLURM_USAGE,
    '  [--devices all|0,1,… (--executor local: one worker per GPU, CUDA_VISIBLE_DEVICES or the WebGPU adapter index)]',
    'cellscope experiment status DIR [--json]     entries, runs, Slurm tasks and the report job of an experiment',
    'cellscope experiment task DIR [--entry K]    train entry K (default SLURM_ARRAY_TASK_ID), its landscape and smoothness probe',
    'cellscope experiment report DIR              write DIR/report.html from what the runs hold now',
    'ARCH: a built-in name or FILE#NAME. Variants: random connections (same operations, re-drawn inputs), stratified',
    'over the normal-cell widths they most often have (or --widths). The original and every variant are trained in turn,',
    'then each gets a landscape and the smoothness probe (top Hessian eigenvalue and trace); the report is DIR/report.html.',
    '--op-variants K: also K random-operation variants (connections kept, seeds 1…K); --adapted: also the adapted',
    '(widest, shallowest) cell, the authors\' *_ADAPT where they made one; --seeds K: every cell trained with K seeds',
    'from --seed on (or --seeds 0,4,9: those), one run each.',
    '--protocol section5: the paper\'s Section 5 in one word: cutout 16, auxiliary head 0.4, drop path 0.2, 4 connection',
    'and 4 operation variants, the adapted cell, 3 training seeds, no landscapes or Hessian probe (--landscape, --hessian',
    'add them); any flag given overrides its part. The report\'s Section 5 table gives test error per kind, mean ± sd.',
    '--hessian-every N: every run also gets the smoothness probe after every N-th epoch and the last, during training',
    '(RUN/hessian-epochs.jsonl, as cellscope train --hessian-every); --hessian-iterations and --trace-samples, when given,',
    'set it as well as the end-of-run probe, else it takes its small defaults. The report plots λ_max per epoch by width.',
    'The same command continues a stopped experiment; a folder planned otherwise is refused.',
    '--executor slurm submits one job array (task k trains entry k, then probes it) on the shared DIR and a report',
    'job after it (--dependency=afterany), prints the job ids and returns; `experiment status DIR` follows them.',
    BACKEND_HELP,
  ].join('\n'),
  async run(argv, io) {
    const sub = argv[0];
    const { ExperimentError } = await import('../../runs/reportRuns.js');
    if (sub === 'status' || sub === 'task' || sub === 'report') {
      try {
        return await (sub === 'status' ? experimentStatusCommand : sub === 'task' ? experimentTask : experimentReport)(argv.slice(1), io);
      } catch (error) {
        if (!(error instanceof ExperimentError)) throw error;
        io.stderr(`cellscope experiment ${sub}: ${error.message}\n`);
        return 1;
      }
    }
    const args = parseArgs(argv, { ...EXPERIMENT_FLAGS, ...SLURM_FLAGS, devices: { type: 'string' } });
    if (args.positional.length !== 1) throw new UsageError('experiment needs exactly one ARCH (a built-in name or FILE#NAME)');
    const ref = args.positional[0]!;
    checkHessianEveryFlags(args);
    const loaded = loadGenotype(ref, io.cwd);
    const widths = flagList(args, 'widths')?.map((w) => {
      const value = Number(w.replace(/c$/, ''));
      if (!(value > 0)) throw new UsageError(`--widths takes widths in c such as 2,2.5,3 (not '${w}')`);
      return value;
    });
    const kinds = experimentKinds(args);
    const config = experimentConfig(args, io.cwd, kinds);
    const slurmOptions = slurmOptionsFromArgs(args, io.cwd);
    const plan: ExperimentPlan = {
      ref,
      name: loaded.name,
      genotype: loaded.genotype,
      ...kinds,
      ...(widths !== undefined ? { widths } : {}),
      config,
      landscape: experimentLandscape(args),
      hessian: experimentHessian(args),
    };
    const dir = resolve(io.cwd, flagString(args, 'dir') ?? `experiments/${loaded.name}`);
    const devices = flagString(args, 'devices');
    if (devices !== undefined && executorOf(args) === 'slurm') throw new UsageError('--devices is for --executor local (on Slurm, ask for GPUs with --gres gpu:N)');
    if (executorOf(args) === 'slurm') return submitToSlurm(dir, plan, slurmOptions, io);
    if (devices !== undefined) return runOnLocalDevices(dir, plan, devices, io);
    const { runExperiment } = await import('../../train/experiment.js');
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

/**
 * `--executor slurm`: plans the experiment (or continues it), submits the
 * entries not yet completed as one array and the report job after it, and
 * returns. A refused submission leaves no job behind, and a folder this
 * command created is removed again.
 */
async function submitToSlurm(dir: string, plan: ExperimentPlan, options: SlurmOptions, io: CliIO): Promise<number> {
  const { SlurmError, requireSbatch } = await import('../../runs/slurm/slurmCommands.js');
  const { currentInvocation, submitExperiment } = await import('../../runs/slurm/submit.js');
  const { experimentStatus } = await import('../../runs/slurm/slurmStatus.js');
  const { openExperiment } = await import('../../train/experimentPlan.js');
  const { ExperimentError } = await import('../../runs/reportRuns.js');
  const { writeExperimentReport } = await import('../../runs/experimentFile.js');
  const { SamplingError } = await import('../../genotype/samplers.js');
  const fresh = !existsSync(dir) || readdirSync(dir).length === 0;
  let created = false;
  try {
    requireSbatch();
    const how = currentInvocation();
    const opened = openExperiment(dir, plan);
    created = opened.created && fresh;
    const status = experimentStatus(dir, opened.file);
    const active = status.entries.filter((e) => e.status === 'queued' || e.status === 'running');
    if (active.length > 0) {
      throw new ExperimentError(`${dir} has ${active.length} task(s) still queued or running (${active.map((e) => e.job ?? e.name).join(', ')}); see 'cellscope experiment status ${dir}'`);
    }
    const tasks = status.entries.filter((e) => e.status !== 'completed').map((e) => e.index);
    if (tasks.length === 0) {
      const report = writeExperimentReport(dir, opened.file);
      io.stderr(`every run of ${dir} has completed; report: ${report}\n`);
      io.stdout(`${report}\n`);
      return 0;
    }
    const submission = submitExperiment(dir, options, how, tasks, 'submit');
    const line: ExperimentProgressLine = { type: 'experiment', phase: 'submitted', total: tasks.length, arrayJobId: submission.arrayJobId, reportJobId: submission.reportJobId };
    io.stdout(`${JSON.stringify(line)}\n`);
    io.stderr(
      `submitted array job ${submission.arrayJobId} (${tasks.length} task${tasks.length === 1 ? '' : 's'}: entries ${tasks.join(',')}) and report job ${submission.reportJobId}; ` +
        `follow with 'cellscope experiment status ${dir}'\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof SlurmError || error instanceof ExperimentError || error instanceof SamplingError) {
      if (created) rmSync(dir, { recursive: true, force: true });
      io.stderr(`cellscope experiment: ${error.message}${created ? ' (nothing was submitted; the new experiment folder was removed)' : ''}\n`);
      return 1;
    }
    throw error;
  }
}

/**
 * `--devices`: the entries not yet completed spread over one worker per
 * device, then the landscapes are done by the workers too and the report
 * here. Exit status as for a sequential run.
 */
async function runOnLocalDevices(dir: string, plan: ExperimentPlan, spec: string, io: CliIO): Promise<number> {
  const { cudaDeviceCount, DeviceError, parseDevices, runOnDevices } = await import('../../runs/deviceExecutor.js');
  const { currentInvocation } = await import('../../runs/slurm/submit.js');
  const { SlurmError } = await import('../../runs/slurm/slurmCommands.js');
  const { openExperiment } = await import('../../train/experimentPlan.js');
  const { ExperimentError, readExperiment, runsDirOfExperiment } = await import('../../runs/reportRuns.js');
  const { writeExperimentReport } = await import('../../runs/experimentFile.js');
  const { readRunRecord } = await import('../../runs/runStore.js');
  const { SamplingError } = await import('../../genotype/samplers.js');
  const webgpu = plan.config.backend === 'webgpu' || plan.config.backend === 'tfjs-webgpu';
  try {
    const devices = parseDevices(spec, webgpu ? 'webgpu' : 'cuda', () => {
      if (webgpu) throw new DeviceError(`--devices all with --backend ${plan.config.backend}: name the adapters (cellscope adapters lists them), e.g. --devices 0,1`);
      return cudaDeviceCount();
    });
    const how = currentInvocation();
    const opened = openExperiment(dir, plan);
    if (!opened.created) io.stderr(`continuing the experiment in ${dir}\n`);
    const runsDir = runsDirOfExperiment(dir);
    const completed = (runId: string | null) => {
      if (runId === null) return false;
      try {
        return readRunRecord(`${runsDir}/${runId}`).status === 'completed';
      } catch {
        return false;
      }
    };
    const todo = opened.file.entries.flatMap((e, k) => (completed(e.runId) && opened.file.landscape === null ? [] : [k]));
    io.stderr(`${todo.length} entr${todo.length === 1 ? 'y' : 'ies'} over ${devices.length} device${devices.length === 1 ? '' : 's'}\n`);
    const cancel = { requested: false };
    const outcome = await withStopSignals(io, cancel, () => runOnDevices(dir, todo, devices, how, { stdout: io.stdout, stderr: io.stderr, cancel }));
    if (outcome.status === 'cancelled') {
      io.stderr(`experiment stopped; run the same command to continue (${dir})\n`);
      return 143;
    }
    const file = readExperiment(dir)!;
    if (outcome.failed.length > 0) io.stderr(`runs that failed: ${outcome.failed.map((k) => file.entries[k]!.name).join(', ')}\n`);
    const report = writeExperimentReport(dir, file);
    io.stderr(`report: ${report}\n`);
    io.stdout(`${report}\n`);
    return 0;
  } catch (error) {
    if (error instanceof DeviceError || error instanceof SlurmError || error instanceof ExperimentError || error instanceof SamplingError) {
      io.stderr(`cellscope experiment: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
