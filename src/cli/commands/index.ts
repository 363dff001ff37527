/** The registry of `cellscope` subcommands, in the order `cellscope help` lists them. */
import type { Command } from '../command.js';
import { checkCommand } from './check.js';
import { diagramCommand } from './diagram.js';
import { libraryCommand } from './library.js';
import { lspCommand } from './lsp.js';
import { metricsCommand } from './metrics.js';
import { variantsCommand } from './variants.js';
import { trainCommand } from './train.js';
import { runsCommand } from './runs.js';
import { resumeCommand } from './resume.js';
import { cancelCommand } from './cancel.js';
import { adaptersCommand } from './adapters.js';
import { landscapeCommand } from './landscape.js';
import { experimentCommand } from './experiment.js';
import { hessianCommand } from './hessian.js';
import { reportCommand } from './report.js';
import { gpuCommand } from './gpu.js';

export const allCommands: Command[] = [checkCommand, metricsCommand, variantsCommand, libraryCommand, diagramCommand, lspCommand, trainCommand, runsCommand, resumeCommand, cancelCommand, landscapeCommand, hessianCommand, experimentCommand, reportCommand, adaptersCommand, gpuCommand];
