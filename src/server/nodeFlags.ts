/**
 * The node flags the language server process runs with: the VS Code client
 * forks dist/server.js with them, and `cellscope lsp` starts itself again with
 * them when they are missing.
 *
 * Why: analysing a file builds its whole syntax tree at once (about 12 MB for
 * 1,000 genotypes), all of it live until the analysis ends. With node's
 * default 16 MB semi-spaces nearly every such analysis fills the young
 * generation, and the scavenge then copies the live tree (6–9 ms) and promotes
 * it to the old generation, which a later mark-compact has to clean up. With
 * 32 MB semi-spaces an analysis fits, and the tree it replaces dies young.
 * bench/diagnostics-latency.ts measures both.
 */
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=32'];

function flagName(flag: string): string {
  const eq = flag.indexOf('=');
  return (eq < 0 ? flag : flag.slice(0, eq)).replace(/_/g, '-');
}

/**
 * Whether a process started with `execArgv` and `NODE_OPTIONS` sets every
 * flag SERVER_NODE_FLAGS sets (to any value: a user's own choice is kept).
 */
export function hasServerNodeFlags(execArgv: readonly string[], nodeOptions = ''): boolean {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/)].filter((a) => a.startsWith('--')).map(flagName));
  return SERVER_NODE_FLAGS.every((flag) => given.has(flagName(flag)));
}
