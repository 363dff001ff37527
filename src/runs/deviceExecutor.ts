/**
 * `--executor local --devices 0,1,…`: an experiment's entries spread over
 * the GPUs of one machine. One worker per device, each a `cellscope
 * experiment task DIR --entry K` process with that device alone visible
 * (CUDA_VISIBLE_DEVICES, or CELLSCOPE_WEBGPU_ADAPTER for WebGPU) and
 * CELLSCOPE_DEVICE naming it (the run records it); a queue hands the next
 * entry to whichever device frees first. The runs are the same files a
 * sequential run writes; a stop (SIGTERM/SIGINT) is passed to every worker,
 * which checkpoints, so the same command continues.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import type { Invocation } from './slurm/submit.js';

export type DeviceKind = 'cuda' | 'webgpu';

export interface Device {
  readonly kind: DeviceKind;
  readonly index: number;
}

export class DeviceError extends Error {}

/** `gpu:1` / `webgpu:1`, as the editor's queue names slots and run.json records them. */
export function deviceSlot(d: Device): string {
  return `${d.kind === 'cuda' ? 'gpu' : 'webgpu'}:${d.index}`;
}

/** The CUDA devices `nvidia-smi -L` lists (0 where there is no nvidia-smi). */
export function cudaDeviceCount(): number {
  const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) return 0;
  return r.stdout.split('\n').filter((l) => /^GPU \d+/.test(l)).length;
}

/** `all` or `0,1,…` → devices; `all` counts them with `count` (CUDA: nvidia-smi). */
export function parseDevices(spec: string, kind: DeviceKind, count: () => number): Device[] {
  if (spec === 'all') {
    const n = count();
    if (n === 0) throw new DeviceError(`--devices all: no ${kind === 'cuda' ? 'CUDA GPU (nvidia-smi lists none)' : 'WebGPU adapter'} found here; name them, e.g. --devices 0,1`);
    return Array.from({ length: n }, (_, index) => ({ kind, index }));
  }
  const parts = spec.split(',').map((s) => s.trim());
  const out: Device[] = [];
  for (const p of parts) {
    if (!/^\d+$/.test(p)) throw new DeviceError(`--devices takes all or device numbers such as 0,1 (not '${p}')`);
    if (out.some((d) => d.index === Number(p))) throw new DeviceError(`--devices names device ${p} twice`);
    out.push({ kind, index: Number(p) });
  }
  return out;
}

/** The worker's environment: the device alone visible, and named. */
export function deviceEnv(base: NodeJS.ProcessEnv, d: Device): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, CELLSCOPE_DEVICE: deviceSlot(d) };
  if (d.kind === 'cuda') env['CUDA_VISIBLE_DEVICES'] = String(d.index);
  else env['CELLSCOPE_WEBGPU_ADAPTER'] = String(d.index);
  return env;
}

export interface DeviceRunOutcome {
  readonly status: 'completed' | 'cancelled';
  /** Entry indices whose worker ended otherwise than completed. */
  readonly failed: readonly number[];
}

export interface DeviceRunEnvironment {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Polled: once set, every worker gets SIGTERM and no new entry starts. */
  readonly cancel: { requested: boolean };
}

function lineBuffer(write: (text: string) => void): { push(text: string): void; flush(): void } {
  let pending = '';
  return {
    push(text) {
      pending += text;
      const end = pending.lastIndexOf('\n') + 1;
      if (end > 0) {
        write(pending.slice(0, end));
        pending = pending.slice(end);
      }
    },
    flush() {
      if (pending !== '') write(`${pending}\n`);
      pending = '';
    },
  };
}

/** Trains `entries` of the experiment in `dir` over `devices`, one worker process per device at a time. */
export function runOnDevices(dir: string, entries: readonly number[], devices: readonly Device[], how: Invocation, env: DeviceRunEnvironment): Promise<DeviceRunOutcome> {
  return new Promise((resolve) => {
    const waiting = [...entries];
    const running = new Map<ChildProcess, number>();
    const failed: number[] = [];
    let stopping = false;
    const poll = setInterval(() => {
      if (env.cancel.requested && !stopping) {
        stopping = true;
        for (const child of running.keys()) child.kill('SIGTERM');
        if (running.size === 0) finish();
      }
    }, 100);
    const finish = () => {
      clearInterval(poll);
      resolve({ status: stopping ? 'cancelled' : 'completed', failed });
    };
    const startOn = (device: Device) => {
      const k = waiting.shift();
      if (k === undefined || stopping) {
        if (running.size === 0) finish();
        return;
      }
      env.stderr(`entry ${k} on ${deviceSlot(device)}\n`);
      const child = spawn(how.node, [how.cli, 'experiment', 'task', dir, '--entry', String(k)], { env: deviceEnv(process.env, device), stdio: ['ignore', 'pipe', 'pipe'] });
      running.set(child, k);
      // Whole lines only: two workers' progress lines must not interleave mid-line.
      const out = lineBuffer(env.stdout);
      const err = lineBuffer(env.stderr);
      child.stdout!.on('data', (chunk: Buffer) => out.push(chunk.toString()));
      child.stderr!.on('data', (chunk: Buffer) => err.push(chunk.toString()));
      child.on('close', () => {
        out.flush();
        err.flush();
      });
      child.on('error', (error) => env.stderr(`entry ${k} on ${deviceSlot(device)}: ${error.message}\n`));
      child.on('close', (code) => {
        running.delete(child);
        if (code !== 0 && !(stopping && code === 143)) failed.push(k);
        startOn(device);
      });
    };
    if (entries.length === 0) return finish();
    for (const d of devices) startOn(d);
  });
}
