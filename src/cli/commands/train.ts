/**
 * `cellscope train GENOTYPE`: trains a genotype's evaluation network and
 * records the run under `--runs` (default ./runs). Progress is JSON lines on
 * stdout (for the editor and scripts); messages go to stderr. Exit status:
 * 0 completed, 1 failed, 143 cancelled (SIGTERM/SIGINT or `cellscope cancel`).
 */
import { resolve } from 'node:path';
import { auxiliaryInputSide } from '../../genotype/cost.js';
import { DATASET_INFO } from '../../train/data/registry.js';
import { dataFolderProblem } from '../../train/data/files.js';
import { DATASET_NAMES, type DatasetName } from '../../shared/datasetTypes.js';
import { presetSettings } from '../../runs/presets.js';
import { BACKEND_NAMES, type BackendChoice } from '../../shared/backendTypes.js';
import { PRESET_NAMES, type PresetName, type RunConfig, type RunStatus } from '../../shared/runTypes.js';
import { HESSIAN_EPOCH_DEFAULTS, type HessianEpochsConfig } from '../../shared/landscapeTypes.js';
import { flagBoolean, flagNumber, flagString, parseArgs, UsageError, type FlagSpec, type ParsedArgs } from '../args.js';
import type { Command } from '../command.js';
import { loadGenotype } from '../resolve.js';
import { executorOf, SLURM_FLAGS, SLURM_USAGE, slurmOptionsFromArgs, withoutFlags } from '../slurmFlags.js';

export const RUNS_FLAG: FlagSpec = { type: 'string' };
/** `--threads N` of train and resume: training threads on the CPU backends. */
export const THREADS_FLAG: FlagSpec = { type: 'int', min: 1, max: 1024 };
export const THREADS_HELP =
  '--threads N: training threads on the CPU backends (wasm, cpu), the batch split between them; default every core\n' +
  '(a resumed run keeps the count it recorded); GPU and native TensorFlow backends train on 1. Recorded in run.json.';

/** `--backend` of the commands that compute (train, landscape, experiment): `auto` or an engine. */
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', ...BACKEND_NAMES];
export const BACKEND_FLAG: FlagSpec = { type: 'string', choices: BACKEND_CHOICES };
/** The flag in usage lines, and what it means. */
export const BACKEND_USAGE = `--backend ${BACKEND_CHOICES.join('|')}`;
export const BACKEND_HELP =
  'Backend: auto takes the compiled WebGPU engine (webgpu) on a hardware adapter (`cellscope adapters`), else TensorFlow\n' +
  'on a CUDA GPU, else wasm; tfjs-webgpu is TensorFlow.js\'s WebGPU backend (reference, fallback). webgpu or tfjs-webgpu\n' +
  'on a software adapter (lavapipe) only when asked for. CELLSCOPE_WEBGPU_ADAPTER=<# or name> picks the adapter.';

/** Where runs live: --runs, else ./runs. */
export function runsDirOf(args: ParsedArgs, cwd: string): string {
  return resolve(cwd, flagString(args, 'runs') ?? 'runs');
}

export function exitCodeOf(status: RunStatus): number {
  switch (status) {
    case 'completed':
      return 0;
    case 'cancelled':
      return 143;
    default:
      return 1;
  }
}

/** The flags of `cellscope train`; `cellscope experiment` passes a subset of them on to every run. */
export const TRAIN_FLAGS: Record<string, FlagSpec> = {
  dataset: { type: 'string', choices: DATASET_NAMES },
  data: { type: 'string' },
  offline: { type: 'boolean' },
  preset: { type: 'string', choices: PRESET_NAMES },
  epochs: { type: 'int', min: 1, max: 100000 },
  batch: { type: 'int', min: 1, max: 65536 },
  lr: { type: 'number', min: 0 },
  'lr-min': { type: 'number', min: 0 },
  momentum: { type: 'number', min: 0, max: 1 },
  'weight-decay': { type: 'number', min: 0 },
  'grad-clip': { type: 'number', min: 0 },
  layers: { type: 'int', min: 3, max: 1000 },
  channels: { type: 'int', min: 1, max: 4096 },
  auxiliary: { type: 'boolean' },
  'auxiliary-weight': { type: 'number', min: 0 },
  augment: { type: 'boolean' },
  cutout: { type: 'boolean' },
  'cutout-length': { type: 'int', min: 1, max: 1024 },
  'drop-path': { type: 'number', min: 0, max: 0.99 },
  seed: { type: 'int', min: 0, max: 4294967295 },
  'train-subset': { type: 'int', min: 1 },
  'test-subset': { type: 'int', min: 1 },
  'grad-variance-batches': { type: 'int', min: 0, max: 10000 },
  // The smoothness probe during training (off by default); the last three only with --hessian-every.
  'hessian-every': { type: 'int', min: 1, max: 100000 },
  'hessian-iterations': { type: 'int', min: 1, max: 1000 },
  'trace-samples': { type: 'int', min: 0, max: 10000 },
  'hessian-batches': { type: 'int', min: 1, max: 10000 },
  backend: BACKEND_FLAG,
  threads: THREADS_FLAG,
  runs: RUNS_FLAG,
};

/** A boolean flag's value when given (`--x`, `--x=true`, `--x=false`), else the preset's. */
function booleanOr(args: ParsedArgs, name: string, fallback: boolean): boolean {
  const v = args.flags.get(name);
  return typeof v === 'boolean' ? v : fallback;
}

/**
 * `config.hessianEpochs` from `--hessian-every N` and the probe's own flags
 * (small defaults: it runs inside training); nothing without --hessian-every.
 * `experiment --hessian-every N` comes here too (every run gets it); there
 * --hessian-iterations and --trace-samples set both this and the end-of-run
 * probe, and alone never switch this on.
 */
function hessianEpochsFromArgs(args: ParsedArgs): { hessianEpochs?: HessianEpochsConfig } {
  const every = flagNumber(args, 'hessian-every');
  if (every === undefined) return {};
  return {
    hessianEpochs: {
      every,
      iterations: flagNumber(args, 'hessian-iterations') ?? HESSIAN_EPOCH_DEFAULTS.iterations,
      traceSamples: flagNumber(args, 'trace-samples') ?? HESSIAN_EPOCH_DEFAULTS.traceSamples,
      batches: flagNumber(args, 'hessian-batches') ?? HESSIAN_EPOCH_DEFAULTS.batches,
    },
  };
}

/** The run's full configuration: the preset for the dataset, overridden by flags. */
export function configFromArgs(args: ParsedArgs, cwd: string): RunConfig {
  const dataset = (flagString(args, 'dataset') ?? 'cifar10') as DatasetName;
  const preset = (flagString(args, 'preset') ?? 'paper') as PresetName;
  const base = presetSettings(preset, dataset);
  const num = (flag: string, fallback: number) => flagNumber(args, flag) ?? fallback;
  const data = flagString(args, 'data');
  const dataProblem = data !== undefined ? dataFolderProblem(resolve(cwd, data)) : undefined;
  if (dataProblem !== undefined) throw new UsageError(`--data ${data}: ${dataProblem}`);
  const config: RunConfig = {
    dataset,
    dataDir: data !== undefined ? resolve(cwd, data) : null,
    download: !flagBoolean(args, 'offline'),
    preset,
    epochs: num('epochs', base.epochs),
    batchSize: num('batch', base.batchSize),
    lr: num('lr', base.lr),
    lrMin: num('lr-min', base.lrMin),
    momentum: num('momentum', base.momentum),
    weightDecay: num('weight-decay', base.weightDecay),
    gradClip: num('grad-clip', base.gradClip),
    layers: num('layers', base.layers),
    channels: num('channels', base.channels),
    auxiliary: booleanOr(args, 'auxiliary', base.auxiliary),
    auxiliaryWeight: num('auxiliary-weight', base.auxiliaryWeight),
    augment: booleanOr(args, 'augment', base.augment),
    cutout: booleanOr(args, 'cutout', base.cutout),
    cutoutLength: num('cutout-length', base.cutoutLength),
    dropPath: num('drop-path', base.dropPath),
    seed: num('seed', 0),
    trainSubset: flagNumber(args, 'train-subset') ?? base.trainSubset,
    testSubset: flagNumber(args, 'test-subset') ?? base.testSubset,
    backend: flagString(args, 'backend') ?? 'auto',
    gradVarianceBatches: num('grad-variance-batches', base.gradVarianceBatches),
    ...hessianEpochsFromArgs(args),
  };
  const shape = DATASET_INFO[dataset];
  // Tiny-ImageNet's stride-2 stem brings 64×64 down to the 32×32 the cells see on CIFAR, so the head fits there too.
  if (config.auxiliary && auxiliaryInputSide(shape.height) !== 8) {
    throw new UsageError(`--auxiliary needs cells that see 32×32 (32×32 images, or 64×64 through the stride-2 stem; the head expects an 8×8 map); ${dataset} has ${shape.height}×${shape.width}`);
  }
  return config;
}

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a genotype\'s evaluation network and record the run',
  usage: [
    'cellscope train GENOTYPE [--dataset synthetic|cifar10|cifar100|tiny-imagenet|fashion-mnist] [--data DIR] [--offline]',
    '  [--preset quick|paper] [--epochs N] [--batch N] [--lr X] [--lr-min X] [--momentum X] [--weight-decay X] [--grad-clip X]',
    '  [--layers N] [--channels C] [--auxiliary] [--auxiliary-weight X] [--augment=false] [--cutout] [--cutout-length N]',
    '  [--drop-path P] [--seed N] [--train-subset N] [--test-subset N] [--grad-variance-batches K]',
    `  [--hessian-every N [--hessian-iterations ${HESSIAN_EPOCH_DEFAULTS.iterations}] [--trace-samples ${HESSIAN_EPOCH_DEFAULTS.traceSamples}] [--hessian-batches ${HESSIAN_EPOCH_DEFAULTS.batches}]]`,
    `  [${BACKEND_USAGE}] [--threads N] [--runs DIR]`,
    SLURM_USAGE,
    '--executor slurm submits the training as one Slurm job on the shared --runs folder and returns its job id.',
    'GENOTYPE: FILE#NAME, a built-in NAME, or a variant spec such as DARTS_V2~connections:3.',
    '--hessian-every N runs the smoothness probe (top Hessian eigenvalue, trace) after every N-th epoch and the last,',
    'into RUN/hessian-epochs.jsonl; it leaves the training itself unchanged. Off by default.',
    BACKEND_HELP,
    THREADS_HELP,
    'Progress: JSON lines on stdout. Exit status: 0 completed, 1 failed, 143 cancelled.',
  ].join('\n'),
  async run(argv, io) {
    const specs = { ...TRAIN_FLAGS, ...SLURM_FLAGS };
    const args = parseArgs(argv, specs);
    if (args.positional.length !== 1) throw new UsageError('train needs exactly one GENOTYPE (FILE#NAME, NAME or NAME~kind:seed)');
    const ref = args.positional[0]!;
    for (const flag of ['hessian-iterations', 'trace-samples', 'hessian-batches']) {
      if (args.flags.has(flag) && !args.flags.has('hessian-every')) throw new UsageError(`--${flag} sets the per-epoch Hessian probe: give --hessian-every N with it`);
    }
    const config = configFromArgs(args, io.cwd);
    const loaded = loadGenotype(ref, io.cwd);
    const slurmOptions = slurmOptionsFromArgs(args, io.cwd);
    if (executorOf(args) === 'slurm') {
      const { requireSbatch, SlurmError } = await import('../../runs/slurm/slurmCommands.js');
      const { currentInvocation, submitTrain } = await import('../../runs/slurm/submit.js');
      try {
        requireSbatch();
        const runsDir = runsDirOf(args, io.cwd);
        const again = withoutFlags(argv, [...Object.keys(SLURM_FLAGS), 'runs'], specs);
        const { jobId, script } = submitTrain(runsDir, loaded.name, again, slurmOptions, currentInvocation());
        io.stdout(`${JSON.stringify({ type: 'submitted', jobId, script })}\n`);
        io.stderr(`submitted job ${jobId} (${script}); 'cellscope runs --runs ${runsDir}' follows it\n`);
        return 0;
      } catch (error) {
        if (!(error instanceof SlurmError)) throw error;
        io.stderr(`cellscope train: ${error.message}\n`);
        return 1;
      }
    }
    // Loaded only now: TensorFlow.js takes a while to load, and the other commands never need it.
    const { startTraining } = await import('../../train/loop.js');
    const threads = flagNumber(args, 'threads');
    const outcome = await startTraining({ ...loaded, ref }, config, runsDirOf(args, io.cwd), { stdout: io.stdout, stderr: io.stderr, ...(threads !== undefined ? { threads } : {}) });
    return exitCodeOf(outcome.status);
  },
};
