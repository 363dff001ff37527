/**
 * Extension entry point (bundled to dist/extension.js). Registers the
 * client-side commands first, then starts the language client and tells the
 * server which of those commands its code lenses may invoke.
 */
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { registerCellPanel } from './cellPanel.js';
import { registerExperiment } from './experiment/index.js';
import { exposeEngineFolder, registerGpuSupport } from './gpu/index.js';
import { createLanguageClient } from './languageClient.js';
import { registerTraining } from './runs/index.js';
import { registerSampleVariants } from './sampleVariants.js';

/** Commands of this extension that a server code lens may name. */
const LENS_COMMANDS = ['cellscope.showCell', 'cellscope.sampleVariants', 'cellscope.train'] as const;

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Cellscope', { log: true });
  context.subscriptions.push(output);
  output.info(`Cellscope ${String(context.extension.packageJSON.version)} activating`);

  // Registrations go here, before the client starts, so the list below sees them.
  context.subscriptions.push(registerSampleVariants());
  registerCellPanel(context);
  // Before any trainer starts: they find the engines installed from here through it.
  exposeEngineFolder(context);
  const runs = registerTraining(context, output);
  context.subscriptions.push(registerGpuSupport(context, output, runs));
  registerExperiment(context, output);

  // Only advertise lens commands that exist: a lens naming a missing command fails when clicked.
  const registered = new Set(await vscode.commands.getCommands(true));
  const clientCommands = LENS_COMMANDS.filter((c) => registered.has(c));

  client = createLanguageClient(context, output, { clientCommands });
  try {
    await client.start();
    output.info(`language server started; client commands: ${clientCommands.join(', ') || '(none)'}`);
  } catch (err) {
    // Keep the commands working even when the server cannot start; say why in the output channel.
    output.error(`language server failed to start: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function deactivate(): Promise<void> {
  const c = client;
  client = undefined;
  if (c) await c.stop();
}
