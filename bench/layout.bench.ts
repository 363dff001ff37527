/**
 * How long laying out a cell diagram takes per size, against the old layout
 * (dagre alone: network simplex, its crossing minimisation, order
 * constraints between every pair of intermediate nodes) measured in the same
 * run. The old src/render/layout.ts is taken from git at OLD_COMMIT and
 * imported beside the new one; both get the spec the cell renderer builds
 * (cellLayoutSpec). Cells: random connections (each input drawn uniformly
 * from the earlier nodes, as the paper's samplers do), every intermediate node in
 * the concat (as DARTS), operations drawn from the DARTS primitives.
 * The old layout is only timed up to --old-max nodes (it takes minutes past
 * a few hundred, and overflows the stack at 10,000).
 * Run: node --import tsx bench/layout.bench.ts [--sizes 25,50,100,200,400,1000,2000] [--old-max 400]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cell } from '../src/genotype/model.js';
import { cellGraph, cellLayoutSpec } from '../src/render/cellSvg.js';
import { type LayoutSpec, layoutGraph } from '../src/render/layout.js';
import { mulberry32 } from '../src/shared/mulberry32.js';

/** The last commit with the old layout (before "Cell layout scales"). */
const OLD_COMMIT = '4b241ed';
const OPS = ['sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect'];

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
}
const sizes = flag('sizes', '25,50,100,200,400,1000,2000').split(',').map(Number);
const oldMax = Number(flag('old-max', '400'));

function randomCell(m: number, seed: number): Cell {
  const r = mulberry32(seed);
  const edges = [];
  for (let node = 2; node < 2 + m; node++) for (let k = 0; k < 2; k++) edges.push({ op: OPS[Math.floor(r() * OPS.length)]!, input: Math.floor(r() * node) });
  return { edges, concat: Array.from({ length: m }, (_, i) => i + 2) };
}

async function oldLayout(): Promise<((spec: LayoutSpec) => unknown) | undefined> {
  try {
    const text = execFileSync('git', ['show', `${OLD_COMMIT}:src/render/layout.ts`], { encoding: 'utf8' });
    // Under node_modules, so that its own imports (dagre) resolve as in the repository.
    const dir = join(__dirname, '..', 'node_modules', '.cache', 'cellscope-bench');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `layout-${OLD_COMMIT}.ts`);
    writeFileSync(file, text);
    return ((await import(file)) as { layoutGraph: (spec: LayoutSpec) => unknown }).layoutGraph;
  } catch (error) {
    console.log(`(old layout not available: ${error instanceof Error ? error.message.split('\n')[0] : String(error)})`);
    return undefined;
  }
}

function time(run: () => unknown): number {
  const t0 = performance.now();
  run();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  const old = await oldLayout();
  // Warm both up on a small cell (JIT, module loading).
  const warm = cellLayoutSpec(cellGraph(randomCell(8, 99)));
  for (let i = 0; i < 5; i++) {
    layoutGraph(warm);
    old?.(warm);
  }
  console.log('intermediate nodes   new ms   old ms   old/new');
  for (const m of sizes) {
    const spec = cellLayoutSpec(cellGraph(randomCell(m, m)));
    const fresh = time(() => layoutGraph(spec));
    const before = old && m <= oldMax ? time(() => old(spec)) : undefined;
    const ratio = before !== undefined ? `${(before / fresh).toFixed(1)}×` : '—';
    console.log(`${String(m).padStart(18)}  ${fresh.toFixed(0).padStart(7)}  ${(before?.toFixed(0) ?? '—').padStart(7)}  ${ratio.padStart(8)}`);
  }
}

void main();
