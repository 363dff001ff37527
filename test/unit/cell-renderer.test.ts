import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { builtin } from '../../src/genotype/library.js';
import type { Cell, Genotype } from '../../src/genotype/model.js';
import { renderGenotypeSvg } from '../../src/render/cellSvg.js';
import { CellRenderer, INLINE_NODES } from '../../src/extension/cellRenderer.js';

// The cell panel's renderer: big cells are drawn in a worker thread, so that
// the extension host's event loop (the editor) keeps turning meanwhile.

const workerScript = join(__dirname, '..', '..', 'dist', 'cellRenderWorker.js');

function chainCell(m: number): Cell {
  const edges = [];
  for (let node = 2; node < 2 + m; node++) edges.push({ op: 'sep_conv_3x3', input: node - 1 }, { op: 'skip_connect', input: node - 2 });
  return { edges, concat: [m + 1] };
}

const big = (m: number): Genotype => ({ normal: chainCell(m), reduce: builtin('DARTS_V2')!.genotype.reduce });

test('a big cell is drawn off the calling thread: its event loop keeps turning, and the drawing is the renderer\'s', async () => {
  assert.ok(existsSync(workerScript), `${workerScript} is built by npm run build`);
  const renderer = new CellRenderer(workerScript);
  try {
    const genotype = big(400);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const svgs = await renderer.render([{ genotype, options: { title: 'big' } }]);
    clearInterval(timer);
    // Laying out 400 nodes takes far longer than a few 5 ms ticks; inline, none would fire before it ends.
    assert.ok(ticks > 0, 'the event loop turned while the cell was drawn');
    assert.equal(svgs?.[0], renderGenotypeSvg(genotype, { title: 'big' }));
  } finally {
    renderer.dispose();
  }
});

test('a later call supersedes a big drawing in progress, which resolves to undefined', async () => {
  const renderer = new CellRenderer(workerScript);
  try {
    const first = renderer.render([{ genotype: big(400), options: {} }]);
    const second = renderer.render([{ genotype: big(60), options: { title: 'second' } }]);
    assert.equal(await first, undefined);
    assert.equal((await second)?.[0], renderGenotypeSvg(big(60), { title: 'second' }));
  } finally {
    renderer.dispose();
  }
});

test('published cells are drawn inline, as before', async () => {
  // No worker script: inline drawing never needs it.
  const renderer = new CellRenderer(join(__dirname, 'no-such-worker.js'));
  const genotype = builtin('DARTS_V2')!.genotype;
  const svgs = await renderer.render([{ genotype, options: { title: 'DARTS_V2' } }, { genotype: big(INLINE_NODES), options: {} }]);
  assert.deepEqual(svgs, [renderGenotypeSvg(genotype, { title: 'DARTS_V2' }), renderGenotypeSvg(big(INLINE_NODES), {})]);
  renderer.dispose();
});

test('a worker that cannot start rejects the drawing instead of leaving it pending', async () => {
  const renderer = new CellRenderer(join(__dirname, 'no-such-worker.js'));
  try {
    await assert.rejects(renderer.render([{ genotype: big(60), options: {} }]), /no-such-worker|Cannot find module/);
  } finally {
    renderer.dispose();
  }
});
