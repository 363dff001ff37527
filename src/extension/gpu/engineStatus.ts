/**
 * The engines the trainer can use here, as the trainer's CLI says them
 * (`cellscope gpu status --json` in a child process: it knows the
 * node_modules beside a configured CLI and probes Dawn, neither of which the
 * extension host may load).
 */
import { execFile } from 'node:child_process';
import { parseGpuStatus, type GpuStatusReport } from '../../shared/engineTypes.js';
import type { ProbeConfig } from '../runs/adapterProbe.js';
import { trainerEnv } from '../runs/launcher.js';

export function engineStatusInChild(config: ProbeConfig, timeoutMs = 60_000): Promise<GpuStatusReport> {
  return new Promise((resolve, reject) => {
    execFile(
      config.node,
      [config.cli, 'gpu', 'status', '--json'],
      { cwd: config.cwd, env: trainerEnv(process.env, { device: 'cpu' }, config.electron), timeout: timeoutMs, windowsHide: true, maxBuffer: 4 << 20 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`${error.message.split('\n')[0]}${stderr.trim() ? `: ${stderr.trim().split('\n').pop()}` : ''}`));
          return;
        }
        try {
          resolve(parseGpuStatus(stdout));
        } catch (parseError) {
          reject(parseError as Error);
        }
      },
    );
  });
}
