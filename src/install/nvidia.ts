/**
 * The NVIDIA driver as `nvidia-smi` reports it: the CUDA devices, for the
 * trainer's choice, the installer's requirements and `cellscope gpu status`.
 */
import { execFile } from 'node:child_process';
import type { CudaDevice } from '../shared/backendTypes.js';

/** Parses nvidia-smi's `--query-gpu=index,name,memory.total --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(output: string): CudaDevice[] {
  const devices: CudaDevice[] = [];
  for (const line of output.split('\n')) {
    const fields = line.split(',').map((f) => f.trim());
    if (fields.length < 2 || !/^\d+$/.test(fields[0]!)) continue;
    const memory = Number(fields[2]);
    devices.push({
      index: Number(fields[0]),
      name: fields[1]!,
      ...(fields[2] !== undefined && Number.isFinite(memory) && fields[2] !== '' ? { memoryMiB: memory } : {}),
    });
  }
  return devices;
}

export interface NvidiaReport {
  readonly devices: CudaDevice[];
  /** Why there are none: no nvidia-smi, or its error. */
  readonly problem?: string;
}

/** Runs `command` (default nvidia-smi); never rejects. */
export function queryNvidia(command = 'nvidia-smi', env: NodeJS.ProcessEnv = process.env): Promise<NvidiaReport> {
  return new Promise((resolve) => {
    execFile(command, ['--query-gpu=index,name,memory.total', '--format=csv,noheader,nounits'], { timeout: 10_000, env }, (error, stdout, stderr) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        resolve({
          devices: [],
          problem: code === 'ENOENT' ? `${command} not found: no NVIDIA driver installed` : `${command} failed: ${(stderr || error.message).trim().split('\n')[0]}`,
        });
        return;
      }
      const devices = parseNvidiaSmi(stdout);
      resolve(devices.length > 0 ? { devices } : { devices, problem: `${command} lists no GPU` });
    });
  });
}
