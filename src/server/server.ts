/**
 * The genotype language server: diagnostics as you type, hovers, completion,
 * code lenses, outline, names (definition, references, rename), formatting
 * and quick fixes, over any LSP connection. The same `startServer` runs over
 * IPC inside VS Code, over stdio for `cellscope lsp --stdio` and other
 * editors, and over in-memory streams in the tests.
 *
 * Robustness: every request on a document the server does not have (never
 * opened, already closed, or a position past its end) gets an empty answer,
 * and a handler that throws is logged and answered empty, so no document
 * content and no request order can take the server down.
 */
import {
  CodeActionKind,
  CodeLensRefreshRequest,
  DidChangeConfigurationNotification,
  ResponseError,
  TextDocumentSyncKind,
  TextDocuments,
  type ClientCapabilities,
  type Connection,
  type InitializeResult,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { AnalysisCache, type Analysis } from './analysis.js';
import { codeActions } from './codeActions.js';
import { codeLenses } from './codeLens.js';
import { COMPLETION_TRIGGERS, completion } from './completion.js';
import { documentDiagnostics } from './diagnostics.js';
import { formatting } from './formatting.js';
import { hover } from './hover.js';
import { definition, prepareRename, references, rename } from './navigation.js';
import { DEFAULT_SETTINGS, SETTINGS_SECTION, readSettings, sameValidation, type ServerSettings } from './settings.js';
import { documentSymbols, symbolInformation } from './symbols.js';

export interface ServerOptions {
  /**
   * Quiet time after the last keystroke before a document is re-validated (ms),
   * while keystrokes come faster than that; the first change after a quiet
   * spell of this length is validated at once.
   */
  readonly diagnosticsDelayMs?: number;
}

export const DEFAULT_DIAGNOSTICS_DELAY_MS = 50;

/** What the client said it can do, read once at initialize. */
interface ClientFeatures {
  readonly configuration: boolean;
  readonly dynamicConfiguration: boolean;
  readonly relatedInformation: boolean;
  readonly snippets: boolean;
  readonly hierarchicalSymbols: boolean;
  readonly codeLensRefresh: boolean;
  readonly prepareRename: boolean;
  readonly commands: ReadonlySet<string>;
}

function clientFeatures(capabilities: ClientCapabilities, initializationOptions: unknown): ClientFeatures {
  const options = typeof initializationOptions === 'object' && initializationOptions !== null ? (initializationOptions as Record<string, unknown>) : {};
  const commands = Array.isArray(options.clientCommands) ? options.clientCommands.filter((c): c is string => typeof c === 'string') : [];
  const text = capabilities.textDocument;
  return {
    configuration: capabilities.workspace?.configuration === true,
    dynamicConfiguration: capabilities.workspace?.didChangeConfiguration?.dynamicRegistration === true,
    relatedInformation: text?.publishDiagnostics?.relatedInformation === true,
    snippets: text?.completion?.completionItem?.snippetSupport === true,
    hierarchicalSymbols: text?.documentSymbol?.hierarchicalDocumentSymbolSupport === true,
    codeLensRefresh: capabilities.workspace?.codeLens?.refreshSupport === true,
    prepareRename: text?.rename?.prepareSupport === true,
    commands: new Set(commands),
  };
}

export function startServer(connection: Connection, options: ServerOptions = {}): void {
  const delay = options.diagnosticsDelayMs ?? DEFAULT_DIAGNOSTICS_DELAY_MS;
  const documents = new TextDocuments(TextDocument);
  let settings: ServerSettings = DEFAULT_SETTINGS;
  let client: ClientFeatures = clientFeatures({}, undefined);
  const cache = new AnalysisCache(() => settings.extraOperations);
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** uri → the version and settings generation last published, to skip identical re-publishing. */
  const published = new Map<string, string>();
  /** uri → when it was last validated (performance.now()), to tell a burst of keystrokes from a first one. */
  const validatedAt = new Map<string, number>();
  let generation = 0;

  const log = (what: string, error: unknown): void => {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    try {
      connection.console.error(`cellscope: ${what} failed: ${message}`);
    } catch {
      // The connection may already be gone; nothing else to tell.
    }
  };

  /** Runs `fn` on the document's current analysis; unknown documents and handler errors give `empty`. */
  function onDocument<R>(what: string, uri: string | undefined, empty: R, fn: (analysis: Analysis) => R): R {
    try {
      const document = typeof uri === 'string' ? documents.get(uri) : undefined;
      if (!document) return empty;
      return fn(cache.get(document));
    } catch (error) {
      // A deliberate refusal (e.g. rename to an invalid name) goes back to the client as an error.
      if (error instanceof ResponseError) throw error;
      log(what, error);
      return empty;
    }
  }

  function validate(uri: string): void {
    timers.delete(uri);
    const document = documents.get(uri);
    if (!document) return;
    validatedAt.set(uri, performance.now());
    const key = `${document.version}/${generation}`;
    if (published.get(uri) === key) return;
    try {
      const analysis = cache.get(document);
      published.set(uri, key);
      void connection.sendDiagnostics({ uri, version: document.version, diagnostics: documentDiagnostics(analysis, client.relatedInformation) });
    } catch (error) {
      log('validation', error);
    }
  }

  function schedule(uri: string, ms: number): void {
    const pending = timers.get(uri);
    if (pending) clearTimeout(pending);
    timers.set(uri, setTimeout(() => validate(uri), ms));
  }

  function revalidateAll(): void {
    generation++;
    for (const document of documents.all()) schedule(document.uri, 0);
  }

  async function applySettings(next: ServerSettings): Promise<void> {
    const previous = settings;
    settings = next;
    if (!sameValidation(previous, next)) {
      cache.clear();
      revalidateAll();
    }
    // Lens numbers depend on the evaluation size even when diagnostics do not.
    if (client.codeLensRefresh) await connection.sendRequest(CodeLensRefreshRequest.type).catch((error: unknown) => log('code lens refresh', error));
  }

  async function pullSettings(): Promise<void> {
    if (!client.configuration) return;
    try {
      const section: unknown = await connection.workspace.getConfiguration({ section: SETTINGS_SECTION });
      await applySettings(readSettings(section));
    } catch (error) {
      log('reading settings', error);
    }
  }

  connection.onInitialize((params): InitializeResult => {
    client = clientFeatures(params.capabilities ?? {}, params.initializationOptions);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        hoverProvider: true,
        completionProvider: { triggerCharacters: COMPLETION_TRIGGERS, resolveProvider: false },
        codeLensProvider: { resolveProvider: false },
        documentSymbolProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: client.prepareRename ? { prepareProvider: true } : true,
        documentFormattingProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix, CodeActionKind.RefactorRewrite] },
      },
      serverInfo: { name: 'cellscope-genotype', version: '0.1.0' },
    };
  });

  connection.onInitialized(() => {
    // Which node and flags run the server (nodeFlags.ts): what a slow-analysis report first needs.
    connection.console.info(`Cellscope language server on node ${process.version}, flags: ${process.execArgv.join(' ') || 'none'}`);
    if (client.configuration && client.dynamicConfiguration) {
      void connection.client.register(DidChangeConfigurationNotification.type, { section: SETTINGS_SECTION }).catch((error: unknown) => log('registration', error));
    }
    void pullSettings();
  });

  connection.onDidChangeConfiguration((params) => {
    if (client.configuration) {
      void pullSettings();
      return;
    }
    const all = params?.settings as Record<string, unknown> | undefined;
    void applySettings(readSettings(all?.[SETTINGS_SECTION] ?? all));
  });

  // TextDocuments fires onDidChangeContent for an open too. A change is validated at once (on the
  // next turn, so that changes already received coalesce) when nothing is pending and the last
  // validation is at least `delay` old: the first keystroke after a pause, and an open. Within a
  // burst each change restarts the debounce. Incremental analysis keeps either cheap.
  documents.onDidChangeContent((event) => {
    const uri = event.document.uri;
    const last = validatedAt.get(uri);
    const quiet = !timers.has(uri) && (last === undefined || performance.now() - last >= delay);
    schedule(uri, quiet ? 0 : delay);
  });
  documents.onDidClose((event) => {
    const uri = event.document.uri;
    const pending = timers.get(uri);
    if (pending) clearTimeout(pending);
    timers.delete(uri);
    cache.delete(uri);
    published.delete(uri);
    validatedAt.delete(uri);
    void connection.sendDiagnostics({ uri, diagnostics: [] });
  });

  connection.onHover((params) => onDocument('hover', params.textDocument?.uri, null, (a) => hover(a, params.position, settings)));
  connection.onCompletion((params) =>
    onDocument('completion', params.textDocument?.uri, { isIncomplete: false, items: [] }, (a) => completion(a, params.position, { snippets: client.snippets })),
  );
  connection.onCodeLens((params) => onDocument('code lens', params.textDocument?.uri, [], (a) => codeLenses(a, settings, client.commands)));
  connection.onDocumentSymbol((params) =>
    onDocument('document symbols', params.textDocument?.uri, [], (a) => (client.hierarchicalSymbols ? documentSymbols(a) : symbolInformation(a))),
  );
  connection.onDefinition((params) => onDocument('definition', params.textDocument?.uri, [], (a) => definition(a, params.position)));
  connection.onReferences((params) =>
    onDocument('references', params.textDocument?.uri, [], (a) => references(a, params.position, params.context?.includeDeclaration !== false)),
  );
  connection.onPrepareRename((params) => onDocument('prepare rename', params.textDocument?.uri, null, (a) => prepareRename(a, params.position)));
  connection.onRenameRequest((params) => onDocument('rename', params.textDocument?.uri, null, (a) => rename(a, params.position, String(params.newName))));
  connection.onDocumentFormatting((params) => onDocument('formatting', params.textDocument?.uri, [], (a) => formatting(a)));
  connection.onCodeAction((params) => onDocument('code action', params.textDocument?.uri, [], (a) => codeActions(a, params)));

  connection.onShutdown(() => {
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
  });

  documents.listen(connection);
  connection.listen();
}
