/**
 * Browser side of the cell panel (bundled to dist/webview/cellPanel.js).
 * Shows the SVG drawings the extension sends, keeps the last one while the
 * source is invalid (with the reason shown for a few seconds), maps clicks on
 * nodes and edges to `reveal` messages through the SVG's data attributes,
 * rasterises PNG exports on a canvas, and persists the panel's state for the
 * serializer. No remote content; the page's CSP allows only this script.
 */
import type {
  CellPanelFromWebview,
  CellPanelState,
  CellPanelToWebview,
  CellPanelView,
  CellTarget,
  WebviewApi,
} from '../shared/protocol.js';

declare function acquireVsCodeApi(): WebviewApi<CellPanelFromWebview, CellPanelState>;

const vscode = acquireVsCodeApi();
const SVG_NS = 'http://www.w3.org/2000/svg';
/** How long a problem or status line stays up. */
const PROBLEM_MS = 6000;
const STATUS_MS = 4000;
/** PNG exports are drawn at twice the SVG's size, for sharp figures. */
const PNG_SCALE = 2;

const viewsEl = document.getElementById('views')!;
const problemEl = document.getElementById('problem')!;
const statusEl = document.getElementById('status')!;
const followEl = document.getElementById('follow') as HTMLInputElement;
const followLabel = document.getElementById('follow-label')!;

let drawn = false;
let problemTimer: ReturnType<typeof setTimeout> | undefined;
let statusTimer: ReturnType<typeof setTimeout> | undefined;

function post(message: CellPanelFromWebview): void {
  vscode.postMessage(message);
}

/** Parses the renderer's SVG text into an element of this document (no HTML parsing, no scripts). */
function parseSvg(text: string): SVGSVGElement | undefined {
  const parsed = new DOMParser().parseFromString(text, 'image/svg+xml');
  const root = parsed.documentElement;
  if (root.namespaceURI !== SVG_NS || root.localName !== 'svg') return undefined;
  return document.importNode(root, true) as unknown as SVGSVGElement;
}

function render(views: readonly CellPanelView[], state: CellPanelState): void {
  const sections = views.map((view, index) => {
    const section = document.createElement('section');
    section.className = 'view';
    section.dataset['view'] = String(index);
    section.classList.toggle('has-source', view.hasSource);

    const header = document.createElement('header');
    const title = document.createElement('h2');
    title.textContent = view.title;
    const origin = document.createElement('span');
    origin.className = 'origin';
    origin.textContent = view.origin;
    const actions = document.createElement('span');
    actions.className = 'actions';
    for (const [kind, label] of [
      ['svg', 'Export SVG'],
      ['png', 'Export PNG'],
    ] as const) {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = label;
      button.dataset['export'] = kind;
      actions.append(button);
    }
    header.append(title, origin, actions);

    const drawing = document.createElement('div');
    drawing.className = 'drawing';
    const svg = parseSvg(view.svg);
    if (svg) drawing.append(svg);
    else drawing.textContent = 'The drawing could not be read.';
    section.append(header, drawing);
    return section;
  });
  viewsEl.replaceChildren(...sections);
  viewsEl.classList.toggle('compare', views.length > 1);
  followEl.checked = state.follow;
  followLabel.hidden = state.sources.length !== 1;
  drawn = true;
  hideProblem();
  vscode.setState(state);
}

function hideProblem(): void {
  if (problemTimer) clearTimeout(problemTimer);
  problemTimer = undefined;
  problemEl.hidden = true;
  problemEl.textContent = '';
  viewsEl.classList.remove('stale');
}

function showProblem(message: string): void {
  problemEl.textContent = message;
  problemEl.hidden = false;
  if (problemTimer) clearTimeout(problemTimer);
  if (!drawn) {
    // Nothing to fall back on: the reason stays until something valid is drawn.
    viewsEl.replaceChildren();
    return;
  }
  // The last valid drawing stays, marked as not current, and the message goes after a while.
  viewsEl.classList.add('stale');
  problemTimer = setTimeout(() => {
    problemEl.hidden = true;
    problemTimer = undefined;
  }, PROBLEM_MS);
}

function showStatus(message: string): void {
  statusEl.textContent = message;
  if (statusTimer) clearTimeout(statusTimer);
  statusTimer = setTimeout(() => (statusEl.textContent = ''), STATUS_MS);
}

/** What a click hit, read from the data attributes of the nearest drawn element. */
function targetOf(element: Element): { cell: 'normal' | 'reduce'; target: CellTarget } | undefined {
  const cellEl = element.closest('[data-cell]');
  const cell = cellEl?.getAttribute('data-cell');
  if (cell !== 'normal' && cell !== 'reduce') return undefined;
  const hit = element.closest('[data-node], [data-entry], [data-concat]');
  if (!hit || !cellEl!.contains(hit)) return undefined;
  const node = hit.getAttribute('data-node');
  if (node !== null) return { cell, target: { kind: 'node', node } };
  const entry = hit.getAttribute('data-entry');
  if (entry !== null) return { cell, target: { kind: 'entry', entry: Number(entry) } };
  const concat = hit.getAttribute('data-concat');
  if (concat !== null && /^\d+$/.test(concat)) return { cell, target: { kind: 'concat', concat: Number(concat) } };
  return undefined;
}

/** Properties that carry the theme; copied onto a detached clone so the PNG looks as the panel does. */
const INLINED = ['fill', 'stroke', 'stroke-width', 'stroke-opacity', 'stroke-dasharray', 'opacity', 'font-family', 'font-size', 'font-weight'];

function themedClone(svg: SVGSVGElement): SVGSVGElement {
  const clone = svg.cloneNode(true) as SVGSVGElement;
  const live = [svg, ...Array.from(svg.querySelectorAll('*'))];
  const copies = [clone, ...Array.from(clone.querySelectorAll('*'))];
  live.forEach((el, i) => {
    const copy = copies[i] as SVGElement | undefined;
    if (!copy) return;
    const computed = getComputedStyle(el);
    for (const property of INLINED) copy.style.setProperty(property, computed.getPropertyValue(property));
  });
  return clone;
}

async function exportPng(view: number, svg: SVGSVGElement): Promise<void> {
  const width = svg.width.baseVal.value;
  const height = svg.height.baseVal.value;
  const text = new XMLSerializer().serializeToString(themedClone(svg));
  const url = URL.createObjectURL(new Blob([text], { type: 'image/svg+xml' }));
  try {
    const image = new Image();
    image.decoding = 'sync';
    await new Promise<void>((resolve, reject) => {
      image.onload = () => resolve();
      image.onerror = () => reject(new Error('the drawing could not be rasterised'));
      image.src = url;
    });
    const canvas = document.createElement('canvas');
    canvas.width = Math.ceil(width * PNG_SCALE);
    canvas.height = Math.ceil(height * PNG_SCALE);
    const context = canvas.getContext('2d');
    if (!context) throw new Error('no 2D canvas');
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    const dataUrl = canvas.toDataURL('image/png');
    post({ type: 'exportPng', view, pngBase64: dataUrl.slice(dataUrl.indexOf(',') + 1) });
  } finally {
    URL.revokeObjectURL(url);
  }
}

viewsEl.addEventListener('click', (event) => {
  const element = event.target;
  if (!(element instanceof Element)) return;
  const section = element.closest<HTMLElement>('section.view');
  if (!section) return;
  const view = Number(section.dataset['view']);
  const exportKind = element.closest<HTMLElement>('button[data-export]')?.dataset['export'];
  if (exportKind === 'svg') {
    post({ type: 'exportSvg', view });
    return;
  }
  if (exportKind === 'png') {
    const svg = section.querySelector('svg');
    if (svg) exportPng(view, svg).catch((error: unknown) => showStatus(`PNG export failed: ${error instanceof Error ? error.message : String(error)}`));
    return;
  }
  if (!section.classList.contains('has-source')) return;
  const hit = targetOf(element);
  if (hit) post({ type: 'reveal', view, cell: hit.cell, target: hit.target });
});

followEl.addEventListener('change', () => {
  post({ type: 'setFollow', follow: followEl.checked });
  const state = vscode.getState();
  if (state) vscode.setState({ ...state, follow: followEl.checked });
});

window.addEventListener('message', (event: MessageEvent<CellPanelToWebview>) => {
  const message = event.data;
  switch (message.type) {
    case 'render':
      render(message.views, message.state);
      break;
    case 'problem':
      showProblem(message.message);
      break;
    case 'status':
      showStatus(message.message);
      break;
  }
});

post({ type: 'ready' });
