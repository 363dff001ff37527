import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LIBRARY, builtin } from '../../src/genotype/library.js';
import type { Cell, Genotype } from '../../src/genotype/model.js';
import { renderCellSvg, renderGenotypeSvg } from '../../src/render/cellSvg.js';

// A small reader for the renderer's output: every element's start tag with its
// attributes, in document order, plus the cell group each one sits in.
interface Tag {
  readonly name: string;
  readonly attrs: Record<string, string>;
  readonly cell?: string;
}

function unescape(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

function tags(svg: string): Tag[] {
  const out: Tag[] = [];
  let cell: string | undefined;
  let depth = 0;
  let cellDepth = -1;
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>/g)) {
    const [, closing, name, rawAttrs, selfClosing] = m;
    if (closing) {
      depth--;
      if (depth === cellDepth) {
        cell = undefined;
        cellDepth = -1;
      }
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of rawAttrs!.matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]!] = unescape(a[2]!);
    if (attrs['data-cell'] !== undefined) {
      cell = attrs['data-cell'];
      cellDepth = depth;
    }
    out.push({ name: name!, attrs, ...(cell !== undefined ? { cell } : {}) });
    if (!selfClosing) depth++;
  }
  return out;
}

/** Entry edges of one cell as 'from>to:op' strings, sorted. */
function entryEdges(svg: string, cell: string): string[] {
  return tags(svg)
    .filter((t) => t.cell === cell && t.attrs['data-op'] !== undefined)
    .map((t) => `${t.attrs['data-from']}>${t.attrs['data-to']}:${t.attrs['data-op']}`)
    .sort();
}

/** Nodes feeding c_{k}, sorted numerically. */
function concatEdges(svg: string, cell: string): number[] {
  return tags(svg)
    .filter((t) => t.cell === cell && t.attrs['data-to'] === 'out')
    .map((t) => Number(t.attrs['data-from']))
    .sort((a, b) => a - b);
}

function allEdgeTags(svg: string, cell: string): Tag[] {
  return tags(svg).filter((t) => t.cell === cell && t.attrs['data-from'] !== undefined);
}

/** The edges a cell must have, computed from the DARTS rule: entries 2i and 2i+1 feed node i+2. */
function expectedEdges(cell: Cell): string[] {
  return cell.edges.map((e, i) => `${e.input}>${2 + Math.floor(i / 2)}:${e.op}`).sort();
}

function cellOfLib(name: string, kind: 'normal' | 'reduce'): Cell {
  return builtin(name)!.genotype[kind];
}

test('every built-in cell has exactly its entries as edges and only its concat nodes feed c_{k}', () => {
  for (const entry of LIBRARY) {
    const svg = renderGenotypeSvg(entry.genotype, { title: entry.name });
    for (const kind of ['normal', 'reduce'] as const) {
      const cell = entry.genotype[kind];
      assert.deepEqual(entryEdges(svg, kind), expectedEdges(cell), `${entry.name} ${kind}`);
      assert.deepEqual(concatEdges(svg, kind), [...new Set(cell.concat)].sort((a, b) => a - b), `${entry.name} ${kind}`);
      // No other edges: every edge is an entry or a concat connection.
      assert.equal(allEdgeTags(svg, kind).length, cell.edges.length + new Set(cell.concat).size, `${entry.name} ${kind}`);
      const nodes = tags(svg)
        .filter((t) => t.cell === kind && t.attrs['data-node'] !== undefined && t.attrs['class']?.includes('cs-node'))
        .map((t) => t.attrs['data-node']);
      const m = cell.edges.length / 2;
      assert.deepEqual(nodes.sort(), ['0', '1', ...Array.from({ length: m }, (_, i) => String(i + 2)), 'out'].sort(), `${entry.name} ${kind}`);
    }
  }
});

test('a loose-end concat (NASNet reduction, concat 4,5,6) does not wire nodes 2 and 3 to c_{k}, and they are not dead', () => {
  const cell = cellOfLib('NASNet', 'reduce');
  const svg = renderCellSvg(cell, 'reduce');
  assert.deepEqual(concatEdges(svg, 'reduce'), [4, 5, 6]);
  const node = (n: string): Tag => tags(svg).find((t) => t.attrs['data-node'] === n)!;
  assert.equal(node('2').attrs['data-dead'], undefined);
  assert.equal(node('3').attrs['data-dead'], undefined);
  assert.doesNotMatch(svg, /cs-note-dead/);
});

test('dead nodes are faded, their edges too, and the note names them', () => {
  // DARTS_V2 normal with node 3 feeding only node 4, and 4 left out of the concat: 3 and 4 are dead.
  const base = cellOfLib('DARTS_V2', 'normal');
  const edges = base.edges.map((e, i) => (i === 4 ? { op: 'sep_conv_3x3', input: 3 } : i === 6 ? { op: 'skip_connect', input: 0 } : e));
  const cell: Cell = { edges, concat: [2, 5] };
  const svg = renderCellSvg(cell, 'normal');
  const t = tags(svg);
  const deadNodes = t.filter((x) => x.attrs['data-node'] !== undefined && x.attrs['data-dead'] === 'true').map((x) => x.attrs['data-node']);
  assert.deepEqual(deadNodes.sort(), ['3', '4']);
  for (const e of t.filter((x) => x.attrs['data-op'] !== undefined)) {
    const intoDead = e.attrs['data-to'] === '3' || e.attrs['data-to'] === '4';
    assert.equal(e.attrs['class']!.split(' ').includes('cs-dead'), intoDead, `${e.attrs['data-from']}>${e.attrs['data-to']}`);
    assert.equal(e.attrs['opacity'] !== undefined, intoDead);
  }
  assert.match(svg, /dead nodes 3, 4/);
  assert.deepEqual(concatEdges(svg, 'normal'), [2, 5]);
});

test('captions show the paper\'s published width and depth of the normal cells', () => {
  const published: Array<[string, string, number]> = [
    ['NASNet', '5c', 2],
    ['AmoebaNet', '4c', 4],
    ['ENAS', '5c', 2],
    ['DARTS_V2', '3.5c', 3],
    ['SNAS_MILD', '4c', 2],
  ];
  for (const [name, width, depth] of published) {
    const svg = renderCellSvg(cellOfLib(name, 'normal'), 'normal');
    assert.match(svg, new RegExp(`width ${width.replace('.', '\\.')} · depth ${depth}<`), name);
  }
});

test('the highlighted longest path runs from an input to c_{k} with as many connections as the depth', () => {
  const published: Array<[string, number]> = [
    ['NASNet', 2],
    ['AmoebaNet', 4],
    ['DARTS_V2', 3],
    ['ENAS', 2],
  ];
  for (const [name, depth] of published) {
    const svg = renderCellSvg(cellOfLib(name, 'normal'), 'normal');
    const onPath = allEdgeTags(svg, 'normal').filter((t) => t.attrs['data-longest'] === 'true');
    assert.equal(onPath.length, depth, name);
    // The edges chain: exactly one starts at an input, each next one starts where the last ended, the last ends at out.
    const byFrom = new Map(onPath.map((t) => [t.attrs['data-from']!, t.attrs['data-to']!]));
    assert.equal(byFrom.size, depth, `${name}: one edge per step`);
    const starts = [...byFrom.keys()].filter((k) => k === '0' || k === '1');
    assert.equal(starts.length, 1, name);
    let at: string = starts[0]!;
    for (let i = 0; i < depth; i++) at = byFrom.get(at)!;
    assert.equal(at, 'out', name);
  }
});

test('edges carry their operation family, and the legend names every family', () => {
  const svg = renderGenotypeSvg(builtin('AmoebaNet')!.genotype);
  const families = new Map<string, string>();
  for (const t of tags(svg)) if (t.attrs['data-op']) families.set(t.attrs['data-op'], t.attrs['data-family']!);
  assert.equal(families.get('sep_conv_7x7'), 'sep_conv');
  assert.equal(families.get('max_pool_3x3'), 'pool');
  assert.equal(families.get('skip_connect'), 'skip');
  assert.equal(families.get('conv_7x1_1x7'), 'other');
  for (const label of ['separable conv', 'dilated conv', 'pooling', 'skip', 'other', 'longest path', 'dead node']) {
    assert.ok(svg.includes(`>${label}<`), label);
  }
});

test('text is escaped and output is deterministic', () => {
  const g: Genotype = {
    normal: { edges: [{ op: 'x<y&"z"', input: 0 }, { op: 'sep_conv_3x3', input: 1 }], concat: [2] },
    reduce: { edges: [{ op: 'max_pool_3x3', input: 0 }, { op: 'max_pool_3x3', input: 1 }], concat: [2] },
  };
  const svg = renderGenotypeSvg(g, { title: '<script>alert(1)</script>' });
  assert.doesNotMatch(svg, /<script/);
  assert.match(svg, /&lt;script&gt;/);
  assert.ok(svg.includes('data-op="x&lt;y&amp;&quot;z&quot;"'));
  assert.deepEqual(entryEdges(svg, 'normal'), ['0>2:x<y&"z"', '1>2:sep_conv_3x3']);
  assert.equal(renderGenotypeSvg(g, { title: '<script>alert(1)</script>' }), svg);
});

test('entries whose input is not a node are left out and named, concat items naming no node too', () => {
  const cell: Cell = {
    edges: [
      { op: 'sep_conv_3x3', input: 0 },
      { op: 'sep_conv_3x3', input: 9 },
      { op: 'skip_connect', input: 3 },
      { op: 'skip_connect', input: 2 },
    ],
    concat: [2, 3, 7],
  };
  const svg = renderCellSvg(cell, 'normal');
  assert.deepEqual(entryEdges(svg, 'normal'), ['0>2:sep_conv_3x3', '2>3:skip_connect']);
  assert.deepEqual(concatEdges(svg, 'normal'), [2, 3]);
  assert.match(svg, /entry 1 not drawn: input 9 is not a node/);
  assert.match(svg, /entry 2 not drawn: node 3 cannot take itself/);
  assert.match(svg, /concat 7 not drawn/);
});

test('comparing marks exactly the entries and concat items that differ', () => {
  const original = builtin('DARTS_V2')!.genotype;
  // Change entry 3's op, swap node 2's two entries (not a difference), and drop 5 from the reduce concat.
  const n = original.normal.edges;
  const variant: Genotype = {
    normal: { edges: [n[1]!, n[0]!, n[2]!, { op: 'max_pool_3x3', input: n[3]!.input }, ...n.slice(4)], concat: original.normal.concat },
    reduce: { edges: original.reduce.edges, concat: [2, 3, 4] },
  };
  const svg = renderGenotypeSvg(variant, { compareWith: original, compareName: 'DARTS_V2' });
  const marked = tags(svg).filter((t) => t.attrs['data-diff'] !== undefined);
  assert.deepEqual(
    marked.map((t) => `${t.cell}:${t.attrs['data-entry'] ?? 'concat'}:${t.attrs['data-diff']}`),
    ['normal:3:op'],
  );
  assert.match(svg, /differs from DARTS_V2: concat −5/);
  // Seen from the original, the reduce concat has one more node, drawn as a difference.
  const back = renderGenotypeSvg(original, { compareWith: variant });
  const backMarked = tags(back).filter((t) => t.attrs['data-diff'] !== undefined);
  assert.deepEqual(backMarked.map((t) => `${t.cell}:${t.attrs['data-from']}>${t.attrs['data-to']}:${t.attrs['data-diff']}`), [
    'normal:1>3:op',
    'reduce:5>out:concat',
  ]);
  const same = renderGenotypeSvg(original, { compareWith: original });
  assert.equal(tags(same).filter((t) => t.attrs['data-diff'] !== undefined).length, 0);
});

interface Rect {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly what: string;
}

/** Label boxes and node boxes of one cell drawing (a lone cell: no transforms inside the cell group). */
function boxes(svg: string): Rect[] {
  const out: Rect[] = [];
  let owner = '';
  for (const t of tags(svg)) {
    if (t.attrs['class']?.startsWith('cs-label') || t.attrs['class']?.startsWith('cs-node')) {
      owner = t.attrs['data-entry'] !== undefined ? `label ${t.attrs['data-entry']}` : `node ${t.attrs['data-node']}`;
      if (t.attrs['data-entry'] === undefined && t.attrs['data-node'] === undefined) owner = '';
      continue;
    }
    if (t.name === 'rect' && owner !== '' && t.cell !== undefined) {
      out.push({ x: Number(t.attrs['x']), y: Number(t.attrs['y']), w: Number(t.attrs['width']), h: Number(t.attrs['height']), what: owner });
      owner = '';
    }
  }
  return out;
}

function overlap(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

test('no label overlaps another label or a node, for every built-in cell and a 7-node cell', () => {
  const seven: Cell = {
    edges: [
      ['sep_conv_3x3', 0], ['sep_conv_5x5', 1], ['dil_conv_3x3', 0], ['skip_connect', 2], ['max_pool_3x3', 1], ['avg_pool_3x3', 3],
      ['sep_conv_3x3', 2], ['dil_conv_5x5', 4], ['conv_7x1_1x7', 0], ['sep_conv_7x7', 5], ['skip_connect', 3], ['sep_conv_5x5', 6],
      ['none', 1], ['max_pool_3x3', 7],
    ].map(([op, input]) => ({ op: op as string, input: input as number })),
    concat: [2, 5, 6, 8],
  };
  const wide: Cell = { edges: seven.edges.map((e, i) => ({ op: e.op, input: i % 2 })), concat: [2, 3, 4, 5, 6, 7, 8] };
  const cells: Array<[string, Cell]> = [['seven', seven], ['seven-wide', wide]];
  for (const entry of LIBRARY) for (const kind of ['normal', 'reduce'] as const) cells.push([`${entry.name} ${kind}`, entry.genotype[kind]]);
  for (const [name, cell] of cells) {
    const b = boxes(renderCellSvg(cell, 'normal', { legend: false }));
    assert.equal(b.length, cell.edges.length + 2 + cell.edges.length / 2 + 1, `${name}: all boxes found`);
    for (let i = 0; i < b.length; i++) {
      for (let j = i + 1; j < b.length; j++) {
        assert.ok(!overlap(b[i]!, b[j]!), `${name}: ${b[i]!.what} overlaps ${b[j]!.what}`);
      }
    }
  }
});
