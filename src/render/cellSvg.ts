/**
 * Genotype → SVG, as text and without a DOM, for the cell panel, the
 * `cellscope diagram` command and reports. A cell is drawn left to right like
 * the field's figures: c_{k-2} and c_{k-1} on the left, the intermediate nodes,
 * and c_{k} on the right fed by the concat nodes only (the DARTS graphviz
 * script wires every intermediate node to the output; that is wrong for
 * NASNet-style concats). Edges are labelled with their operation and coloured
 * and dashed by operation family; dead nodes are faded and named; the longest
 * path (the paper's depth) is highlighted.
 *
 * Structure is part of the interface: the cell group carries `data-cell`
 * (normal/reduce), nodes `data-node` (0, 1, 2… as in the genotype, `out` for
 * c_{k}), edges `data-from`, `data-to` and either `data-op` + `data-entry`
 * (an entry of the cell list) or `data-concat` (an index into the concat).
 * The panel maps these to source spans; tests read them to check the graph.
 *
 * Colours are presentation attributes (a light print palette), so a file
 * stands alone; the panel's stylesheet overrides them by class to follow the
 * editor theme. Output is deterministic: same input → same string.
 */
import { deadNodes } from '../genotype/graph.js';
import { cellDepth, cellWidth, formatWidth, longestPath } from '../genotype/metrics.js';
import { type Cell, type CellKind, type Genotype, intermediateCount, nodeOfEntry } from '../genotype/model.js';
import { type OpFamily, opFamily } from '../genotype/ops.js';
import { type CellDiff, type EntryDiff, cellDiffCount, diffCells } from './diff.js';
import { type PlacedEdge, layoutGraph } from './layout.js';
import { type Markup, text } from './markup.js';
import { FONT_FAMILY, type Point, arrowHead, el, num, splinePath, textEl, textWidth } from './svg.js';

export interface CellSvgOptions {
  /** Heading above the cell; defaults to "Normal cell" / "Reduction cell". */
  readonly title?: string;
  /** Mark what differs from this cell. */
  readonly compareWith?: Cell;
  /** Name of the compared genotype, for the difference note. */
  readonly compareName?: string;
  /** Draw the legend under the cell (default true for a lone cell). */
  readonly legend?: boolean;
}

export interface GenotypeSvgOptions {
  /** Heading above both cells, e.g. the genotype's name. */
  readonly title?: string;
  /** Mark what differs from this genotype. */
  readonly compareWith?: Genotype;
  readonly compareName?: string;
  /** Draw the legend (default true). */
  readonly legend?: boolean;
}

/** The families in legend order, with their names and print colours and dashes. */
export const FAMILY_STYLE: Readonly<Record<OpFamily, { readonly label: string; readonly color: string; readonly dash?: string }>> = {
  sep_conv: { label: 'separable conv', color: '#0072b2' },
  dil_conv: { label: 'dilated conv', color: '#009e73', dash: '7 3' },
  pool: { label: 'pooling', color: '#d55e00', dash: '2 3' },
  skip: { label: 'skip', color: '#cc79a7', dash: '10 3 2 3' },
  other: { label: 'other', color: '#666666', dash: '4 2 1 2' },
};
export const FAMILY_ORDER: readonly OpFamily[] = ['sep_conv', 'dil_conv', 'pool', 'skip', 'other'];

const COLORS = {
  background: '#ffffff',
  foreground: '#1f1f1f',
  muted: '#6b6b6b',
  nodeFill: '#f4f4f4',
  inputFill: '#dde8f3',
  outputFill: '#e7e1ef',
  labelFill: '#ffffff',
  concat: '#8c8c8c',
  longest: '#f0c419',
  diff: '#c4001a',
  diffFill: '#ffe0e3',
  error: '#c4001a',
};

const FONT = { node: 12, label: 11, title: 13, caption: 11, note: 11, sub: 9 };
const LABEL_PAD_X = 4;
const LABEL_HEIGHT = 15;
const NODE_HEIGHT = 28;
const DEAD_OPACITY = 0.35;

/** Node ids as in the genotype: '0', '1', '2'…, and 'out' for c_{k}. */
export type NodeId = string;
export const OUTPUT_NODE: NodeId = 'out';

/** Display name of a node: c_{k-2}, c_{k-1}, the node number, c_{k}. */
export function nodeDisplayName(id: NodeId): string {
  if (id === '0') return 'c_{k-2}';
  if (id === '1') return 'c_{k-1}';
  if (id === OUTPUT_NODE) return 'c_{k}';
  return id;
}

export function cellKindTitle(kind: CellKind): string {
  return kind === 'normal' ? 'Normal cell' : 'Reduction cell';
}

/** An entry (op, input) drawn as an edge, or the reason it is not drawn. */
interface EntryEdge {
  readonly index: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly op: string;
  readonly family: OpFamily;
}

/** What the drawing of a cell shows, before layout; also what the tests can reason about. */
export interface CellGraph {
  readonly nodes: readonly NodeId[];
  readonly entryEdges: readonly EntryEdge[];
  /** Concat index j and the node it feeds to the output (first occurrence only). */
  readonly concatEdges: ReadonlyArray<{ readonly index: number; readonly from: NodeId }>;
  /** Entries left out of the drawing and why (input is not a node, or the node itself). */
  readonly skipped: ReadonlyArray<{ readonly index: number; readonly reason: string }>;
  /** Concat items naming no node. */
  readonly skippedConcat: readonly number[];
  readonly dead: ReadonlySet<number>;
}

/** The graph a cell drawing shows: nodes, entry edges, concat edges, what is skipped. */
export function cellGraph(cell: Cell): CellGraph {
  const m = intermediateCount(cell);
  const nodes: NodeId[] = ['0', '1'];
  for (let n = 2; n < 2 + m; n++) nodes.push(String(n));
  nodes.push(OUTPUT_NODE);
  const exists = (n: number): boolean => Number.isInteger(n) && n >= 0 && n < 2 + m;

  const entryEdges: EntryEdge[] = [];
  const skipped: Array<{ index: number; reason: string }> = [];
  cell.edges.forEach((edge, index) => {
    const node = nodeOfEntry(index);
    if (!exists(edge.input)) skipped.push({ index, reason: `input ${edge.input} is not a node of this cell` });
    else if (edge.input === node) skipped.push({ index, reason: `node ${node} cannot take itself as input` });
    else entryEdges.push({ index, from: String(edge.input), to: String(node), op: edge.op, family: opFamily(edge.op) });
  });

  const concatEdges: Array<{ index: number; from: NodeId }> = [];
  const skippedConcat: number[] = [];
  const seen = new Set<number>();
  cell.concat.forEach((n, index) => {
    if (!exists(n)) skippedConcat.push(n);
    else if (!seen.has(n)) {
      seen.add(n);
      concatEdges.push({ index, from: String(n) });
    }
  });
  return { nodes, entryEdges, concatEdges, skipped, skippedConcat, dead: new Set(deadNodes(cell)) };
}

interface Fragment {
  readonly markup: Markup;
  readonly width: number;
  readonly height: number;
}

function nodeWidth(id: NodeId): number {
  if (id === '0' || id === '1') return 60;
  if (id === OUTPUT_NODE) return 46;
  return Math.max(30, textWidth(id, FONT.node) + 16);
}

function labelWidth(op: string): number {
  return textWidth(op, FONT.label) + 2 * LABEL_PAD_X;
}

/** Text baseline for vertically centred text of a given size. */
function centerBaseline(cy: number, size: number): number {
  return cy + size * 0.35;
}

/** c_{k-2} etc. as 'c' with a subscript; plain numbers for intermediate nodes. */
function nodeLabel(id: NodeId, cx: number, cy: number): Markup {
  const y = centerBaseline(cy, FONT.node);
  const common = { x: cx, y, 'text-anchor': 'middle', 'font-size': FONT.node, fill: COLORS.foreground, class: 'cs-node-text' };
  if (id === '0' || id === '1' || id === OUTPUT_NODE) {
    const sub = id === '0' ? 'k−2' : id === '1' ? 'k−1' : 'k';
    return el('text', common, text('c'), textEl('tspan', { dy: 3, 'font-size': FONT.sub }, sub));
  }
  return textEl('text', common, id);
}

function wrapNote(text: string, maxWidth: number, size: number): string[] {
  const maxChars = Math.max(12, Math.floor(maxWidth / (size * 0.6)));
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && (line + ' ' + word).length > maxChars) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** Tooltip of an entry edge: what it is and, when comparing, what the other genotype has instead. */
function edgeTooltip(e: EntryEdge, change: EntryDiff | undefined): string {
  const what = `${e.op}: ${nodeDisplayName(e.from)} → node ${e.to} (entry ${e.index})`;
  if (!change) return what;
  if (change.change === 'extra') return `${what}; the other genotype has no node ${e.to}`;
  const o = change.other!;
  if (change.change === 'op') return `${what}; the other has ${o.op}`;
  if (change.change === 'input') return `${what}; the other takes input ${o.input}`;
  return `${what}; the other has (${o.op}, ${o.input})`;
}

/** The drawing of one cell at the origin, with heading, captions and notes. */
function cellFragment(cell: Cell, kind: CellKind, options: CellSvgOptions): Fragment {
  const graph = cellGraph(cell);
  const diff: CellDiff | undefined = options.compareWith ? diffCells(cell, options.compareWith) : undefined;
  const diffByEntry = new Map((diff?.entries ?? []).map((d) => [d.index, d]));
  const concatAdded = new Set(diff?.concatAdded ?? []);

  const layout = layoutGraph({
    nodes: graph.nodes.map((id) => ({ id, width: nodeWidth(id), height: NODE_HEIGHT })),
    edges: [
      ...graph.entryEdges.map((e) => ({ id: `e${e.index}`, from: e.from, to: e.to, label: { width: labelWidth(e.op), height: LABEL_HEIGHT } })),
      ...graph.concatEdges.map((c) => ({ id: `c${c.index}`, from: c.from, to: OUTPUT_NODE })),
    ],
    sources: ['0', '1'],
    order: graph.nodes.filter((id) => id !== '0' && id !== '1' && id !== OUTPUT_NODE),
    sink: OUTPUT_NODE,
  });

  // Longest path: consecutive node pairs, each drawn by its lowest-numbered entry, then into c_{k}.
  const path = longestPath(cell);
  const longestEntries = new Set<number>();
  for (let i = 1; i < path.length; i++) {
    const e = graph.entryEdges.find((x) => x.from === String(path[i - 1]) && x.to === String(path[i]));
    if (e) longestEntries.add(e.index);
  }
  const pathEnd = path.length > 0 ? String(path[path.length - 1]) : undefined;
  const longestConcat = graph.concatEdges.find((c) => c.from === pathEnd)?.index;
  const onPath = new Set(path.map(String));
  if (pathEnd !== undefined) onPath.add(OUTPUT_NODE);

  const titleHeight = 22;
  const ox = 0;
  const oy = titleHeight;
  const place = (p: Point): Point => ({ x: p.x + ox, y: p.y + oy });
  const isDeadNode = (id: NodeId): boolean => graph.dead.has(Number(id));

  const halos: Markup[] = [];
  const edges: Markup[] = [];
  const labels: Markup[] = [];
  const edgePath = (placed: PlacedEdge): { d: string; arrow: string } => {
    const pts = placed.points.map(place);
    const tip = pts[pts.length - 1]!;
    const before = pts.length >= 2 ? pts[pts.length - 2]! : tip;
    return { d: splinePath(pts), arrow: arrowHead(before, tip) };
  };

  for (const e of graph.entryEdges) {
    const placed = layout.edges.get(`e${e.index}`)!;
    const { d, arrow } = edgePath(placed);
    const style = FAMILY_STYLE[e.family];
    const dead = isDeadNode(e.to);
    const longest = longestEntries.has(e.index);
    const change = diffByEntry.get(e.index);
    const classes = ['cs-edge', `cs-fam-${e.family}`, dead && 'cs-dead', longest && 'cs-longest', change && 'cs-diff'].filter(Boolean).join(' ');
    if (longest) halos.push(el('path', { class: 'cs-halo', d, fill: 'none', stroke: COLORS.longest, 'stroke-width': 7, 'stroke-linecap': 'round', 'stroke-opacity': 0.6 }));
    edges.push(
      el(
        'g',
        {
          class: classes,
          'data-from': e.from,
          'data-to': e.to,
          'data-op': e.op,
          'data-entry': e.index,
          'data-family': e.family,
          'data-longest': longest,
          'data-diff': change?.change,
          opacity: dead ? DEAD_OPACITY : undefined,
        },
        textEl('title', {}, edgeTooltip(e, change)),
        el('path', { class: 'cs-edge-line', d, fill: 'none', stroke: style.color, 'stroke-width': 1.5, 'stroke-dasharray': style.dash }),
        el('polygon', { class: 'cs-edge-arrow', points: arrow, fill: style.color }),
      ),
    );
    const box = placed.label!;
    const lx = box.x + ox;
    const ly = box.y + oy;
    labels.push(
      el(
        'g',
        { class: `cs-label cs-fam-${e.family}${change ? ' cs-diff' : ''}`, 'data-entry': e.index, opacity: dead ? DEAD_OPACITY : undefined },
        el('rect', {
          x: lx,
          y: ly,
          width: box.width,
          height: box.height,
          rx: 3,
          fill: change ? COLORS.diffFill : COLORS.labelFill,
          stroke: change ? COLORS.diff : style.color,
          'stroke-width': change ? 2 : 1,
        }),
        textEl(
          'text',
          {
            x: lx + box.width / 2,
            y: centerBaseline(ly + box.height / 2, FONT.label),
            'text-anchor': 'middle',
            'font-size': FONT.label,
            'font-weight': change ? 'bold' : undefined,
            fill: COLORS.foreground,
          },
          e.op,
        ),
      ),
    );
  }

  for (const c of graph.concatEdges) {
    const placed = layout.edges.get(`c${c.index}`)!;
    const { d, arrow } = edgePath(placed);
    const longest = c.index === longestConcat;
    const added = concatAdded.has(Number(c.from));
    const color = added ? COLORS.diff : COLORS.concat;
    if (longest) halos.push(el('path', { class: 'cs-halo', d, fill: 'none', stroke: COLORS.longest, 'stroke-width': 7, 'stroke-linecap': 'round', 'stroke-opacity': 0.6 }));
    edges.push(
      el(
        'g',
        {
          class: ['cs-edge', 'cs-concat', longest && 'cs-longest', added && 'cs-diff'].filter(Boolean).join(' '),
          'data-from': c.from,
          'data-to': OUTPUT_NODE,
          'data-concat': c.index,
          'data-longest': longest,
          'data-diff': added ? 'concat' : undefined,
        },
        el('path', { class: 'cs-edge-line', d, fill: 'none', stroke: color, 'stroke-width': added ? 2 : 1.2 }),
        el('polygon', { class: 'cs-edge-arrow', points: arrow, fill: color }),
      ),
    );
  }

  const nodes: Markup[] = [];
  for (const id of graph.nodes) {
    const b = layout.nodes.get(id)!;
    const x = b.x + ox;
    const y = b.y + oy;
    const role = id === '0' || id === '1' ? 'cs-input' : id === OUTPUT_NODE ? 'cs-output' : 'cs-intermediate';
    const dead = isDeadNode(id);
    const longest = onPath.has(id);
    const inConcat = graph.concatEdges.some((c) => c.from === id);
    const fill = role === 'cs-input' ? COLORS.inputFill : role === 'cs-output' ? COLORS.outputFill : COLORS.nodeFill;
    nodes.push(
      el(
        'g',
        {
          class: ['cs-node', role, dead && 'cs-dead', longest && 'cs-longest', inConcat && 'cs-in-concat'].filter(Boolean).join(' '),
          'data-node': id,
          'data-dead': dead,
          'data-longest': longest,
          'data-concat': inConcat,
          opacity: dead ? DEAD_OPACITY : undefined,
        },
        el('rect', {
          x,
          y,
          width: b.width,
          height: b.height,
          rx: role === 'cs-intermediate' ? b.height / 2 : 5,
          fill,
          stroke: longest ? COLORS.longest : COLORS.foreground,
          'stroke-width': longest ? 3 : 1.2,
          'stroke-dasharray': dead ? '3 2' : undefined,
        }),
        nodeLabel(id, x + b.width / 2, y + b.height / 2),
      ),
    );
  }

  // Heading, captions and notes.
  const width = Math.max(layout.width, 200);
  const lines: Array<{ text: string; cls: string; color: string }> = [];
  lines.push({ text: `width ${formatWidth(cellWidth(cell))} · depth ${cellDepth(cell)}`, cls: 'cs-caption', color: COLORS.foreground });
  if (graph.dead.size > 0) {
    const names = [...graph.dead].join(', ');
    lines.push({ text: `dead ${graph.dead.size === 1 ? 'node' : 'nodes'} ${names}: never reach${graph.dead.size === 1 ? 'es' : ''} c_{k}`, cls: 'cs-note cs-note-dead', color: COLORS.muted });
  }
  for (const s of graph.skipped) lines.push({ text: `entry ${s.index} not drawn: ${s.reason}`, cls: 'cs-note cs-note-error', color: COLORS.error });
  if (graph.skippedConcat.length > 0) {
    lines.push({ text: `concat ${graph.skippedConcat.join(', ')} not drawn: not a node of this cell`, cls: 'cs-note cs-note-error', color: COLORS.error });
  }
  if (diff) {
    const n = cellDiffCount(diff);
    const against = options.compareName ? ` from ${options.compareName}` : '';
    const parts: string[] = [];
    if (diff.entries.length > 0) parts.push(`${diff.entries.length} ${diff.entries.length === 1 ? 'entry' : 'entries'}`);
    if (diff.concatAdded.length > 0) parts.push(`concat +${diff.concatAdded.join(', +')}`);
    if (diff.concatRemoved.length > 0) parts.push(`concat −${diff.concatRemoved.join(', −')}`);
    if (diff.missingNodes > 0) parts.push(`${diff.missingNodes} fewer ${diff.missingNodes === 1 ? 'node' : 'nodes'}`);
    lines.push({
      text: n === 0 ? `same as${against || ' the other'}` : `differs${against}: ${parts.join('; ')}`,
      cls: 'cs-note cs-note-diff',
      color: n === 0 ? COLORS.muted : COLORS.diff,
    });
  }

  const footer: Markup[] = [];
  let y = oy + layout.height + 6;
  for (const line of lines) {
    const size = line.cls === 'cs-caption' ? FONT.caption : FONT.note;
    for (const text of wrapNote(line.text, width - 8, size)) {
      y += size + 4;
      footer.push(textEl('text', { class: line.cls, x: 8, y, 'font-size': size, fill: line.color }, text));
    }
  }

  const heading = textEl(
    'text',
    { class: 'cs-cell-title', x: 8, y: 16, 'font-size': FONT.title, 'font-weight': 'bold', fill: COLORS.foreground },
    options.title ?? cellKindTitle(kind),
  );
  const markup = el(
    'g',
    { class: `cs-cell cs-cell-${kind}`, 'data-cell': kind },
    heading,
    el('g', { class: 'cs-halos' }, ...halos),
    el('g', { class: 'cs-edges' }, ...edges),
    el('g', { class: 'cs-nodes' }, ...nodes),
    el('g', { class: 'cs-labels' }, ...labels),
    el('g', { class: 'cs-notes' }, ...footer),
  );
  return { markup, width, height: y + 8 };
}

/** The legend: one swatch per family, then the longest path, dead nodes and (when comparing) differences. */
function legendFragment(maxWidth: number, comparing: boolean): Fragment {
  const items: Array<{ label: string; swatch: (x: number, y: number) => Markup; cls: string }> = [];
  for (const family of FAMILY_ORDER) {
    const s = FAMILY_STYLE[family];
    items.push({
      label: s.label,
      cls: `cs-legend-item cs-fam-${family}`,
      swatch: (x, y) => el('line', { class: 'cs-edge-line', x1: x, y1: y, x2: x + 24, y2: y, stroke: s.color, 'stroke-width': 2, 'stroke-dasharray': s.dash }),
    });
  }
  items.push({
    label: 'longest path',
    cls: 'cs-legend-item cs-legend-longest',
    swatch: (x, y) => el('line', { class: 'cs-halo', x1: x, y1: y, x2: x + 24, y2: y, stroke: COLORS.longest, 'stroke-width': 7, 'stroke-linecap': 'round', 'stroke-opacity': 0.6 }),
  });
  items.push({
    label: 'dead node',
    cls: 'cs-legend-item cs-legend-dead',
    swatch: (x, y) =>
      el(
        'g',
        { class: 'cs-node cs-intermediate cs-dead', opacity: DEAD_OPACITY },
        el('rect', { x: x + 4, y: y - 8, width: 16, height: 16, rx: 8, fill: COLORS.nodeFill, stroke: COLORS.foreground, 'stroke-dasharray': '3 2' }),
      ),
  });
  if (comparing) {
    items.push({
      label: 'differs',
      cls: 'cs-legend-item cs-legend-diff',
      swatch: (x, y) => el('g', { class: 'cs-label cs-diff' }, el('rect', { x: x + 2, y: y - 7, width: 20, height: 14, rx: 3, fill: COLORS.diffFill, stroke: COLORS.diff, 'stroke-width': 2 })),
    });
  }
  const rowHeight = 20;
  let x = 8;
  let y = 12;
  let widest = 0;
  const parts: Markup[] = [];
  for (const item of items) {
    const w = 24 + 6 + textWidth(item.label, FONT.caption) + 16;
    if (x > 8 && x + w > maxWidth) {
      x = 8;
      y += rowHeight;
    }
    parts.push(
      el(
        'g',
        { class: item.cls },
        item.swatch(x, y),
        textEl('text', { x: x + 30, y: centerBaseline(y, FONT.caption), 'font-size': FONT.caption, fill: COLORS.foreground }, item.label),
      ),
    );
    x += w;
    widest = Math.max(widest, x);
  }
  return { markup: el('g', { class: 'cs-legend' }, ...parts), width: widest, height: y + 12 };
}

function svgDocument(width: number, height: number, title: string, body: readonly Markup[], extra: Record<string, string | undefined> = {}): string {
  return el(
    'svg',
    {
      xmlns: 'http://www.w3.org/2000/svg',
      class: 'cellscope-diagram',
      width: Math.ceil(width),
      height: Math.ceil(height),
      viewBox: `0 0 ${Math.ceil(width)} ${Math.ceil(height)}`,
      'font-family': FONT_FAMILY,
      role: 'img',
      ...extra,
    },
    textEl('title', {}, title),
    el('rect', { class: 'cs-bg', x: 0, y: 0, width: Math.ceil(width), height: Math.ceil(height), fill: COLORS.background }),
    ...body,
  ).toString();
}

/** One cell as a standalone SVG document. */
export function renderCellSvg(cell: Cell, kind: CellKind, options: CellSvgOptions = {}): string {
  const cellPart = cellFragment(cell, kind, options);
  const withLegend = options.legend ?? true;
  const legend = withLegend ? legendFragment(Math.max(cellPart.width, 320), options.compareWith !== undefined) : undefined;
  const pad = 8;
  const width = Math.max(cellPart.width, legend?.width ?? 0) + 2 * pad;
  const height = cellPart.height + (legend?.height ?? 0) + 2 * pad;
  const body = [
    el('g', { transform: `translate(${pad},${pad})` }, cellPart.markup),
    legend && el('g', { transform: `translate(${pad},${num(pad + cellPart.height)})` }, legend.markup),
  ].filter((m): m is Markup => m !== undefined);
  return svgDocument(width, height, options.title ?? cellKindTitle(kind), body);
}

/** Both cells of a genotype side by side (normal left, reduction right), with legend and notes. */
export function renderGenotypeSvg(genotype: Genotype, options: GenotypeSvgOptions = {}): string {
  const pad = 8;
  const gap = 28;
  const compare = options.compareWith;
  const cellOptions = (kind: CellKind): CellSvgOptions => ({
    ...(compare ? { compareWith: compare[kind], ...(options.compareName ? { compareName: options.compareName } : {}) } : {}),
  });
  const normal = cellFragment(genotype.normal, 'normal', cellOptions('normal'));
  const reduce = cellFragment(genotype.reduce, 'reduce', cellOptions('reduce'));
  const cellsWidth = normal.width + gap + reduce.width;
  const cellsHeight = Math.max(normal.height, reduce.height);
  const headingHeight = options.title ? 26 : 0;
  const legend = options.legend ?? true ? legendFragment(Math.max(cellsWidth, 320), compare !== undefined) : undefined;
  const width = Math.max(cellsWidth, legend?.width ?? 0) + 2 * pad;
  const height = headingHeight + cellsHeight + (legend?.height ?? 0) + 2 * pad;
  const parts: Markup[] = [];
  if (options.title) {
    parts.push(textEl('text', { class: 'cs-title', x: pad + 8, y: pad + 17, 'font-size': 15, 'font-weight': 'bold', fill: COLORS.foreground }, options.title));
  }
  parts.push(el('g', { transform: `translate(${pad},${pad + headingHeight})` }, normal.markup));
  parts.push(el('g', { transform: `translate(${num(pad + normal.width + gap)},${pad + headingHeight})` }, reduce.markup));
  if (legend) parts.push(el('g', { transform: `translate(${pad},${num(pad + headingHeight + cellsHeight)})` }, legend.markup));
  return svgDocument(width, height, options.title ?? 'Genotype', parts, {
    'data-genotype': options.title,
  });
}
