// `npm run demo`: the paper's wide-vs-narrow experiment for DARTS_V2 on the
// embedded synthetic dataset, small enough for a 2-core laptop CPU in about
// ten minutes: the original cell and three random-connection variants of
// different normal-cell widths, a small network for a few epochs, loss
// landscapes and gradient-variance surfaces on a 7×7 grid, and the report.
// The last line printed is the report's path.
//
// CELLSCOPE_DEMO=ci (or --ci) shrinks everything further for CI (a minute or
// two); --dir DIR chooses the folder (default demo-experiment). Running it
// again continues a stopped demo rather than starting over.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

const argv = process.argv.slice(2);
const ci = argv.includes('--ci') || process.env.CELLSCOPE_DEMO === 'ci';
const dirFlag = argv.indexOf('--dir');
const dir = resolve(dirFlag >= 0 ? argv[dirFlag + 1] : ci ? 'demo-experiment-ci' : 'demo-experiment');

const preset = ci
  ? { variants: 1, epochs: 1, channels: 4, layers: 3, batch: 16, train: 64, test: 32, grid: 3, subset: 32 }
  : { variants: 3, epochs: 3, channels: 4, layers: 3, batch: 32, train: 320, test: 100, grid: 7, subset: 100 };

const cli = resolve('dist/cli.js');
if (!argv.includes('--no-build') || !existsSync(cli)) {
  const build = spawnSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
}

const args = [
  cli,
  'experiment',
  'DARTS_V2',
  '--variants', String(preset.variants),
  '--dataset', 'synthetic',
  '--preset', 'quick',
  '--epochs', String(preset.epochs),
  '--channels', String(preset.channels),
  '--layers', String(preset.layers),
  '--batch', String(preset.batch),
  '--train-subset', String(preset.train),
  '--test-subset', String(preset.test),
  '--grad-variance-batches', '2',
  '--grid', String(preset.grid),
  '--subset', String(preset.subset),
  '--what', 'loss,variance',
  '--dir', dir,
];
console.error(`cellscope ${args.slice(1).join(' ')}`);
const started = Date.now();
// Progress lines (JSON on stdout) are summarised; the trainer's messages go through on stderr.
const run = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
const lines = (run.stdout ?? '').split('\n').filter((l) => l.trim() !== '');
for (const line of lines) {
  if (!line.startsWith('{')) continue;
  const p = JSON.parse(line);
  if (p.type === 'experiment' && (p.phase === 'train' || p.phase === 'landscape')) console.error(`[${p.phase} ${p.index}/${p.total}] ${p.name}`);
}
if (run.status !== 0) {
  console.error(`the experiment stopped (exit ${run.status}); run the demo again to continue`);
  process.exit(run.status ?? 1);
}
console.error(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
// The report path: the experiment's last stdout line.
console.log(lines.at(-1));
