/**
 * Which engines this machine can train on, and why each other one cannot:
 * `cellscope gpu status` and the editor's status item read this. Static
 * checks only (files, driver, libraries), so it is quick and TensorFlow-free;
 * the trainer's own load is the final word and is recorded in each run.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { adapterLabel, type AdaptersReport } from '../shared/adapters.js';
import { GPU_STATUS_SCHEMA, type EngineFlavour, type EngineStatus, type GpuStatusReport } from '../shared/engineTypes.js';
import { engineDirs } from './enginePaths.js';
import { checkRequirements, describeDevices, summariseFailures, systemProbe, type SystemProbe } from './requirements.js';
import { engineCandidates } from './resolveEngine.js';
import { addonNapiVersion } from './sources.js';

export interface StatusOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly probe?: SystemProbe;
  /** The WebGPU adapters (the CLI probes Dawn; the editor asks the CLI). Absent: not reported. */
  readonly webgpu?: AdaptersReport;
  /** Where node_modules resolution starts (default: this script). */
  readonly from?: string;
}

async function tensorflowStatus(flavour: EngineFlavour, probe: SystemProbe, env: NodeJS.ProcessEnv, from?: string): Promise<{ status: EngineStatus; devices: GpuStatusReport['cuda'] }> {
  const engine = flavour === 'gpu' ? 'tensorflow-gpu' : 'tensorflow-cpu';
  const pkg = flavour === 'gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  const requirements = await checkRequirements(flavour, probe);
  const candidate = engineCandidates(flavour, env, from)[0];
  const reasons: string[] = [];
  if (candidate === undefined) reasons.push(`not installed: cellscope gpu install${flavour === 'cpu' ? ' --cpu' : ''} (editor: Cellscope: Install GPU Support (CUDA))`);
  else {
    const napi = addonNapiVersion();
    const lib = probe.platform === 'darwin' ? 'libtensorflow.2.dylib' : 'libtensorflow.so.2';
    for (const f of [join(candidate.location, 'deps', 'lib', lib), join(candidate.location, 'lib', `napi-v${napi}`, 'tfjs_binding.node')]) {
      if (!existsSync(f)) reasons.push(`${f} is missing (its install script did not run or failed: reinstall with cellscope gpu install${flavour === 'cpu' ? ' --cpu' : ''})`);
    }
  }
  reasons.push(...summariseFailures(requirements.checks));
  // tfjs-node-gpu without a usable CUDA device still computes, on the CPU.
  const platformOk = requirements.checks[0]?.ok === true;
  const filesOk = candidate !== undefined && reasons.every((r) => !r.includes(' is missing ('));
  const usable = filesOk && platformOk;
  const onGpu = flavour === 'gpu' && requirements.ok;
  const devices = !usable ? [] : onGpu ? requirements.devices.map((d) => `CUDA ${describeDevices([d])}`) : ['CPU'];
  if (usable && flavour === 'gpu' && !onGpu) reasons.push('so it runs on the CPU only');
  return {
    status: {
      engine,
      package: pkg,
      installed: candidate !== undefined,
      ...(candidate !== undefined ? { version: candidate.version, location: candidate.location } : {}),
      usable,
      devices,
      reasons,
    },
    devices: requirements.devices,
  };
}

function webgpuStatus(report: AdaptersReport): EngineStatus {
  const hardware = report.adapters.filter((a) => a.kind === 'hardware');
  const software = report.adapters.filter((a) => a.kind === 'software');
  const reasons = [...report.problems];
  if (report.adapters.length === 0) reasons.unshift('no WebGPU adapter found');
  else if (hardware.length === 0) reasons.push('only software adapters: used only with --backend webgpu, slower than wasm');
  return {
    engine: 'webgpu',
    package: '@tensorflow/tfjs-backend-webgpu',
    installed: report.dawn,
    usable: report.adapters.length > 0,
    devices: [...hardware, ...software].map((a) => `${a.index}: ${adapterLabel(a)} (${a.kind})`),
    reasons,
  };
}

export async function gpuStatus(options: StatusOptions = {}): Promise<GpuStatusReport> {
  const env = options.env ?? process.env;
  const probe = options.probe ?? systemProbe({ env });
  const gpu = await tensorflowStatus('gpu', probe, env, options.from);
  const cpu = await tensorflowStatus('cpu', probe, env, options.from);
  const bundled = (engine: 'wasm' | 'cpu'): EngineStatus => ({
    engine,
    package: engine === 'wasm' ? '@tensorflow/tfjs-backend-wasm' : '@tensorflow/tfjs-backend-cpu',
    installed: true,
    usable: true,
    devices: ['CPU'],
    reasons: [],
  });
  return {
    schema: GPU_STATUS_SCHEMA,
    engineDirs: engineDirs(env),
    cuda: gpu.devices,
    engines: [gpu.status, cpu.status, ...(options.webgpu ? [webgpuStatus(options.webgpu)] : []), bundled('wasm'), bundled('cpu')],
  };
}

/** The report as terminal lines. */
export function formatGpuStatus(report: GpuStatusReport): string[] {
  const lines: string[] = [];
  for (const e of report.engines) {
    const head = `${e.usable ? 'usable    ' : 'not usable'}  ${e.engine.padEnd(14)} ${e.package}${e.version ? `@${e.version}` : ''}`;
    lines.push(head);
    if (e.location) lines.push(`              at ${e.location}`);
    if (e.devices.length > 0) lines.push(`              on ${e.devices.join('; ')}`);
    for (const r of e.reasons) lines.push(`              - ${r}`);
  }
  lines.push(`engines folders searched: ${report.engineDirs.join(', ')}`);
  return lines;
}
