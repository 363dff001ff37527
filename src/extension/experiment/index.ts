/**
 * `Cellscope: Run Wide-vs-Narrow Experiment`: asks for an architecture (a
 * built-in, or a genotype of the open file), what to compare (the paper's
 * wide-vs-narrow study, or its Section 5 generalisation protocol), the number
 * of variants and a size, then runs `cellscope experiment` — the bundled CLI in its own Node
 * process, so the editor never loads TensorFlow — with progress in a
 * cancellable notification, and opens the report panel when it is done.
 * Cancelling stops the experiment resumably; running the command again on
 * the same architecture and size continues it.
 *
 * `Cellscope: Open Experiment Report` shows the report of an experiment
 * folder of the workspace (experiments/<name>).
 *
 * Both commands also take their answers as an argument (scripts, tests):
 * `{ arch, protocol, variants, size, dir }`.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as vscode from 'vscode';
import { analyze } from '../../genotype/document.js';
import { LIBRARY } from '../../genotype/library.js';
import { EXPERIMENT_FILE, type ExperimentProgressLine } from '../../shared/experimentTypes.js';
import { parseProgressLine, progressActivity } from '../../shared/runTypes.js';
import { experimentArgs, PROTOCOLS, SIZES, type ExperimentProtocolChoice, type ExperimentSize } from './choices.js';
import { showReportPanel } from './reportPanel.js';

export interface ExperimentCommandArgs {
  readonly arch?: string;
  /** Default when the other answers are given: wide-vs-narrow, as before the choice existed. */
  readonly protocol?: ExperimentProtocolChoice;
  readonly variants?: number;
  readonly size?: ExperimentSize;
  /** Experiment folder, relative to the workspace folder or absolute. */
  readonly dir?: string;
}

function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** Architectures offered: the open genotype file's (as FILE#NAME), then the built-ins. */
function architectureChoices(): { label: string; description: string; ref: string }[] {
  const out: { label: string; description: string; ref: string }[] = [];
  const editor = vscode.window.activeTextEditor;
  const root = workspaceRoot();
  if (editor?.document.languageId === 'genotype' && root !== undefined) {
    const file = relative(root, editor.document.uri.fsPath);
    for (const g of analyze(editor.document.getText()).genotypes) {
      if (g.genotype) out.push({ label: g.name, description: file, ref: `${file}#${g.name}` });
    }
  }
  for (const entry of LIBRARY) out.push({ label: entry.name, description: 'built-in', ref: entry.name });
  return out;
}

async function ask(args: ExperimentCommandArgs): Promise<Required<Omit<ExperimentCommandArgs, 'dir'>> & { dir?: string } | undefined> {
  let arch = args.arch;
  if (arch === undefined) {
    const picked = await vscode.window.showQuickPick(architectureChoices(), { title: 'Wide vs narrow: architecture', placeHolder: 'The cell whose random-connection variants to compare' });
    if (picked === undefined) return undefined;
    arch = picked.ref;
  }
  let protocol = args.protocol;
  if (protocol === undefined && args.variants !== undefined && args.size !== undefined) protocol = 'wide-vs-narrow';
  if (protocol === undefined) {
    const picked = await vscode.window.showQuickPick(
      (Object.keys(PROTOCOLS) as ExperimentProtocolChoice[]).map((key) => ({ label: PROTOCOLS[key].label, detail: PROTOCOLS[key].detail, key })),
      { title: 'Experiment: what to compare' },
    );
    if (picked === undefined) return undefined;
    protocol = picked.key;
  }
  let variants = args.variants;
  if (variants === undefined) {
    const text = await vscode.window.showInputBox({
      title: 'Experiment: variants',
      prompt: protocol === 'section5' ? 'How many random-connection variants (as many random-operation variants are trained too)' : 'How many random-connection variants (stratified by normal-cell width)',
      value: protocol === 'section5' ? '4' : '3',
      validateInput: (v) => (/^\d+$/.test(v.trim()) && Number(v) >= 1 && Number(v) <= 100 ? undefined : 'a whole number from 1 to 100'),
    });
    if (text === undefined) return undefined;
    variants = Number(text.trim());
  }
  let size = args.size;
  if (size === undefined) {
    const picked = await vscode.window.showQuickPick(
      (Object.keys(SIZES) as ExperimentSize[]).map((key) => ({ label: SIZES[key].label, key })),
      { title: 'Experiment: size' },
    );
    if (picked === undefined) return undefined;
    size = picked.key;
  }
  return { arch, protocol, variants, size, ...(args.dir !== undefined ? { dir: args.dir } : {}) };
}

function describe(line: ExperimentProgressLine): string {
  switch (line.phase) {
    case 'train':
      return `training ${line.name}${line.trainSeed !== undefined ? `, seed ${line.trainSeed}` : ''} (${line.index}/${line.total})`;
    case 'landscape':
      return `landscape of ${line.name} (${line.index}/${line.total})`;
    case 'hessian':
      return `smoothness probe of ${line.name} (${line.index}/${line.total})`;
    case 'report':
      return 'writing the report';
    default:
      return line.phase;
  }
}

/** CUDA GPUs nvidia-smi lists (0 without it), asked without blocking the extension host. */
function cudaGpuCount(): Promise<number> {
  return new Promise((resolve) =>
    execFile('nvidia-smi', ['-L'], { timeout: 4000 }, (error, stdout) => resolve(error ? 0 : stdout.split('\n').filter((l) => /^GPU \d+/.test(l)).length)),
  );
}

async function runExperimentCommand(context: vscode.ExtensionContext, output: vscode.LogOutputChannel, args: ExperimentCommandArgs = {}): Promise<string | undefined> {
  const root = workspaceRoot();
  if (root === undefined) {
    void vscode.window.showErrorMessage('Cellscope: open a folder first; the experiment is stored in it.');
    return undefined;
  }
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showErrorMessage('Cellscope: experiments train networks and are disabled in untrusted workspaces.');
    return undefined;
  }
  const answers = await ask(args);
  if (answers === undefined) return undefined;
  const name = answers.arch.split('#').pop()!.replace(/[^A-Za-z0-9_.-]+/g, '_');
  const dir = answers.dir !== undefined ? (answers.dir.startsWith('/') ? answers.dir : join(root, answers.dir)) : join(root, 'experiments', `${name}${answers.protocol === 'section5' ? '-section5' : ''}-${answers.size}`);
  const config = vscode.workspace.getConfiguration('cellscope');
  const configuredNode = config.get<string>('trainer.node', '').trim();
  const cli = config.get<string>('trainer.cli', '').trim() || vscode.Uri.joinPath(context.extensionUri, 'dist', 'cli.js').fsPath;
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Electron runs scripts as plain Node only with this variable; a configured Node does not need it.
  if (configuredNode === '' && process.versions['electron'] !== undefined) env['ELECTRON_RUN_AS_NODE'] = '1';
  else delete env['ELECTRON_RUN_AS_NODE'];
  // With several CUDA GPUs the entries train side by side, one worker per GPU (--devices all).
  const gpus = await cudaGpuCount();
  const variantArgs = ['--variants', String(answers.variants), ...(answers.protocol === 'section5' ? ['--op-variants', String(answers.variants)] : [])];
  const cliArgs = [cli, 'experiment', answers.arch, ...variantArgs, ...experimentArgs(answers.protocol, answers.size), '--dir', dir, ...(gpus > 1 ? ['--devices', 'all'] : [])];
  output.info(`experiment: ${cliArgs.slice(1).join(' ')}`);

  return vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `${answers.protocol === 'section5' ? 'Section 5' : 'Wide vs narrow'}: ${name}`, cancellable: true },
    (progress, token) =>
      new Promise<string | undefined>((resolve) => {
        const child = spawn(configuredNode || process.execPath, cliArgs, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
        token.onCancellationRequested(() => child.kill('SIGTERM'));
        let phase = 'starting';
        let lastLine = '';
        let buffered = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (chunk: string) => {
          buffered += chunk;
          const lines = buffered.split('\n');
          buffered = lines.pop()!;
          for (const line of lines) {
            if (line.trim() === '') continue;
            lastLine = line.trim();
            if (!line.startsWith('{')) continue;
            let value: { type?: string };
            try {
              value = JSON.parse(line) as { type?: string };
            } catch {
              continue;
            }
            if (value.type === 'experiment') {
              phase = describe(value as ExperimentProgressLine);
              progress.report({ message: phase });
            } else if (value.type === 'step' || value.type === 'probe') {
              // A step, or the smoothness probe between epochs (--hessian-every): 'smoothness probe, epoch k/E' rather than a frozen step.
              const p = parseProgressLine(line);
              const activity = p !== undefined ? progressActivity(p) : undefined;
              if (activity !== undefined) progress.report({ message: `${phase}: ${activity}` });
            } else if (value.type === 'landscape') {
              const l = value as { done?: number; total?: number };
              progress.report({ message: `${phase}: ${l.done}/${l.total} points` });
            }
          }
        });
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (chunk: string) => {
          for (const line of chunk.split('\n')) if (line.trim() !== '') output.info(`experiment: ${line.replace(/\r/g, '')}`);
        });
        child.on('error', (error) => {
          void vscode.window.showErrorMessage(`Cellscope: the experiment could not start: ${error.message}`);
          resolve(undefined);
        });
        child.on('close', (code) => {
          if (code === 0 && lastLine.endsWith('.html')) {
            showReportPanel(dir);
            resolve(lastLine);
            return;
          }
          if (code === 143 || token.isCancellationRequested) {
            void vscode.window.showInformationMessage(`Cellscope: experiment stopped; run it again to continue (${relative(root, dir)}).`);
          } else {
            void vscode.window.showErrorMessage(`Cellscope: the experiment failed (exit ${code}); see the Cellscope output.`);
          }
          resolve(undefined);
        });
      }),
  );
}

async function openReportCommand(args?: { dir?: string }): Promise<void> {
  const root = workspaceRoot();
  if (args?.dir !== undefined) {
    showReportPanel(root !== undefined && !args.dir.startsWith('/') ? join(root, args.dir) : args.dir);
    return;
  }
  const folder = root !== undefined ? join(root, 'experiments') : undefined;
  const found = folder !== undefined && existsSync(folder) ? readdirSync(folder).filter((d) => existsSync(join(folder, d, EXPERIMENT_FILE))) : [];
  if (found.length === 0) {
    void vscode.window.showInformationMessage('Cellscope: no experiments in this workspace yet (Cellscope: Run Wide-vs-Narrow Experiment).');
    return;
  }
  const picked = found.length === 1 ? found[0] : await vscode.window.showQuickPick(found, { title: 'Experiment report' });
  if (picked !== undefined) showReportPanel(join(folder!, picked));
}

export function registerExperiment(context: vscode.ExtensionContext, output: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    vscode.commands.registerCommand('cellscope.runExperiment', (args?: ExperimentCommandArgs) => runExperimentCommand(context, output, args)),
    vscode.commands.registerCommand('cellscope.openExperimentReport', (args?: { dir?: string }) => openReportCommand(args)),
  );
}
