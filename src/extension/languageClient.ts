/**
 * The language client: starts the Cellscope language server (dist/server.js,
 * bundled next to dist/extension.js) as a Node child process talking over IPC,
 * and routes every `genotype` document to it. Diagnostics, hovers, code lenses
 * and quick fixes all come from the server; this side only wires them up.
 */
import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { SERVER_NODE_FLAGS } from '../server/nodeFlags.js';

/** What the server learns at start-up about the client. */
export interface CellscopeInitializationOptions {
  /** Client-side commands that code lenses may invoke (only those actually registered). */
  readonly clientCommands: readonly string[];
}

export const LANGUAGE_ID = 'genotype';
export const CONFIGURATION_SECTION = 'cellscope';

export function createLanguageClient(
  context: vscode.ExtensionContext,
  outputChannel: vscode.LogOutputChannel,
  initializationOptions: CellscopeInitializationOptions,
): LanguageClient {
  const module = context.asAbsolutePath('dist/server.js');
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc, options: { execArgv: [...SERVER_NODE_FLAGS] } },
    // The debug variant lets a developer attach to the server process.
    debug: { module, transport: TransportKind.ipc, options: { execArgv: [...SERVER_NODE_FLAGS, '--nolazy', '--inspect=6009'] } },
  };
  const clientOptions: LanguageClientOptions = {
    // `file` and `untitled` documents alike: a pasted genotype in a new editor is checked too.
    documentSelector: [{ language: LANGUAGE_ID }],
    synchronize: { configurationSection: CONFIGURATION_SECTION },
    outputChannel,
    initializationOptions,
  };
  return new LanguageClient('cellscope', 'Cellscope Language Server', serverOptions, clientOptions);
}
