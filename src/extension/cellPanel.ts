/**
 * The cell panel: `Cellscope: Show Cell` draws a genotype's normal and
 * reduction cells beside the editor, follows the genotype under the cursor
 * and redraws as the user types; `Cellscope: Compare Cells` draws two
 * genotypes side by side with their differences marked. Drawings come from
 * the pure renderer (src/render/cellSvg.ts) through cellRenderer.ts, which
 * draws big cells in a worker thread; the webview (src/webview/
 * cellPanel.ts) shows them, maps clicks to source through the SVG's data
 * attributes, and rasterises PNG exports. Messages both ways are the typed
 * unions of src/shared/protocol.ts.
 */
import * as vscode from 'vscode';
import { panelHtml } from './webviewHtml.js';
import { LineIndex, type Span } from '../genotype/ast.js';
import { analyze, findGenotype, type AnalyzedDocument, type ResolvedGenotype } from '../genotype/document.js';
import { LIBRARY, builtin } from '../genotype/library.js';
import type { CellKind, Genotype } from '../genotype/model.js';
import { CellRenderer } from './cellRenderer.js';
import {
  CELL_PANEL_VIEW_TYPE,
  parseCellPanelMessage,
  parseCellPanelState,
  type CellPanelFromWebview,
  type CellPanelState,
  type CellPanelToWebview,
  type CellPanelView,
  type CellTarget,
  type GenotypeSource,
} from '../shared/protocol.js';

const LANGUAGE_ID = 'genotype';
/** Typing pauses shorter than this do not redraw (one redraw per burst of keys). */
const REDRAW_DELAY_MS = 150;

// ---- documents -------------------------------------------------------------

/** Analyses per document version, shared by every panel (cursor moves re-use them). */
const analyses = new Map<string, { version: number; analyzed: AnalyzedDocument }>();

function analysisOf(document: vscode.TextDocument): AnalyzedDocument {
  const key = document.uri.toString();
  const cached = analyses.get(key);
  if (cached && cached.version === document.version) return cached.analyzed;
  const analyzed = analyze(document.getText());
  analyses.set(key, { version: document.version, analyzed });
  return analyzed;
}

function openDocument(uri: string): vscode.TextDocument | undefined {
  return vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
}

async function loadDocument(uri: string): Promise<vscode.TextDocument> {
  return openDocument(uri) ?? (await vscode.workspace.openTextDocument(vscode.Uri.parse(uri)));
}

/** The genotype or alias definition containing `offset`, if any. */
function definitionAt(analyzed: AnalyzedDocument, offset: number): ResolvedGenotype | undefined {
  return analyzed.genotypes.find((g) => g.def.span.start <= offset && offset <= g.def.span.end);
}

/** Outcome of resolving a source against the current text. */
type Resolution =
  | { readonly ok: true; readonly genotype: Genotype; readonly resolved?: ResolvedGenotype; readonly document?: vscode.TextDocument }
  | { readonly ok: false; readonly message: string };

async function resolveSource(source: GenotypeSource): Promise<Resolution> {
  if (source.kind === 'builtin') {
    const entry = builtin(source.name);
    return entry ? { ok: true, genotype: entry.genotype } : { ok: false, message: `no built-in genotype named '${source.name}'` };
  }
  let document: vscode.TextDocument;
  try {
    document = await loadDocument(source.uri);
  } catch (error) {
    return { ok: false, message: `cannot open ${source.uri}: ${error instanceof Error ? error.message : String(error)}` };
  }
  const analyzed = analysisOf(document);
  const resolved = findGenotype(analyzed, source.name);
  const file = vscode.workspace.asRelativePath(document.uri);
  if (!resolved) return { ok: false, message: `${file}: no genotype named '${source.name}'` };
  if (!resolved.genotype) {
    const span = resolved.def.span;
    const error = analyzed.diagnostics.find((d) => d.severity === 'error' && d.span.start >= span.start && d.span.end <= span.end);
    const where = error ? new LineIndex(analyzed.file.text).positionAt(error.span.start) : undefined;
    const detail = error && where ? `${where.line + 1}:${where.character + 1}: ${error.message}` : 'the definition is incomplete';
    return { ok: false, message: `${file}: ${source.name} is not valid (${detail})` };
  }
  return { ok: true, genotype: resolved.genotype, resolved, document };
}

function originOf(source: GenotypeSource): string {
  return source.kind === 'builtin' ? 'built-in' : vscode.workspace.asRelativePath(vscode.Uri.parse(source.uri));
}

function sameSource(a: GenotypeSource, b: GenotypeSource): boolean {
  return a.kind === b.kind && a.name === b.name && (a.kind === 'builtin' || (b.kind === 'document' && a.uri === b.uri));
}


// ---- one panel ---------------------------------------------------------------

class CellPanel {
  private state: CellPanelState;
  /** The genotypes last drawn without error, per source: kept while the text is invalid. */
  private readonly lastGood: Array<Genotype | undefined> = [];
  private redrawTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;
  /** Draws big cells in a worker thread, never on the extension host's. */
  private readonly renderer: CellRenderer;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    state: CellPanelState,
    private readonly onDispose: (p: CellPanel) => void,
  ) {
    this.state = state;
    this.renderer = new CellRenderer(vscode.Uri.joinPath(extensionUri, 'dist', 'cellRenderWorker.js').fsPath);
    panel.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media'), vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
    };
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'cellPanel.svg');
    panel.webview.html = this.html();
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => {
        const message = parseCellPanelMessage(raw);
        if (message) void this.handle(message);
      }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  get sources(): readonly GenotypeSource[] {
    return this.state.sources;
  }

  get follows(): boolean {
    return this.state.follow && this.state.sources.length === 1;
  }

  /** Whether this panel draws something from `uri`. */
  uses(uri: string): boolean {
    return this.state.sources.some((s) => s.kind === 'document' && s.uri === uri);
  }

  async retarget(sources: readonly GenotypeSource[], follow = this.state.follow): Promise<void> {
    const changed = sources.length !== this.state.sources.length || sources.some((s, i) => !sameSource(s, this.state.sources[i]!));
    this.state = { panel: 'cell', sources: [...sources], follow };
    if (changed) this.lastGood.length = 0;
    await this.redraw();
  }

  scheduleRedraw(): void {
    if (this.redrawTimer) clearTimeout(this.redrawTimer);
    this.redrawTimer = setTimeout(() => {
      this.redrawTimer = undefined;
      void this.redraw();
    }, REDRAW_DELAY_MS);
  }

  /** Resolves every source; draws when all are valid, else keeps the last drawing and says why. */
  async redraw(): Promise<void> {
    const results = await Promise.all(this.state.sources.map(resolveSource));
    if (this.disposed) return;
    const problems = results.filter((r): r is Extract<Resolution, { ok: false }> => !r.ok).map((r) => r.message);
    if (problems.length > 0) {
      // Keep the last valid drawing (the webview leaves it in place) and say why it is not updated.
      await this.post({ type: 'problem', message: problems.join('\n') });
      return;
    }
    const genotypes = results.map((r) => (r as Extract<Resolution, { ok: true }>).genotype);
    genotypes.forEach((g, i) => (this.lastGood[i] = g));
    const sources = this.state.sources;
    let svgs: readonly string[] | undefined;
    try {
      svgs = await this.renderer.render(
        sources.map((source, i) => {
          const other = sources.length === 2 ? { genotype: genotypes[1 - i]!, name: sources[1 - i]!.name } : undefined;
          return { genotype: genotypes[i]!, options: { title: source.name, ...(other ? { compareWith: other.genotype, compareName: other.name } : {}) } };
        }),
      );
    } catch (error) {
      await this.post({ type: 'problem', message: `Could not draw: ${error instanceof Error ? error.message : String(error)}` });
      return;
    }
    // Superseded by a later redraw (or the panel closed) while a big cell was drawing.
    if (!svgs || this.disposed) return;
    const views: CellPanelView[] = sources.map((source, i) => ({
      title: source.name,
      origin: originOf(source),
      svg: svgs[i]!,
      hasSource: source.kind === 'document',
    }));
    this.panel.title = sources.length === 2 ? `Cells: ${sources[0]!.name} vs ${sources[1]!.name}` : `Cell: ${sources[0]!.name}`;
    await this.post({ type: 'render', views, state: this.state });
  }

  private post(message: CellPanelToWebview): Thenable<boolean> {
    return this.disposed ? Promise.resolve(false) : this.panel.webview.postMessage(message);
  }

  private async handle(message: CellPanelFromWebview): Promise<void> {
    switch (message.type) {
      case 'ready':
        await this.redraw();
        return;
      case 'setFollow':
        this.state = { ...this.state, follow: message.follow };
        return;
      case 'reveal':
        await this.reveal(message.view, message.cell, message.target);
        return;
      case 'exportSvg':
        await this.exportSvg(message.view);
        return;
      case 'exportPng':
        await this.exportPng(message.view, message.pngBase64);
        return;
    }
  }

  /** Selects the source text of a clicked node or edge in the editor. */
  private async reveal(view: number, cell: CellKind, target: CellTarget): Promise<void> {
    const source = this.state.sources[view];
    if (!source || source.kind !== 'document') return;
    const resolution = await resolveSource(source);
    const document = resolution.ok ? resolution.document : openDocument(source.uri);
    if (!document) return;
    const resolved = resolution.ok ? resolution.resolved : findGenotype(analysisOf(document), source.name);
    if (!resolved || resolved.builtin) return;
    const span = spanOf(resolved, cell, target) ?? resolved.def.span;
    const range = new vscode.Range(document.positionAt(span.start), document.positionAt(span.end));
    const column = vscode.window.visibleTextEditors.find((e) => e.document === document)?.viewColumn ?? vscode.ViewColumn.One;
    await vscode.window.showTextDocument(document, { viewColumn: column, selection: range, preserveFocus: false });
  }

  private async saveTarget(view: number, extension: 'svg' | 'png'): Promise<vscode.Uri | undefined> {
    const source = this.state.sources[view];
    if (!source) return undefined;
    const folder =
      source.kind === 'document' ? vscode.Uri.joinPath(vscode.Uri.parse(source.uri), '..') : vscode.workspace.workspaceFolders?.[0]?.uri;
    const fileName = `${source.name}.${extension}`;
    return vscode.window.showSaveDialog({
      ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, fileName) } : {}),
      filters: extension === 'svg' ? { 'SVG image': ['svg'] } : { 'PNG image': ['png'] },
      title: `Export ${source.name} as ${extension.toUpperCase()}`,
    });
  }

  private async exportSvg(view: number): Promise<void> {
    const genotype = this.lastGood[view];
    const source = this.state.sources[view];
    if (!genotype || !source) return;
    const other = this.state.sources.length === 2 ? { genotype: this.lastGood[1 - view], name: this.state.sources[1 - view]!.name } : undefined;
    const target = await this.saveTarget(view, 'svg');
    if (!target) return;
    // Its own renderer: the panel's may be busy with a redraw this must not cancel.
    const renderer = new CellRenderer(vscode.Uri.joinPath(this.extensionUri, 'dist', 'cellRenderWorker.js').fsPath);
    try {
      const [svg] = (await renderer.render([
        { genotype, options: { title: source.name, ...(other?.genotype ? { compareWith: other.genotype, compareName: other.name } : {}) } },
      ]))!;
      await this.write(target, new TextEncoder().encode(`${svg}\n`));
    } finally {
      renderer.dispose();
    }
  }

  private async exportPng(view: number, pngBase64: string): Promise<void> {
    const target = await this.saveTarget(view, 'png');
    if (!target) return;
    await this.write(target, Buffer.from(pngBase64, 'base64'));
  }

  private async write(target: vscode.Uri, bytes: Uint8Array): Promise<void> {
    try {
      await vscode.workspace.fs.writeFile(target, bytes);
      await this.post({ type: 'status', message: `Saved ${vscode.workspace.asRelativePath(target)}` });
    } catch (error) {
      const message = `Could not save ${target.fsPath}: ${error instanceof Error ? error.message : String(error)}`;
      void vscode.window.showErrorMessage(message);
    }
  }

  private html(): string {
    return panelHtml(this.panel.webview, this.extensionUri, {
      script: 'cellPanel.js',
      style: 'cellPanel.css',
      title: 'Cellscope cells',
      body: `  <div id="toolbar">
    <label id="follow-label"><input type="checkbox" id="follow"> Follow cursor</label>
    <span id="status" role="status" aria-live="polite"></span>
  </div>
  <div id="problem" role="alert" hidden></div>
  <main id="views"><p class="placeholder">Drawing…</p></main>`,
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.redrawTimer) clearTimeout(this.redrawTimer);
    this.renderer.dispose();
    for (const d of this.disposables) d.dispose();
    this.onDispose(this);
    this.panel.dispose();
  }
}

/** The source span of a clicked node, entry edge or concat edge. */
function spanOf(resolved: ResolvedGenotype, cell: CellKind, target: CellTarget): Span | undefined {
  const def = resolved.def;
  if (def.kind !== 'genotype') return def.span;
  const list = cell === 'normal' ? def.call.normal : def.call.reduce;
  const concat = cell === 'normal' ? def.call.normalConcat : def.call.reduceConcat;
  switch (target.kind) {
    case 'entry':
      return list?.entries[target.entry]?.span;
    case 'concat':
      return concat?.form === 'list' ? (concat.items[target.concat]?.span ?? concat.span) : concat?.span;
    case 'node': {
      if (target.node === 'out') return concat?.span;
      const n = Number(target.node);
      // The inputs are not written anywhere: select the whole cell list.
      if (n < 2) return list?.span;
      const first = list?.entries[2 * (n - 2)];
      const second = list?.entries[2 * (n - 2) + 1];
      return first ? { start: first.span.start, end: (second ?? first).span.end } : undefined;
    }
  }
}

// ---- commands ----------------------------------------------------------------

interface SourcePick extends vscode.QuickPickItem {
  readonly source: GenotypeSource;
}

function asUriString(value: unknown): string | undefined {
  if (typeof value === 'string' && value.length > 0) return value;
  if (value instanceof vscode.Uri) return value.toString();
  return undefined;
}

function activeGenotypeEditor(): vscode.TextEditor | undefined {
  const editor = vscode.window.activeTextEditor;
  return editor && editor.document.languageId === LANGUAGE_ID ? editor : undefined;
}

/** The genotype under the cursor of `editor`, if the cursor is inside one. */
function sourceUnderCursor(editor: vscode.TextEditor): GenotypeSource | undefined {
  const analyzed = analysisOf(editor.document);
  const def = definitionAt(analyzed, editor.document.offsetAt(editor.selection.active));
  return def ? { kind: 'document', uri: editor.document.uri.toString(), name: def.name } : undefined;
}

/** Genotypes of open genotype documents (the active one first, the one under the cursor at the top), then built-ins. */
async function pickSource(placeHolder: string, exclude?: GenotypeSource): Promise<GenotypeSource | undefined> {
  const items: SourcePick[] = [];
  const active = activeGenotypeEditor();
  const documents = vscode.workspace.textDocuments.filter((d) => d.languageId === LANGUAGE_ID);
  documents.sort((a, b) => Number(b === active?.document) - Number(a === active?.document));
  const underCursor = active ? sourceUnderCursor(active) : undefined;
  for (const document of documents) {
    const file = vscode.workspace.asRelativePath(document.uri);
    const seen = new Set<string>();
    for (const g of analysisOf(document).genotypes) {
      if (seen.has(g.name)) continue;
      seen.add(g.name);
      const source: GenotypeSource = { kind: 'document', uri: document.uri.toString(), name: g.name };
      if (exclude && sameSource(source, exclude)) continue;
      const item: SourcePick = {
        label: g.name,
        description: g.genotype ? file : `${file} (has errors)`,
        ...(g.aliasOf ? { detail: `alias of ${g.aliasOf}` } : {}),
        source,
      };
      if (underCursor && sameSource(source, underCursor)) items.unshift(item);
      else items.push(item);
    }
  }
  if (items.length > 0) items.push({ label: 'Built-in genotypes', kind: vscode.QuickPickItemKind.Separator, source: { kind: 'builtin', name: '' } });
  for (const entry of LIBRARY) {
    const source: GenotypeSource = { kind: 'builtin', name: entry.name };
    if (exclude && sameSource(source, exclude)) continue;
    items.push({ label: entry.name, description: 'built-in', detail: entry.paper, source });
  }
  const picked = await vscode.window.showQuickPick(items, { placeHolder, matchOnDescription: true, matchOnDetail: true });
  return picked?.source;
}

/**
 * What `Show Cell` was asked to draw: (uri, name) from a code lens; a Uri
 * from the editor context menu (the genotype under the cursor, else the
 * file's first); nothing from the palette (a pick).
 */
async function sourceFromArgs(uriArg: unknown, nameArg: unknown): Promise<GenotypeSource | undefined> {
  const uri = asUriString(uriArg);
  const name = typeof nameArg === 'string' && nameArg.length > 0 ? nameArg : undefined;
  if (uri && name) return { kind: 'document', uri, name };
  if (!uri && name) return builtin(name) ? { kind: 'builtin', name: builtin(name)!.name } : undefined;
  if (uri) {
    const editor = vscode.window.activeTextEditor;
    if (editor && editor.document.uri.toString() === uri) {
      const here = sourceUnderCursor(editor);
      if (here) return here;
    }
    const first = analysisOf(await loadDocument(uri)).genotypes[0];
    if (first) return { kind: 'document', uri, name: first.name };
    return pickSource('Genotype to draw');
  }
  return pickSource('Genotype to draw');
}

class CellPanels {
  private readonly panels = new Set<CellPanel>();
  /** The panel `Show Cell` reuses (the last single-genotype panel opened or focused). */
  private main: CellPanel | undefined;

  constructor(private readonly extensionUri: vscode.Uri) {}

  private create(panel: vscode.WebviewPanel, state: CellPanelState): CellPanel {
    const cellPanel = new CellPanel(panel, this.extensionUri, state, (p) => {
      this.panels.delete(p);
      if (this.main === p) this.main = undefined;
    });
    this.panels.add(cellPanel);
    panel.onDidChangeViewState(() => {
      if (panel.active && cellPanel.sources.length === 1) this.main = cellPanel;
    });
    if (state.sources.length === 1) this.main = cellPanel;
    return cellPanel;
  }

  private newPanel(title: string): vscode.WebviewPanel {
    return vscode.window.createWebviewPanel(CELL_PANEL_VIEW_TYPE, title, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true });
  }

  async show(source: GenotypeSource): Promise<void> {
    if (this.main) {
      this.main.panel.reveal(undefined, true);
      await this.main.retarget([source]);
      return;
    }
    this.create(this.newPanel(`Cell: ${source.name}`), { panel: 'cell', sources: [source], follow: true });
    // The webview asks for its first drawing when its script is ready.
  }

  async compare(a: GenotypeSource, b: GenotypeSource): Promise<void> {
    this.create(this.newPanel(`Cells: ${a.name} vs ${b.name}`), { panel: 'cell', sources: [a, b], follow: false });
  }

  restore(panel: vscode.WebviewPanel, rawState: unknown): void {
    const state = parseCellPanelState(rawState);
    if (!state) {
      // Nothing usable to draw again (e.g. state from another version): close rather than show an empty panel.
      panel.dispose();
      return;
    }
    this.create(panel, state);
  }

  documentChanged(document: vscode.TextDocument): void {
    const uri = document.uri.toString();
    for (const p of this.panels) if (p.uses(uri)) p.scheduleRedraw();
  }

  /** Follows the cursor: the main panel switches to the genotype under it, within that or another genotype file. */
  selectionChanged(editor: vscode.TextEditor): void {
    if (editor.document.languageId !== LANGUAGE_ID) return;
    const main = this.main;
    if (!main || !main.follows) return;
    const here = sourceUnderCursor(editor);
    if (here && !sameSource(here, main.sources[0]!)) void main.retarget([here]);
  }

  documentClosed(document: vscode.TextDocument): void {
    analyses.delete(document.uri.toString());
  }
}

export function registerCellPanel(context: vscode.ExtensionContext): void {
  const panels = new CellPanels(context.extensionUri);
  context.subscriptions.push(
    vscode.commands.registerCommand('cellscope.showCell', async (uri?: unknown, name?: unknown) => {
      const source = await sourceFromArgs(uri, name);
      if (source) await panels.show(source);
    }),
    vscode.commands.registerCommand('cellscope.compareCells', async (uriA?: unknown, nameA?: unknown, uriB?: unknown, nameB?: unknown) => {
      const given = (uri: unknown, name: unknown): GenotypeSource | undefined => {
        const u = asUriString(uri);
        if (typeof name !== 'string' || name === '') return undefined;
        if (u) return { kind: 'document', uri: u, name };
        const entry = builtin(name);
        return entry ? { kind: 'builtin', name: entry.name } : undefined;
      };
      const a = given(uriA, nameA) ?? (await pickSource('First genotype (drawn on the left)'));
      if (!a) return;
      const b = given(uriB, nameB) ?? (await pickSource(`Compare ${a.name} with…`, a));
      if (!b) return;
      await panels.compare(a, b);
    }),
    vscode.window.registerWebviewPanelSerializer(CELL_PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => panels.restore(panel, state),
    }),
    vscode.workspace.onDidChangeTextDocument((e) => {
      if (e.contentChanges.length > 0) panels.documentChanged(e.document);
    }),
    vscode.window.onDidChangeTextEditorSelection((e) => panels.selectionChanged(e.textEditor)),
    vscode.workspace.onDidCloseTextDocument((d) => panels.documentClosed(d)),
  );
}
