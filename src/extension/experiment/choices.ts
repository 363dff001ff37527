/**
 * The answers Run Wide-vs-Narrow Experiment offers and the `cellscope
 * experiment` arguments they become. No `vscode` here, so the mapping is
 * checked against the CLI's own flag parsing without an editor.
 */
export const SIZES = {
  tiny: {
    label: 'Tiny — synthetic data, minutes on a laptop CPU',
    args: ['--dataset', 'synthetic', '--preset', 'quick', '--epochs', '2', '--channels', '4', '--layers', '3', '--batch', '16', '--train-subset', '128', '--test-subset', '64', '--grad-variance-batches', '2', '--grid', '5', '--subset', '64'],
  },
  quick: { label: 'Quick — CIFAR-10 subsets, preset quick', args: ['--dataset', 'cifar10', '--preset', 'quick', '--grid', '11', '--subset', '500'] },
  // Exactly the paper's landscape: a 51×51 grid over the whole test set (no --subset), variance on the test set.
  paper: { label: 'Paper — CIFAR-10, the authors\' recipe, 51×51 landscapes on the full test set (days on a GPU)', args: ['--dataset', 'cifar10', '--preset', 'paper', '--grid', '51'] },
} as const;
export type ExperimentSize = keyof typeof SIZES;

/**
 * What the experiment compares. `section5` is `--protocol section5`: random
 * connection and operation variants, the adapted cell, three training seeds,
 * the paper's full regularisation, and test error only (no landscapes, so a
 * size's landscape flags are left out: they would turn them back on).
 */
export const PROTOCOLS = {
  'wide-vs-narrow': { label: 'Wide vs narrow (Sections 4.1–4.2)', detail: 'random-connection variants stratified by width: convergence, loss landscapes, gradient variance', args: [] as string[] },
  section5: { label: 'Generalisation (Section 5)', detail: 'connection and operation variants, the adapted cell, 3 training seeds, cutout + auxiliary head + drop path: test error per kind', args: ['--protocol', 'section5'] },
} as const;
export type ExperimentProtocolChoice = keyof typeof PROTOCOLS;
const LANDSCAPE_SIZE_FLAGS = new Set(['--grid', '--subset']);

/** The CLI arguments of a size under a protocol. */
export function experimentArgs(protocol: ExperimentProtocolChoice, size: ExperimentSize): string[] {
  const sized: string[] = [...SIZES[size].args];
  const out: string[] = [...PROTOCOLS[protocol].args];
  for (let i = 0; i < sized.length; i += 2) {
    if (protocol === 'section5' && LANDSCAPE_SIZE_FLAGS.has(sized[i]!)) continue;
    out.push(sized[i]!, sized[i + 1]!);
  }
  return out;
}
