/** The registry of `cellscope` subcommands, in the order `cellscope help` lists them. */
import type { Command } from '../command.js';
import { diagramCommand } from './diagram.js';
import { lspCommand } from './lsp.js';

export const allCommands: Command[] = [diagramCommand, lspCommand];
