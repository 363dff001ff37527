/**
 * `Cellscope: Sample Variants`: the paper's random variants of a genotype,
 * inserted below its definition as ordinary genotype text. Invoked from a code
 * lens with (uri, name), or from the palette / context menu, where it takes
 * the genotype under the cursor or asks for one. The sampling and the text are
 * the core's (genotype/samplers.ts, genotype/variantText.ts); this module only
 * asks the questions and applies the edit.
 */
import * as vscode from 'vscode';
import { analyze, findGenotype, type ResolvedGenotype } from '../genotype/document.js';
import { cellDepth, cellWidth, formatWidth } from '../genotype/metrics.js';
import { findVariants, SamplingError, type VariantKind } from '../genotype/samplers.js';
import { connectionWidthChoices, genotypeAt, variantInsertion } from './variantInsertion.js';

export const SAMPLE_VARIANTS_COMMAND = 'cellscope.sampleVariants';
const LANGUAGE_ID = 'genotype';
const MAX_SEED = 0xffffffff;
const MAX_COUNT = 50;

interface KindItem extends vscode.QuickPickItem {
  readonly variantKind: VariantKind;
}

const KIND_ITEMS: readonly KindItem[] = [
  { variantKind: 'connections', label: 'Random connections', detail: 'Same operations, every input redrawn (the authors\' sampler, numpy seed)' },
  { variantKind: 'ops', label: 'Random operations', detail: 'Same connections, every operation redrawn from the DARTS primitives' },
  { variantKind: 'adapt', label: 'Adapted', detail: 'Every input re-pointed to the cell inputs: the widest, shallowest cell (seed ignored)' },
];

export function registerSampleVariants(): vscode.Disposable {
  return vscode.commands.registerCommand(SAMPLE_VARIANTS_COMMAND, (uri?: unknown, name?: unknown) =>
    sampleVariants(uri, typeof name === 'string' ? name : undefined).catch((err: unknown) => {
      void vscode.window.showErrorMessage(`Sample Variants: ${err instanceof Error ? err.message : String(err)}`);
    }),
  );
}

function toUri(arg: unknown): vscode.Uri | undefined {
  if (arg instanceof vscode.Uri) return arg;
  if (typeof arg === 'string' && arg.length > 0) return vscode.Uri.parse(arg);
  return undefined;
}

function shape(resolved: ResolvedGenotype): string {
  const g = resolved.genotype;
  if (!g) return 'has errors';
  return `normal ${formatWidth(cellWidth(g.normal))} depth ${cellDepth(g.normal)}, reduce ${formatWidth(cellWidth(g.reduce))} depth ${cellDepth(g.reduce)}`;
}

async function targetEditor(uriArg: unknown): Promise<vscode.TextEditor | undefined> {
  const uri = toUri(uriArg);
  if (uri) {
    const visible = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === uri.toString());
    return visible ?? vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
  }
  return vscode.window.activeTextEditor;
}

async function chooseSource(editor: vscode.TextEditor, nameArg: string | undefined): Promise<string | undefined> {
  const doc = analyze(editor.document.getText());
  if (nameArg) return nameArg;
  const under = genotypeAt(doc, editor.document.offsetAt(editor.selection.active));
  if (under) return under.name;
  const items = doc.genotypes.map((g) => ({ label: g.name, description: shape(g) }));
  if (items.length === 0) throw new Error('this file defines no genotype');
  return (await vscode.window.showQuickPick(items, { title: 'Sample Variants: which genotype?' }))?.label;
}

function wholeNumber(max: number, min: number) {
  return (value: string): string | undefined => {
    const n = Number(value.trim());
    return /^\d+$/.test(value.trim()) && n >= min && n <= max ? undefined : `a whole number from ${min} to ${max}`;
  };
}

async function sampleVariants(uriArg: unknown, nameArg: string | undefined): Promise<void> {
  const editor = await targetEditor(uriArg);
  if (!editor || editor.document.languageId !== LANGUAGE_ID) {
    throw new Error('open a genotype file (language Genotype) first');
  }
  const name = await chooseSource(editor, nameArg);
  if (!name) return;
  const source = findGenotype(analyze(editor.document.getText()), name);
  if (!source) throw new Error(`no genotype named ${name} in this file or the library`);
  if (!source.genotype) throw new Error(`${name} has errors; fix them before sampling`);
  const genotype = source.genotype;

  const kindItem = await vscode.window.showQuickPick(KIND_ITEMS, { title: `Sample Variants of ${name}: kind` });
  if (!kindItem) return;
  const kind = kindItem.variantKind;

  const seedText = await vscode.window.showInputBox({
    title: `Sample Variants of ${name}: first seed`,
    prompt: 'numpy seed of the first variant; seed k is what the authors\' sampler script draws for seed k',
    value: '1',
    validateInput: wholeNumber(MAX_SEED, 0),
  });
  if (seedText === undefined) return;

  let count = 1;
  let normalWidth: number | undefined;
  if (kind !== 'adapt') {
    const countText = await vscode.window.showInputBox({
      title: `Sample Variants of ${name}: how many`,
      value: '3',
      validateInput: wholeNumber(MAX_COUNT, 1),
    });
    if (countText === undefined) return;
    count = Number(countText);
  }
  if (kind === 'connections') {
    // Only random connections change the width; offer the widths they can reach.
    const widths = connectionWidthChoices(genotype.normal);
    const picked = await vscode.window.showQuickPick(
      [
        { label: 'Any width', width: undefined as number | undefined },
        ...widths.map((w) => ({ label: `Normal width ${formatWidth(w)}`, width: w as number | undefined })),
      ],
      { title: `Sample Variants of ${name}: normal cell width` },
    );
    if (!picked) return;
    normalWidth = picked.width;
  }

  let variants;
  try {
    variants = findVariants(genotype, kind, normalWidth === undefined ? {} : { normalWidth }, { count, start: Number(seedText) });
  } catch (err) {
    if (err instanceof SamplingError) {
      void vscode.window.showWarningMessage(`Sample Variants: ${err.message}`);
      return;
    }
    throw err;
  }

  // The document may have changed while the questions were open: place the text by the current one.
  const current = analyze(editor.document.getText());
  const currentSource = findGenotype(current, name);
  if (!currentSource) throw new Error(`${name} is no longer defined`);
  const insertion = variantInsertion(current, currentSource, kind, variants);
  if (insertion.names.length === 0) {
    void vscode.window.showInformationMessage(`Sample Variants: ${insertion.skipped.join(', ')} already in the file`);
    return;
  }
  const at = editor.document.positionAt(insertion.offset);
  const ok = await editor.edit((b) => b.insert(at, insertion.text));
  if (!ok) throw new Error('the editor refused the edit');
  // Show the first new variant whole; the rest follow below it.
  const second = insertion.names.length > 1 ? insertion.text.indexOf(`${insertion.names[1]} =`) : -1;
  const firstEnd = editor.document.positionAt(insertion.offset + (second < 0 ? insertion.text.length : second));
  editor.revealRange(new vscode.Range(at, firstEnd), vscode.TextEditorRevealType.InCenterIfOutsideViewport);
  const skipped = insertion.skipped.length > 0 ? ` (${insertion.skipped.join(', ')} already present)` : '';
  vscode.window.setStatusBarMessage(`Cellscope: inserted ${insertion.names.join(', ')}${skipped}`, 5000);
}
