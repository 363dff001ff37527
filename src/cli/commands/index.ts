/** The registry of `cellscope` subcommands, in the order `cellscope help` lists them. */
import type { Command } from '../command.js';

export const allCommands: Command[] = [];
