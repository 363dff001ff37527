/**
 * Starts a trainer: the `cellscope` CLI bundled with the extension
 * (dist/cli.js) as its own detached process, so that it outlives a window
 * reload and the extension host never loads TensorFlow. Inside VS Code the
 * host's executable is Electron, which `ELECTRON_RUN_AS_NODE=1` turns into
 * plain Node; `cellscope.trainer.node` names another Node instead.
 *
 * stdout and stderr go to a file (runs/.launch/<entry>.log), not a pipe: a
 * pipe would break when the window that read it goes away. The progress lines
 * in that file name the run; the run folder itself is what the editor watches.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { processStartOf } from '../../runs/runStore.js';
import type { DeviceSlot, Launched, QueueEntry, QueueRequest } from './queue.js';

export const LAUNCH_DIR = '.launch';

export interface LaunchConfig {
  /** The Node (or Electron) executable. */
  readonly node: string;
  /** Whether `node` is Electron and needs ELECTRON_RUN_AS_NODE. */
  readonly electron: boolean;
  /** dist/cli.js. */
  readonly cli: string;
  readonly runsDir: string;
  /** Working directory: the workspace folder (relative genotype paths resolve from it). */
  readonly cwd: string;
}

/** The CUDA device index a slot names, if any. */
export function cudaIndex(slot: DeviceSlot): number | undefined {
  const m = /^gpu:(\d+)$/.exec(slot);
  return m ? Number(m[1]) : undefined;
}

/** The CLI arguments of an entry (after the CLI path). */
export function trainerArgs(entry: QueueEntry, runsDir: string): string[] {
  const r = entry.request;
  if (r.kind === 'resume') return ['resume', r.runId, '--runs', runsDir];
  return ['train', r.ref, ...r.args, '--runs', runsDir];
}

/**
 * The trainer's environment: the host's, plus Electron-as-Node and, for a GPU
 * slot, that device alone made visible (TensorFlow then numbers it 0), and
 * the WebGPU adapter the request names (CELLSCOPE_WEBGPU_ADAPTER).
 */
export function trainerEnv(base: NodeJS.ProcessEnv, request: Pick<QueueRequest, 'device' | 'adapter'>, electron: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  if (electron) env['ELECTRON_RUN_AS_NODE'] = '1';
  else delete env['ELECTRON_RUN_AS_NODE'];
  const gpu = cudaIndex(request.device);
  if (gpu !== undefined) env['CUDA_VISIBLE_DEVICES'] = String(gpu);
  if (request.adapter !== undefined) env['CELLSCOPE_WEBGPU_ADAPTER'] = String(request.adapter);
  else delete env['CELLSCOPE_WEBGPU_ADAPTER'];
  return env;
}

export function launchLogPath(runsDir: string, entryId: string): string {
  return join(runsDir, LAUNCH_DIR, `${entryId}.log`);
}

/** Spawns the trainer for `entry`, detached; throws when it cannot be started. */
export function launchTrainer(entry: QueueEntry, config: LaunchConfig): Launched {
  const logFile = launchLogPath(config.runsDir, entry.id);
  mkdirSync(join(config.runsDir, LAUNCH_DIR), { recursive: true });
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(config.node, [config.cli, ...trainerArgs(entry, config.runsDir)], {
      cwd: config.cwd,
      detached: true,
      stdio: ['ignore', fd, fd],
      env: trainerEnv(process.env, entry.request, config.electron),
      windowsHide: true,
    });
    // A missing executable is reported asynchronously; the pid tells at once whether it started.
    child.on('error', () => undefined);
    if (child.pid === undefined) throw new Error(`could not start ${config.node}`);
    child.unref();
    const start = processStartOf(child.pid);
    return { pid: child.pid, logFile, ...(start !== undefined ? { processStart: start } : {}) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether a launched trainer still runs: its pid exists and, where the OS
 * tells start times, it is the same process.
 */
export function launchedAlive(launch: Launched): boolean {
  try {
    process.kill(launch.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (launch.processStart === undefined) return true;
  const now = processStartOf(launch.pid);
  return now === undefined || now === launch.processStart;
}
