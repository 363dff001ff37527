// `npm run demo`: the paper's wide-vs-narrow experiment for DARTS_V2, small
// enough for a 2-core CPU: the original cell and six random-connection
// variants, three of normal-cell width 2c and three of 3.5c (the ends of the
// paper's DARTS figures), a small network (C = 4, 3 cells) for 3 epochs on
// 1,000 Fashion-MNIST images (Debian's dataset-fashion-mnist; the embedded
// synthetic set when it is not installed), loss landscapes, gradient-variance
// surfaces and the Hessian probe on a 7×7 grid, then the report, whose
// "Narrowest against widest" paragraph says how far the two groups' training
// losses are apart against their seed-to-seed spread (or that they are not).
// The sizes were chosen on the PyTorch reference network (test/reference):
// 3 epochs, lr 0.05, batch 32 separated the 2c and 3.5c groups' training loss
// by 0.14 against a spread of 0.06 there. The last line printed is the report.
//
// Progress is printed as it happens (the phases here, each epoch by the
// trainer itself on stderr). The trainer runs on wasm, so no GPU
// library is loaded (and none prints its warnings).
//
// CELLSCOPE_DEMO=ci (or --ci) shrinks everything for CI (seconds);
// --dir DIR chooses the folder (default demo-experiment). Running it again
// continues a stopped demo rather than starting over.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const argv = process.argv.slice(2);
const ci = argv.includes('--ci') || process.env.CELLSCOPE_DEMO === 'ci';
const dirFlag = argv.indexOf('--dir');
const dir = resolve(dirFlag >= 0 ? argv[dirFlag + 1] : ci ? 'demo-experiment-ci' : 'demo-experiment');
const fashion = existsSync('/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz');

const preset = ci
  ? { dataset: 'synthetic', variants: 2, widths: '2,3.5', epochs: 1, channels: 4, layers: 3, batch: 16, lr: 0.05, train: 64, test: 32, grid: 3, subset: 32, hessian: 2, trace: 1 }
  : { dataset: fashion ? 'fashion-mnist' : 'synthetic', variants: 6, widths: '2,3.5', epochs: 3, channels: 4, layers: 3, batch: 32, lr: 0.05, train: 1000, test: 500, grid: 7, subset: 200, hessian: 8, trace: 2 };
if (!ci && !fashion) console.error('Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist): using the embedded synthetic set, on which the sizes were not tuned');

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
  '--widths', preset.widths,
  '--dataset', preset.dataset,
  '--preset', 'quick',
  '--epochs', String(preset.epochs),
  '--channels', String(preset.channels),
  '--layers', String(preset.layers),
  '--batch', String(preset.batch),
  '--lr', String(preset.lr),
  '--train-subset', String(preset.train),
  '--test-subset', String(preset.test),
  '--grad-variance-batches', '2',
  '--grid', String(preset.grid),
  '--subset', String(preset.subset),
  '--what', 'loss,variance',
  '--hessian-iterations', String(preset.hessian),
  '--trace-samples', String(preset.trace),
  '--backend', 'wasm',
  '--dir', dir,
];
console.error(`cellscope ${args.slice(1).join(' ')}`);
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
// Progress lines (JSON on stdout) are summarised as they come; the trainer's messages go through on stderr.
const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
let last = '';
let current = '';
createInterface({ input: child.stdout }).on('line', (line) => {
  if (!line.startsWith('{')) {
    if (line.trim() !== '') last = line;
    return;
  }
  let p;
  try {
    p = JSON.parse(line);
  } catch {
    return;
  }
  if (p.type === 'experiment' && (p.phase === 'train' || p.phase === 'landscape' || p.phase === 'hessian')) {
    current = `[${p.phase} ${p.index}/${p.total}] ${p.name}`;
    console.error(`${current} (${elapsed()})`);
  } else if (p.type === 'landscape' && p.status === 'completed') {
    console.error(`    landscape: ${p.total} points (${elapsed()})`);
  }
});
child.on('close', (code) => {
  if (code !== 0) {
    console.error(`the experiment stopped (exit ${code}); run the demo again to continue`);
    process.exit(code ?? 1);
  }
  console.error(`done in ${elapsed()}`);
  // The report path: the experiment's last stdout line.
  console.log(last);
});
