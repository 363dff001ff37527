/**
 * `Cellscope: Train…` and `Cellscope: Train Variant…` (editor context menu,
 * code lens, explorer context menu on a .genotype file, palette): quick picks
 * for the genotype, what to train (itself, N random-connection or
 * random-operation variants, the adapted cell, a width-stratified set),
 * dataset, preset and backend; sampled variants are written into the file
 * (a built-in's go to a sibling `<NAME>.variants.genotype` in the workspace)
 * so they stay reproducible and editable; then the runs are queued.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { cudaEngineInstalled } from '../gpu/index.js';
import { analyze, findGenotype, type AnalyzedDocument } from '../../genotype/document.js';
import { authorsAdaptedFor, builtin, LIBRARY } from '../../genotype/library.js';
import { cellDepth, cellWidth, formatWidth } from '../../genotype/metrics.js';
import type { Genotype } from '../../genotype/model.js';
import { findVariants, SamplingError, type SampledVariant, type VariantKind } from '../../genotype/samplers.js';
import { variantName } from '../../genotype/variantText.js';
import { DATASET_NAMES, type DatasetName } from '../../shared/datasetTypes.js';
import { presetSettings } from '../../runs/presets.js';
import { connectionWidthChoices, genotypeAt, variantInsertion } from '../variantInsertion.js';
import type { TrainRequest } from './queue.js';
import type { RunsService } from './runsService.js';
import { followInNotification } from './statusBar.js';
import { backendFlags, backendItems, experimentName, presetFlags, type BackendChoice, type MachineDevices, type PresetChoice, type SavedPresets, type TrainWhat } from './trainOptions.js';

const LANGUAGE_ID = 'genotype';
const MAX_COUNT = 200;
const MAX_SEED = 0xffffffff;

/** A genotype to train: in a file (uri) or built in. */
interface Source {
  readonly name: string;
  readonly genotype: Genotype;
  readonly document?: vscode.TextDocument;
}

class Cancelled extends Error {}

function need<T>(value: T | undefined): T {
  if (value === undefined) throw new Cancelled();
  return value;
}

function toUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg.length > 0) return vscode.Uri.parse(arg);
  return undefined;
}

function shape(g: Genotype): string {
  return `normal ${formatWidth(cellWidth(g.normal))} depth ${cellDepth(g.normal)}`;
}

async function pickInDocument(document: vscode.TextDocument, doc: AnalyzedDocument, title: string): Promise<string> {
  const valid = doc.genotypes.filter((g) => g.genotype);
  if (valid.length === 0) throw new Error(`${vscode.workspace.asRelativePath(document.uri)} defines no valid genotype`);
  if (valid.length === 1) return valid[0]!.name;
  const picked = await vscode.window.showQuickPick(
    valid.map((g) => ({ label: g.name, description: shape(g.genotype!) })),
    { title: `${title}: which genotype?` },
  );
  return need(picked).label;
}

async function pickAnywhere(title: string): Promise<Source> {
  type Item = vscode.QuickPickItem & { source?: Source };
  const items: Item[] = [];
  for (const document of vscode.workspace.textDocuments.filter((d) => d.languageId === LANGUAGE_ID)) {
    const file = vscode.workspace.asRelativePath(document.uri);
    for (const g of analyze(document.getText()).genotypes) {
      if (g.genotype) items.push({ label: g.name, description: `${file} · ${shape(g.genotype)}`, source: { name: g.name, genotype: g.genotype, document } });
    }
  }
  if (items.length > 0) items.push({ label: 'Built-in genotypes', kind: vscode.QuickPickItemKind.Separator });
  for (const entry of LIBRARY) items.push({ label: entry.name, description: `built-in · ${shape(entry.genotype)}`, detail: entry.paper, source: { name: entry.name, genotype: entry.genotype } });
  const picked = await vscode.window.showQuickPick(items, { title: `${title}: which genotype?`, matchOnDescription: true });
  return need(picked?.source);
}

/** The genotype the command was invoked on (lens: uri + name; menus: uri; palette: nothing). */
async function sourceOf(uriArg: unknown, nameArg: unknown, title: string): Promise<Source> {
  const uri = toUri(uriArg);
  const name = typeof nameArg === 'string' && nameArg !== '' ? nameArg : undefined;
  if (!uri) {
    if (name) {
      const entry = builtin(name);
      if (!entry) throw new Error(`no built-in genotype named ${name}`);
      return { name: entry.name, genotype: entry.genotype };
    }
    const editor = vscode.window.activeTextEditor;
    if (editor?.document.languageId === LANGUAGE_ID) return sourceOf(editor.document.uri, undefined, title);
    return pickAnywhere(title);
  }
  const document = await vscode.workspace.openTextDocument(uri);
  const doc = analyze(document.getText());
  let chosen = name;
  if (!chosen) {
    const editor = vscode.window.activeTextEditor;
    if (editor && editor.document.uri.toString() === uri.toString()) chosen = genotypeAt(doc, editor.document.offsetAt(editor.selection.active))?.name;
  }
  chosen ??= await pickInDocument(document, doc, title);
  const resolved = findGenotype(doc, chosen);
  if (!resolved) throw new Error(`no genotype named ${chosen}`);
  if (!resolved.genotype) throw new Error(`${chosen} has errors; fix them before training`);
  // A built-in named in a file (an alias or a lens on one) is trained as the built-in.
  return resolved.builtin ? { name: chosen, genotype: resolved.genotype } : { name: chosen, genotype: resolved.genotype, document };
}

function wholeNumber(min: number, max: number) {
  return (value: string): string | undefined => {
    const t = value.trim();
    return /^\d+$/.test(t) && Number(t) >= min && Number(t) <= max ? undefined : `a whole number from ${min} to ${max}`;
  };
}

async function askNumber(title: string, prompt: string, value: string, min: number, max: number): Promise<number> {
  const text = await vscode.window.showInputBox({ title, prompt, value, validateInput: wholeNumber(min, max) });
  return Number(need(text).trim());
}

async function askWhat(source: Source, title: string, variantsOnly: boolean): Promise<TrainWhat & { seed: number }> {
  type Item = vscode.QuickPickItem & { id: 'self' | 'connections' | 'ops' | 'adapt' | 'authors-adapt' | 'stratified' };
  // Where the authors made an adapted cell by hand (NASNet_ADAPT, …), that is the one the paper trained: offer it first.
  const authors = authorsAdaptedFor(source.genotype);
  const items: Item[] = [
    ...(variantsOnly ? [] : [{ id: 'self' as const, label: `${source.name} itself`, description: shape(source.genotype) }]),
    { id: 'connections', label: 'Random-connection variants', detail: 'Same operations, every input redrawn (the authors\' sampler): widths and depths vary' },
    { id: 'ops', label: 'Random-operation variants', detail: 'Same connections, every operation redrawn: the shape stays' },
    ...(authors !== undefined
      ? [{ id: 'authors-adapt' as const, label: `The authors' adapted cell (${authors.name})`, detail: `Shu, Wang & Cai's own widest, shallowest version of ${source.name} (${authors.source})` }]
      : []),
    {
      id: 'adapt',
      label: authors !== undefined ? 'The adapted cell (re-pointing rule)' : 'The adapted cell',
      detail: 'Every input re-pointed to the cell inputs by Cellscope\'s rule: the widest, shallowest cell',
    },
    { id: 'stratified', label: 'Width-stratified set', detail: 'N random-connection variants at each chosen normal-cell width (the paper\'s 2c/2.5c/3c/3.5c groups)' },
  ];
  const picked = need(await vscode.window.showQuickPick(items, { title: `${title}: what to train` }));
  switch (picked.id) {
    case 'self':
      return { what: 'self', seed: 0 };
    case 'adapt':
      return { what: 'adapt', seed: 0 };
    case 'authors-adapt':
      return { what: 'adapt', authors: authors!.name, seed: 0 };
    case 'connections':
    case 'ops': {
      const count = await askNumber(`${title}: how many variants`, 'each variant is one run', '3', 1, MAX_COUNT);
      const seed = await askNumber(`${title}: first seed`, 'numpy seed of the first variant; seed k is what the authors\' sampler script draws for seed k', '1', 0, MAX_SEED);
      return { what: 'variants', kind: picked.id, count, seed };
    }
    case 'stratified': {
      const widths = connectionWidthChoices(source.genotype.normal);
      const paper = new Set([2, 2.5, 3, 3.5]);
      const chosen = need(
        await vscode.window.showQuickPick(
          widths.map((w) => ({ label: `Normal width ${formatWidth(w)}`, width: w, picked: paper.has(w) })),
          { title: `${title}: normal-cell widths`, canPickMany: true },
        ),
      );
      if (chosen.length === 0) throw new Cancelled();
      const perWidth = await askNumber(`${title}: variants per width`, 'random-connection variants at each width', '3', 1, MAX_COUNT);
      const seed = await askNumber(`${title}: first seed`, 'seeds are tried upwards from here', '1', 0, MAX_SEED);
      return { what: 'stratified', widths: chosen.map((c) => c.width), perWidth, seed };
    }
  }
}

/** The variants to sample for `what`, as (kind, variants). */
function sample(source: Source, what: TrainWhat & { seed: number }): { kind: VariantKind; variants: SampledVariant[] } | undefined {
  switch (what.what) {
    case 'self':
      return undefined;
    case 'adapt':
      // The authors' cell is a built-in: trained by its name, nothing to sample or write.
      if (what.authors !== undefined) return undefined;
      return { kind: 'adapt', variants: findVariants(source.genotype, 'adapt', {}, { count: 1 }) };
    case 'variants':
      return { kind: what.kind, variants: findVariants(source.genotype, what.kind, {}, { count: what.count, start: what.seed }) };
    case 'stratified': {
      const all = new Map<number, SampledVariant>();
      for (const w of what.widths) {
        for (const v of findVariants(source.genotype, 'connections', { normalWidth: w }, { count: what.perWidth, start: what.seed })) all.set(v.seed, v);
      }
      return { kind: 'connections', variants: [...all.values()].sort((a, b) => a.seed - b.seed) };
    }
  }
}

/**
 * Writes the variants below their source in its file (saved, since the
 * trainer reads the file), or for a built-in into `<NAME>.variants.genotype`
 * in the workspace. Returns the file that holds them.
 */
async function writeVariants(source: Source, kind: VariantKind, variants: readonly SampledVariant[], folder: vscode.Uri): Promise<string> {
  if (source.document) {
    const document = source.document;
    const doc = analyze(document.getText());
    const resolved = findGenotype(doc, source.name);
    if (!resolved) throw new Error(`${source.name} is no longer defined`);
    const insertion = variantInsertion(doc, resolved, kind, variants);
    if (insertion.text !== '') {
      const edit = new vscode.WorkspaceEdit();
      edit.insert(document.uri, document.positionAt(insertion.offset), insertion.text);
      if (!(await vscode.workspace.applyEdit(edit))) throw new Error('the editor refused the edit');
    }
    return document.uri.fsPath;
  }
  const path = join(folder.fsPath, `${source.name}.variants.genotype`);
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const doc = analyze(text);
  const insertion = variantInsertion(doc, findGenotype(doc, source.name)!, kind, variants);
  if (insertion.text !== '') writeFileSync(path, text.slice(0, insertion.offset) + insertion.text + text.slice(insertion.offset));
  return path;
}

async function askDataset(title: string): Promise<DatasetName> {
  const notes: Record<DatasetName, string> = {
    synthetic: 'embedded, no download: for trying things',
    cifar10: 'the paper\'s main benchmark (downloaded on first use)',
    cifar100: 'downloaded on first use',
    'tiny-imagenet': '64×64, 200 classes (downloaded on first use)',
    'fashion-mnist': '28×28 grey (downloaded on first use)',
  };
  const picked = await vscode.window.showQuickPick(
    DATASET_NAMES.map((d) => ({ label: d, description: notes[d], dataset: d })),
    { title: `${title}: dataset` },
  );
  return need(picked).dataset;
}

async function askPreset(title: string, dataset: DatasetName): Promise<{ choice: PresetChoice; label: string }> {
  const describe = (p: 'quick' | 'paper') => {
    const s = presetSettings(p, dataset);
    return `${s.epochs} epochs, ${s.layers} cells, C=${s.channels}, batch ${s.batchSize}${s.trainSubset ? `, ${s.trainSubset} training images` : ''}`;
  };
  const saved = vscode.workspace.getConfiguration('cellscope').get<SavedPresets>('trainer.presets', {});
  type Item = vscode.QuickPickItem & { choice: PresetChoice };
  const items: Item[] = [
    { label: 'quick', description: describe('quick'), detail: 'A small network on subsets: minutes on a laptop. For trying, not for conclusions.', choice: { kind: 'builtin', name: 'quick' } },
    { label: 'paper', description: describe('paper'), detail: 'Shu, Wang & Cai\'s recipe (DARTS evaluation network, SGD 0.025, cosine, 600 epochs on CIFAR).', choice: { kind: 'builtin', name: 'paper' } },
  ];
  const savedItems = Object.entries(saved ?? {}).filter(([, v]) => typeof v === 'object' && v !== null);
  if (savedItems.length > 0) items.push({ label: 'Saved settings', kind: vscode.QuickPickItemKind.Separator, choice: { kind: 'builtin', name: 'quick' } });
  for (const [name, values] of savedItems) {
    items.push({ label: name, description: Object.entries(values).map(([k, v]) => `${k}=${String(v)}`).join(' '), detail: 'cellscope.trainer.presets', choice: { kind: 'saved', name, values } });
  }
  const picked = need(await vscode.window.showQuickPick(items, { title: `${title}: settings` }));
  return { choice: picked.choice, label: picked.label };
}

interface Gpu {
  readonly index: number;
  readonly name: string;
}

/** CUDA devices as nvidia-smi lists them; none when it is absent. */
function listGpus(): Promise<Gpu[]> {
  return new Promise((resolve) => {
    execFile('nvidia-smi', ['--query-gpu=index,name', '--format=csv,noheader'], { timeout: 4000 }, (error, stdout) => {
      if (error) return resolve([]);
      const gpus = stdout
        .split('\n')
        .map((l) => l.split(',').map((x) => x.trim()))
        .filter((p) => p.length >= 2 && /^\d+$/.test(p[0]!))
        .map((p) => ({ index: Number(p[0]), name: p[1]! }));
      resolve(gpus);
    });
  });
}

async function askBackend(service: RunsService, title: string): Promise<{ args: string[]; device: TrainRequest['device']; adapter?: number }> {
  type Item = vscode.QuickPickItem & { choice: BackendChoice; install?: true };
  let devices: MachineDevices = { cudaDevices: 0, adapters: [] };
  // An NVIDIA GPU without the CUDA engine where the bundled trainer looks: offer the install
  // (a configured CLI may have the package in its own node_modules: not second-guessed).
  const ownCli = vscode.workspace.getConfiguration('cellscope').get<string>('trainer.cli', '').trim() === '';
  const installItem = (gpus: readonly Gpu[]): Item[] =>
    gpus.length > 0 && ownCli && !cudaEngineInstalled()
      ? [{ label: '$(cloud-download) Install GPU Support (CUDA)…', description: `for ${gpus.map((g) => `GPU ${g.index}`).join(', ')}: the CUDA engine (@tensorflow/tfjs-node-gpu) is not installed`, choice: { kind: 'auto' }, install: true }]
      : [];
  // A thenable of items: the pick opens at once and shows progress while the GPUs are probed.
  const items = Promise.all([listGpus(), service.adapters()]).then(([gpus, report]): Item[] => {
    devices = { cudaDevices: gpus.length, adapters: report.adapters };
    return backendItems(gpus, report.adapters, installItem(gpus)) as Item[];
  });
  const picked = need(await vscode.window.showQuickPick(items, { title: `${title}: backend` }));
  if (picked.install) {
    // The install takes minutes; this train is dropped and asked again afterwards.
    void vscode.commands.executeCommand('cellscope.installGpuSupport', 'gpu');
    throw new Cancelled();
  }
  return backendFlags(picked.choice, devices);
}

/**
 * The sbatch options of Train on Cluster…, remembered per workspace: the
 * partition, GPUs per run and time limit (each may be left empty: the
 * cluster's default).
 */
async function askSlurm(title: string, memory: vscode.Memento): Promise<string[]> {
  const ask = async (key: string, prompt: string, placeHolder: string, check: RegExp) => {
    const previous = memory.get<string>(`cellscope.slurm.${key}`, '');
    const value = need(
      await vscode.window.showInputBox({
        title: `${title}: Slurm ${key}`,
        prompt,
        placeHolder,
        value: previous,
        validateInput: (v) => (v.trim() === '' || check.test(v.trim()) ? undefined : `not a Slurm ${key} (${placeHolder})`),
      }),
    ).trim();
    await memory.update(`cellscope.slurm.${key}`, value);
    return value === '' ? [] : [`--${key}`, value];
  };
  return [
    ...(await ask('partition', 'sbatch --partition (empty: the default partition)', 'gpu', /^[A-Za-z0-9_.,-]+$/)),
    ...(await ask('gres', 'sbatch --gres per run (empty: no GPU)', 'gpu:1', /^[A-Za-z0-9_]+(:[A-Za-z0-9_.-]+)*$/)),
    ...(await ask('time', 'sbatch --time per run (empty: the partition\'s limit)', '12:00:00', /^[0-9:-]+$/)),
  ];
}

async function train(service: RunsService, uriArg: unknown, nameArg: unknown, variantsOnly: boolean, cluster?: vscode.Memento): Promise<void> {
  const title = cluster !== undefined ? 'Train on Cluster' : variantsOnly ? 'Train Variant' : 'Train';
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('Cellscope: training is disabled in an untrusted workspace. Trust the workspace to train.', 'Manage Workspace Trust').then((a) => {
      if (a) void vscode.commands.executeCommand('workbench.trust.manage');
    });
    return;
  }
  const folder = service.workspaceFolder;
  if (!folder) throw new Error('open a folder first: runs are stored in the workspace');
  const source = await sourceOf(uriArg, nameArg, title);
  const what = await askWhat(source, `${title} ${source.name}`, variantsOnly);
  let sampled;
  try {
    sampled = sample(source, what);
  } catch (error) {
    if (error instanceof SamplingError) {
      void vscode.window.showWarningMessage(`Cellscope: ${error.message}`);
      return;
    }
    throw error;
  }
  const dataset = await askDataset(title);
  const preset = await askPreset(title, dataset);
  // On a cluster the backend is the compute node's: auto picks its GPU.
  const backend = cluster !== undefined ? { args: ['--backend', 'auto'], device: 'cpu' as const } : await askBackend(service, title);
  const slurmArgs = cluster !== undefined ? await askSlurm(title, cluster) : [];

  // Where the genotypes come from, as the CLI reads them: FILE#NAME (saved first), or a built-in's name.
  let refs: { ref: string; name: string }[];
  if (sampled) {
    const file = await writeVariants(source, sampled.kind, sampled.variants, folder);
    refs = sampled.variants.map((v) => {
      const name = variantName(source.name, sampled.kind, v.seed);
      return { ref: `${file}#${name}`, name };
    });
  } else if (what.what === 'adapt' && what.authors !== undefined) {
    refs = [{ ref: what.authors, name: what.authors }];
  } else {
    refs = [{ ref: source.document ? `${source.document.uri.fsPath}#${source.name}` : source.name, name: source.name }];
  }
  if (source.document?.isDirty && !(await source.document.save())) throw new Error(`could not save ${vscode.workspace.asRelativePath(source.document.uri)}`);

  const args = ['--dataset', dataset, ...presetFlags(preset.choice), ...backend.args];
  if (cluster !== undefined) {
    const messages = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Cellscope: submitting ${refs.length} run${refs.length === 1 ? '' : 's'} to Slurm` }, () =>
      service.submitToCluster(refs, args, slurmArgs),
    );
    void vscode.window.showInformationMessage(`Cellscope: ${messages.map((m) => m.split('\n').pop()).join('; ')}`);
    return;
  }
  const requests: TrainRequest[] = refs.map((r) => ({ kind: 'train', ref: r.ref, name: r.name, args, device: backend.device, ...(backend.adapter !== undefined ? { adapter: backend.adapter } : {}) }));
  const experiment = experimentName(source.name, what, dataset, preset.label);
  const entries = service.enqueue(experiment, requests);
  followInNotification(service, `training ${experiment}`, entries);
}

/** Train on Cluster… is offered (context key `cellscope.slurmAvailable`) where sbatch is on PATH. */
export function registerTrainCommands(service: RunsService, memory: vscode.Memento): vscode.Disposable {
  void service.slurmAvailable().then((yes) => vscode.commands.executeCommand('setContext', 'cellscope.slurmAvailable', yes));
  const wrap = (variantsOnly: boolean, cluster = false) => (uri?: unknown, name?: unknown) =>
    train(service, uri, name, variantsOnly, cluster ? memory : undefined).catch((error: unknown) => {
      if (error instanceof Cancelled) return;
      void vscode.window.showErrorMessage(`Cellscope: ${error instanceof Error ? error.message : String(error)}`);
    });
  return vscode.Disposable.from(
    vscode.commands.registerCommand('cellscope.train', wrap(false)),
    vscode.commands.registerCommand('cellscope.trainVariant', wrap(true)),
    vscode.commands.registerCommand('cellscope.trainOnCluster', wrap(false, true)),
  );
}
