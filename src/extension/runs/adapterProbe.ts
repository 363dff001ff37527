/**
 * The WebGPU adapters of this machine, for the backend pick: the bundled CLI's
 * `cellscope adapters --json` run in a child process (Dawn is a native module
 * that the extension host must not load, like TensorFlow), parsed with the
 * shared reader, and cached for the window's life — the GPUs do not change
 * while VS Code runs, and the probe takes a second or two. A failed probe
 * reads as "no adapters" with the reason in `problems`, and is not cached, so
 * the next pick tries again.
 */
import { execFile } from 'node:child_process';
import { ADAPTERS_SCHEMA, parseAdaptersReport, type AdaptersReport } from '../../shared/adapters.js';
import { trainerEnv, type LaunchConfig } from './launcher.js';

const PROBE_TIMEOUT_MS = 30_000;

export type ProbeConfig = Pick<LaunchConfig, 'node' | 'electron' | 'cli' | 'cwd'>;

/** Runs the CLI's probe once; rejects with what went wrong (no Node, a crash, output that is not the report). */
export function probeAdaptersInChild(config: ProbeConfig, timeoutMs = PROBE_TIMEOUT_MS): Promise<AdaptersReport> {
  return new Promise((resolve, reject) => {
    execFile(
      config.node,
      [config.cli, 'adapters', '--json'],
      { cwd: config.cwd, env: trainerEnv(process.env, { device: 'cpu' }, config.electron), timeout: timeoutMs, windowsHide: true, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          const detail = stderr.trim().split('\n').pop();
          reject(new Error(`${error.message.split('\n')[0]}${detail ? `: ${detail}` : ''}`));
          return;
        }
        try {
          resolve(parseAdaptersReport(stdout));
        } catch (parseError) {
          reject(parseError as Error);
        }
      },
    );
  });
}

/** One successful probe per window; a failure answers "no adapters, because…" and the next call probes again. */
export class AdapterCache {
  private pending: Promise<AdaptersReport> | undefined;

  constructor(private readonly probe: () => Promise<AdaptersReport>) {}

  get(): Promise<AdaptersReport> {
    this.pending ??= this.probe().catch((error: unknown) => {
      this.pending = undefined;
      return {
        schema: ADAPTERS_SCHEMA,
        dawn: false,
        adapters: [],
        problems: [`the adapter probe failed: ${error instanceof Error ? error.message : String(error)}`],
        platform: `${process.platform}-${process.arch}`,
      };
    });
    return this.pending;
  }
}
