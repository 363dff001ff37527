/**
 * Cellscope: Install GPU Support (CUDA), Uninstall GPU Support and Show
 * Engine Status. The install runs in the extension host through src/install/
 * (TensorFlow-free: npm in a child process, downloads, tar) into the
 * extension's global storage — never its own install folder, which an update
 * replaces and which may be read-only — and the trainers this window starts
 * find it there through CELLSCOPE_ENGINES.
 */
import { delimiter } from 'node:path';
import * as vscode from 'vscode';
import { ENGINE_PACKAGE, type EngineFlavour, type GpuStatusReport } from '../../shared/engineTypes.js';
import { enginesDir, engineDirs, findInstalled } from '../../install/enginePaths.js';
import { InstallCancelled, installEngine, RequirementsNotMet, uninstallEngine } from '../../install/installer.js';
import { findNpm } from '../../install/npm.js';
import { checkRequirements, formatRequirements, systemProbe, WEBGPU_ADVICE } from '../../install/requirements.js';
import type { SourceSettings } from '../../install/sources.js';
import type { RunsService } from '../runs/runsService.js';
import { engineStatusInChild } from './engineStatus.js';
import { progressSteps } from './progress.js';

/** Settings that change where the parts come from (for mirrors and air-gapped machines). */
function sourceSettings(): SourceSettings {
  const c = vscode.workspace.getConfiguration('cellscope.gpu');
  const get = (key: string) => c.get<string>(key, '').trim();
  const entries: Array<[keyof SourceSettings, string]> = [
    ['registry', get('registry')],
    ['libtensorflowMirror', get('libtensorflowMirror')],
    ['addonMirror', get('addonMirror')],
    ['customBinary', get('customBinary')],
    ['from', get('installFrom')],
  ];
  return Object.fromEntries(entries.filter(([, v]) => v !== '')) as SourceSettings;
}

/** The per-user folder of this extension (its global storage). */
function homeOf(context: vscode.ExtensionContext): string {
  return context.globalStorageUri.fsPath;
}

/** Whether the CUDA engine is installed where this window's trainers look (the editor's folder or the CLI's). */
export function cudaEngineInstalled(): boolean {
  return findInstalled('gpu', engineDirs(process.env)) !== undefined;
}

async function askFlavour(): Promise<EngineFlavour | undefined> {
  const linux = process.platform === 'linux' && process.arch === 'x64';
  type Item = vscode.QuickPickItem & { flavour: EngineFlavour };
  const items: Item[] = [
    { label: 'CUDA (NVIDIA GPU)', description: ENGINE_PACKAGE.gpu, detail: linux ? 'libtensorflow 2.9 with CUDA 11 / cuDNN 8, about 400 MB' : 'published for Linux x64 only: the WebGPU engine is the GPU route here', flavour: 'gpu' },
    { label: 'Native CPU', description: ENGINE_PACKAGE.cpu, detail: 'TensorFlow on the CPU, faster than WebAssembly', flavour: 'cpu' },
  ];
  return (await vscode.window.showQuickPick(items, { title: 'Cellscope: Install GPU Support', placeHolder: 'Which TensorFlow engine to install' }))?.flavour;
}

async function install(context: vscode.ExtensionContext, output: vscode.LogOutputChannel, service: RunsService, flavour?: EngineFlavour): Promise<void> {
  flavour ??= await askFlavour();
  if (flavour === undefined) return;
  const pkg = ENGINE_PACKAGE[flavour];
  let ignoreRequirements = false;
  // Said before anything is downloaded.
  const requirements = await checkRequirements(flavour, systemProbe());
  if (!requirements.ok) {
    const lines = formatRequirements(requirements);
    for (const l of lines) output.warn(`${pkg}: ${l}`);
    const platformOk = requirements.checks[0]?.ok === true;
    const offerWebGpu = requirements.advice?.includes(WEBGPU_ADVICE) === true;
    const buttons = [...(platformOk ? ['Install Anyway'] : []), ...(offerWebGpu ? ['Train on WebGPU…'] : [])];
    const answer = await vscode.window.showWarningMessage(`${pkg} cannot use a GPU here`, { modal: true, detail: lines.join('\n') }, ...buttons);
    if (answer === 'Train on WebGPU…') {
      await vscode.commands.executeCommand('cellscope.train');
      return;
    }
    if (answer !== 'Install Anyway') return;
    ignoreRequirements = true;
  }
  const home = homeOf(context);
  const node = vscode.workspace.getConfiguration('cellscope').get<string>('trainer.node', '').trim();
  const started = Date.now();
  try {
    const done = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Installing ${pkg}`, cancellable: true },
      (progress, token) => {
        const controller = new AbortController();
        token.onCancellationRequested(() => controller.abort());
        const step = progressSteps();
        return installEngine({
          flavour,
          home,
          sources: sourceSettings(),
          signal: controller.signal,
          ignoreRequirements,
          npm: findNpm(node || process.execPath),
          onProgress: (p) => progress.report(step(p)),
          onLog: (line) => output.info(`install ${pkg}: ${line}`),
        });
      },
    );
    output.info(`${pkg}@${done.manifest.version} installed at ${done.root} in ${Math.round((Date.now() - started) / 1000)} s`);
    const answer = await vscode.window.showInformationMessage(`Cellscope: ${pkg} is installed; the backend pick offers it for new runs.`, 'Show Engine Status');
    if (answer) await showStatus(output, service);
  } catch (err) {
    if (err instanceof InstallCancelled) {
      void vscode.window.showInformationMessage(`Cellscope: ${err.message}`);
      return;
    }
    const message = err instanceof RequirementsNotMet ? err.message : `cannot install ${pkg}: ${(err as Error).message}. An earlier install, if any, is unchanged.`;
    output.error(message);
    const answer = await vscode.window.showErrorMessage(`Cellscope: ${message.split('\n')[0]}`, 'Show Log', 'Retry');
    if (answer === 'Show Log') output.show(true);
    if (answer === 'Retry') await install(context, output, service, flavour);
  }
}

async function uninstall(context: vscode.ExtensionContext): Promise<void> {
  const dir = enginesDir(homeOf(context));
  const installed = (['gpu', 'cpu'] as const).filter((f) => findInstalled(f, [dir]) !== undefined);
  if (installed.length === 0) {
    void vscode.window.showInformationMessage('Cellscope: no TensorFlow engine is installed in the editor\'s folder.');
    return;
  }
  const picked = await vscode.window.showQuickPick(
    installed.map((f) => ({ label: ENGINE_PACKAGE[f], description: findInstalled(f, [dir])!.root, flavour: f })),
    { title: 'Cellscope: Uninstall GPU Support', placeHolder: 'Remove which engine' },
  );
  if (!picked) return;
  await uninstallEngine(homeOf(context), picked.flavour);
  void vscode.window.showInformationMessage(`Cellscope: removed ${picked.label}; running trainers keep theirs until they end.`);
}

/** The report as quick-pick rows: one per engine, its devices or why it is unusable. */
function statusItems(report: GpuStatusReport): vscode.QuickPickItem[] {
  return report.engines.map((e) => ({
    label: `${e.usable ? '$(check)' : '$(circle-slash)'} ${e.engine}`,
    description: `${e.package}${e.version ? `@${e.version}` : ''}${e.devices.length ? ` — ${e.devices.join('; ')}` : ''}`,
    ...(e.reasons.length > 0 ? { detail: e.reasons.join(' · ') } : {}),
  }));
}

async function showStatus(output: vscode.LogOutputChannel, service: RunsService): Promise<void> {
  const report = vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Cellscope: checking engines' }, () => engineStatusInChild(service.probeConfig()));
  try {
    const r = await report;
    for (const e of r.engines) output.info(`engine ${e.engine}: ${e.usable ? 'usable' : 'not usable'}${e.location ? ` at ${e.location}` : ''}; ${[...e.devices, ...e.reasons].join('; ')}`);
    const install: vscode.QuickPickItem = { label: '$(cloud-download) Install GPU Support (CUDA)…' };
    const picked = await vscode.window.showQuickPick([...statusItems(r), install], { title: 'Cellscope: engines on this machine', matchOnDetail: true });
    if (picked === install) await vscode.commands.executeCommand('cellscope.installGpuSupport');
  } catch (err) {
    void vscode.window.showErrorMessage(`Cellscope: cannot check the engines: ${(err as Error).message}`);
  }
}

/**
 * Puts the editor's engines folder first in CELLSCOPE_ENGINES, before any
 * trainer starts: every trainer, probe and status child of this window
 * inherits it (then the CLI's ~/.cellscope is searched).
 */
export function exposeEngineFolder(context: vscode.ExtensionContext): void {
  const mine = enginesDir(homeOf(context));
  const listed = (process.env.CELLSCOPE_ENGINES ?? '').split(delimiter).filter(Boolean);
  if (!listed.includes(mine)) process.env.CELLSCOPE_ENGINES = [mine, ...listed].join(delimiter);
}

export function registerGpuSupport(context: vscode.ExtensionContext, output: vscode.LogOutputChannel, service: RunsService): vscode.Disposable {
  return vscode.Disposable.from(
    vscode.commands.registerCommand('cellscope.installGpuSupport', (flavour?: unknown) => install(context, output, service, flavour === 'gpu' || flavour === 'cpu' ? flavour : undefined)),
    vscode.commands.registerCommand('cellscope.uninstallGpuSupport', () => uninstall(context)),
    vscode.commands.registerCommand('cellscope.showEngineStatus', () => showStatus(output, service)),
  );
}
