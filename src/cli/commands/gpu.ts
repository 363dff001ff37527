/**
 * `cellscope gpu install|status|uninstall|export`: the native TensorFlow
 * engines in the per-user folder ($CELLSCOPE_HOME, default ~/.cellscope).
 * The install logic is src/install/ (shared with the editor); this file
 * parses flags, prints progress on the terminal and words the outcome.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { ENGINE_PACKAGE, ENGINE_VERSION, type EngineFlavour, type InstallProgress } from '../../shared/engineTypes.js';
import { cellscopeHome, engineFolder, enginesDir } from '../../install/enginePaths.js';
import { InstallCancelled, installEngine, RequirementsNotMet, uninstallEngine } from '../../install/installer.js';
import { checkRequirements, formatRequirements, systemProbe } from '../../install/requirements.js';
import { formatGpuStatus, gpuStatus } from '../../install/status.js';
import type { SourceSettings } from '../../install/sources.js';
import { probeAdapters } from '../../train/webgpu/probe.js';
import { flagBoolean, flagString, parseArgs, UsageError } from '../args.js';
import type { CliIO, Command } from '../command.js';

const USAGE = `cellscope gpu install [--cpu] [--from PATH] [--registry URL] [--libtensorflow-mirror URL] [--addon-mirror URL] [--custom-binary FILE] [--check] [--ignore-requirements]
cellscope gpu status [--json]
cellscope gpu uninstall [--cpu]
cellscope gpu export [--cpu] --out FILE.tar.gz`;

const mib = (n: number) => (n / 2 ** 20).toFixed(1);

/** A progress line: rewritten in place on a terminal, one line per tenth otherwise (logs stay short). */
export function progressPrinter(write: (text: string) => void, tty: boolean): { update(p: InstallProgress): void; end(): void } {
  let open = false;
  let lastTenth = -1;
  let lastFile = '';
  return {
    update(p) {
      if (p.received === undefined) {
        if (open) write('\n');
        open = false;
        write(`${p.message}\n`);
        return;
      }
      const total = p.total !== undefined ? `/${mib(p.total)} MiB (${Math.floor((100 * p.received) / p.total)}%)` : ' MiB';
      const line = `${p.file ?? p.phase}: ${mib(p.received)}${total}`;
      if (tty) {
        write(`\r${line}\x1b[K`);
        open = true;
        return;
      }
      const tenth = p.total ? Math.floor((10 * p.received) / p.total) : Math.floor(p.received / (50 * 2 ** 20));
      if (p.file !== lastFile) lastTenth = -1;
      lastFile = p.file ?? '';
      if (tenth !== lastTenth) write(`${line}\n`);
      lastTenth = tenth;
    },
    end() {
      if (open) write('\n');
      open = false;
    },
  };
}

function flavourOf(args: { flags: Map<string, unknown> }): EngineFlavour {
  return args.flags.get('cpu') === true ? 'cpu' : 'gpu';
}

async function install(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, {
    cpu: { type: 'boolean' },
    from: { type: 'string' },
    registry: { type: 'string' },
    'libtensorflow-mirror': { type: 'string' },
    'addon-mirror': { type: 'string' },
    'custom-binary': { type: 'string' },
    check: { type: 'boolean' },
    'ignore-requirements': { type: 'boolean' },
  });
  if (args.positional.length > 0) throw new UsageError(`gpu install takes no arguments, not '${args.positional[0]}'`);
  const flavour = flavourOf(args);
  const pkg = ENGINE_PACKAGE[flavour];
  if (flagBoolean(args, 'check')) {
    const report = await checkRequirements(flavour, systemProbe());
    io.stdout(`${pkg}@${ENGINE_VERSION}:\n  ${formatRequirements(report).join('\n  ')}\n`);
    return report.ok ? 0 : 1;
  }
  const from = flagString(args, 'from');
  const custom = flagString(args, 'custom-binary');
  const sources: SourceSettings = {
    ...(from !== undefined ? { from: resolve(io.cwd, from) } : {}),
    ...(custom !== undefined ? { customBinary: resolve(io.cwd, custom) } : {}),
    ...(flagString(args, 'registry') !== undefined ? { registry: flagString(args, 'registry')! } : {}),
    ...(flagString(args, 'libtensorflow-mirror') !== undefined ? { libtensorflowMirror: flagString(args, 'libtensorflow-mirror')! } : {}),
    ...(flagString(args, 'addon-mirror') !== undefined ? { addonMirror: flagString(args, 'addon-mirror')! } : {}),
  };
  const home = cellscopeHome();
  const progress = progressPrinter(io.stderr, process.stderr.isTTY === true);
  const controller = new AbortController();
  const onSignal = () => controller.abort();
  process.once('SIGINT', onSignal);
  try {
    const done = await installEngine({
      flavour,
      home,
      sources,
      signal: controller.signal,
      ignoreRequirements: flagBoolean(args, 'ignore-requirements'),
      onProgress: (p) => progress.update(p),
      onLog: (line) => {
        progress.end();
        io.stderr(`  ${line}\n`);
      },
    });
    progress.end();
    io.stdout(`${pkg}@${done.manifest.version} (libtensorflow ${done.manifest.libtensorflow}) installed at ${done.root}\n`);
    io.stdout('`cellscope train … --backend tensorflow` (or auto) now uses it; `cellscope gpu status` shows what it will run on.\n');
    return 0;
  } catch (err) {
    progress.end();
    if (err instanceof RequirementsNotMet) {
      io.stderr(`${err.message}\nNothing was downloaded. --ignore-requirements installs anyway (e.g. to export it for another machine).\n`);
      return 1;
    }
    if (err instanceof InstallCancelled) {
      io.stderr(`${err.message}\n`);
      return 130;
    }
    io.stderr(`cannot install ${pkg}: ${(err as Error).message}\nAn earlier install, if any, is unchanged.\n`);
    return 1;
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
}

async function status(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { json: { type: 'boolean' } });
  if (args.positional.length > 0) throw new UsageError('gpu status takes no arguments');
  const report = await gpuStatus({ webgpu: await probeAdapters() });
  if (flagBoolean(args, 'json')) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
  else io.stdout(`${formatGpuStatus(report).join('\n')}\n`);
  return 0;
}

async function uninstall(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { cpu: { type: 'boolean' } });
  if (args.positional.length > 0) throw new UsageError('gpu uninstall takes no arguments');
  const flavour = flavourOf(args);
  const home = cellscopeHome();
  if (await uninstallEngine(home, flavour)) io.stdout(`removed ${ENGINE_PACKAGE[flavour]} from ${engineFolder(enginesDir(home), flavour)}\n`);
  else io.stdout(`${ENGINE_PACKAGE[flavour]} is not installed in ${enginesDir(home)}\n`);
  return 0;
}

/** An archive of the install, for `gpu install --from` on a machine without internet. */
async function exportInstall(argv: readonly string[], io: CliIO): Promise<number> {
  const args = parseArgs(argv, { cpu: { type: 'boolean' }, out: { type: 'string' } });
  const out = flagString(args, 'out');
  if (out === undefined || !/\.(tar\.gz|tgz)$/.test(out)) throw new UsageError('gpu export needs --out FILE.tar.gz');
  const flavour = flavourOf(args);
  const folder = engineFolder(enginesDir(cellscopeHome()), flavour);
  if (!existsSync(folder)) {
    io.stderr(`${ENGINE_PACKAGE[flavour]} is not installed in ${enginesDir(cellscopeHome())}: run cellscope gpu install${flavour === 'cpu' ? ' --cpu' : ''} first\n`);
    return 1;
  }
  const dest = resolve(io.cwd, out);
  await new Promise<void>((ok, fail) =>
    execFile('tar', ['-czf', dest, '-C', enginesDir(cellscopeHome()), flavour === 'gpu' ? 'tfjs-node-gpu' : 'tfjs-node'], (e, _o, stderr) => (e ? fail(new Error(stderr || e.message)) : ok())),
  );
  io.stdout(`wrote ${dest}; on the other machine: cellscope gpu install${flavour === 'cpu' ? ' --cpu' : ''} --from ${dest}\n`);
  return 0;
}

export const gpuCommand: Command = {
  name: 'gpu',
  summary: 'install, check and remove the native TensorFlow engines (CUDA: @tensorflow/tfjs-node-gpu) in ~/.cellscope',
  usage: USAGE,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'install':
        return install(rest, io);
      case 'status':
        return status(rest, io);
      case 'uninstall':
        return uninstall(rest, io);
      case 'export':
        return exportInstall(rest, io);
      default:
        throw new UsageError(sub === undefined ? 'gpu needs a subcommand: install, status, uninstall or export' : `unknown gpu subcommand '${sub}' (install, status, uninstall, export)`);
    }
  },
};
