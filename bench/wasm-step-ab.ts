/**
 * Wall and CPU time of one wasm training step (DARTS_V2 or `--genotype`,
 * C=16, 8 cells, batch 64, 32×32: the step of bench/train-throughput.ts) at two git
 * revisions, alternating: each revision's src/ and bench/ are extracted with
 * `git archive` under .cache/tree-<sha>/ and each run is a fresh process
 * (one warm-up step, then `--steps` timed). On a shared machine compare the
 * CPU times (wall time also counts other processes' turns) and the runs of
 * one round with each other.
 *
 *   npx tsx bench/wasm-step-ab.ts --before d157bc7 [--after HEAD] [--rounds 3] [--steps 3] [--genotype DARTS_V2]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The child: times steps with its own tree's kernels; prints one JSON line. */
const STEP_ONCE = `import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { builtin } from '../src/genotype/library.js';
import { selectBackend } from '../src/train/backend.js';
import { syncTrainingStep } from './syncStep.js';
void (async () => {
  await selectBackend('wasm');
  const { step, dispose } = syncTrainingStep(builtin(process.argv[3]!)!.genotype, { channels: 16, layers: 8, batch: 64, size: 32 });
  step();
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < Number(process.argv[2]); i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    step();
    const c = process.cpuUsage(c0);
    wall.push(performance.now() - t0);
    cpu.push((c.user + c.system) / 1000);
  }
  dispose();
  console.log(JSON.stringify({ wall, cpu, tensors: tf.memory().numTensors }));
})();
`;

function parseArgs(argv: string[]): { before: string; after: string; rounds: number; steps: number; genotype: string } {
  const args = { before: '', after: 'HEAD', rounds: 3, steps: 3, genotype: 'DARTS_V2' };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!.replace(/^--/, ''), argv[i + 1]];
    if (!(flag in args) || value === undefined) throw new Error(`unknown flag or missing value: ${argv[i]}`);
    (args as Record<string, string | number>)[flag] = flag === 'rounds' || flag === 'steps' ? Number(value) : value;
  }
  if (args.before === '') throw new Error('--before <revision> is required');
  return args;
}

function tree(rev: string): { sha: string; script: string } {
  const sha = execFileSync('git', ['rev-parse', '--short', rev], { encoding: 'utf8' }).trim();
  const dir = resolve('.cache', `tree-${sha}`);
  if (!existsSync(join(dir, 'bench/syncStep.ts'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-x', '-C', dir], { input: execFileSync('git', ['archive', sha, 'src', 'bench'], { maxBuffer: 1 << 28 }) });
  }
  const script = join(dir, 'bench', 'step-once.ts');
  writeFileSync(script, STEP_ONCE);
  return { sha, script };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const revs = [tree(args.before), tree(args.after)];
  const all = new Map(revs.map((r) => [r.sha, { wall: [] as number[], cpu: [] as number[] }]));
  for (let round = 0; round < args.rounds; round++) {
    for (const r of round % 2 === 0 ? revs : [...revs].reverse()) {
      const before = load();
      const out = execFileSync('npx', ['tsx', r.script, String(args.steps), args.genotype], { encoding: 'utf8' }).trim().split('\n').pop()!;
      const { wall, cpu } = JSON.parse(out) as { wall: number[]; cpu: number[] };
      all.get(r.sha)!.wall.push(...wall);
      all.get(r.sha)!.cpu.push(...cpu);
      const s = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join(' ');
      console.log(`round ${round + 1} ${r.sha}: wall ${s(wall)} s, cpu ${s(cpu)} s (load ${before} → ${load()})`);
    }
  }
  const [b, a] = revs.map((r) => all.get(r.sha)!);
  console.log(`median s/step: ${revs[0]!.sha} wall ${(median(b!.wall) / 1000).toFixed(2)} cpu ${(median(b!.cpu) / 1000).toFixed(2)}; ` +
    `${revs[1]!.sha} wall ${(median(a!.wall) / 1000).toFixed(2)} cpu ${(median(a!.cpu) / 1000).toFixed(2)}; ` +
    `cpu ratio ${(median(b!.cpu) / median(a!.cpu)).toFixed(2)}×, wall ratio ${(median(b!.wall) / median(a!.wall)).toFixed(2)}×`);
}

main();
