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
import type { ExperimentHessianSettings, ExperimentLandscapeSettings, ExperimentProgressLine } from '../../shared/experimentTypes.js';
import type { SlurmOptions } from '../../shared/slurmTypes.js';
import { executorOf, SLURM_FLAGS, SLURM_USAGE, slurmOptionsFromArgs } from '../slurmFlags.js';
import { experimentReport, experimentStatusCommand, experimentTask } from './experimentJobs.js';
import { HESSIAN_FLAGS } from './hessian.js';
import type { ExperimentPlan } from '../../train/experimentPlan.js';
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
    SLURM_USAGE,
    '  [--devices all|0,1,… (--executor local: one worker per GPU, CUDA_VISIBLE_DEVICES or the WebGPU adapter index)]',
    'cellscope experiment status DIR [--json]     entries, runs, Slurm tasks and the report job of an experiment',
    'cellscope experiment task DIR [--entry K]    train entry K (default SLURM_ARRAY_TASK_ID), its landscape and smoothness probe',
    'cellscope experiment report DIR              write DIR/report.html from what the runs hold now',
    'ARCH: a built-in name or FILE#NAME. Variants: random connections (same operations, re-drawn inputs), stratified',
    'over the normal-cell widths they most often have (or --widths). The original and every variant are trained in turn,',
    'then each gets a landscape and the smoothness probe (top Hessian eigenvalue and trace); the report is DIR/report.html.',
    'The same command continues a stopped experiment.',
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
    const loaded = loadGenotype(ref, io.cwd);
    const widths = flagList(args, 'widths')?.map((w) => {
      const value = Number(w.replace(/c$/, ''));
      if (!(value > 0)) throw new UsageError(`--widths takes widths in c such as 2,2.5,3 (not '${w}')`);
      return value;
    });
    const config = configFromArgs(args, io.cwd);
    const slurmOptions = slurmOptionsFromArgs(args, io.cwd);
    const plan: ExperimentPlan = {
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
  const webgpu = plan.config.backend === 'webgpu';
  try {
    const devices = parseDevices(spec, webgpu ? 'webgpu' : 'cuda', () => {
      if (webgpu) throw new DeviceError('--devices all with --backend webgpu: name the adapters (cellscope adapters lists them), e.g. --devices 0,1');
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
