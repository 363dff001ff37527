/**
 * Small helpers for writing SVG as text, with no DOM: escaping, element
 * builders, number formatting and text-width estimates. Every renderer in
 * src/render/ writes through these (and markup.ts) so that output is escaped
 * by construction and deterministic (same input → same string).
 */

import { escapeXml, Markup, trustedMarkup } from './markup.js';

export { escapeXml } from './markup.js';

/**
 * A number for an attribute: at most one decimal, no trailing zeros, no `-0`.
 * One decimal is finer than a pixel on any screen and keeps output stable.
 */
export function num(x: number): string {
  const rounded = Math.round(x * 10) / 10;
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

export type AttrValue = string | number | boolean | undefined;
export type Attrs = Readonly<Record<string, AttrValue>>;

/** Attributes in the order given; undefined and false are left out, true is written as "true". */
function attrs(a: Attrs): string {
  let out = '';
  for (const [key, value] of Object.entries(a)) {
    if (value === undefined || value === false) continue;
    const text = typeof value === 'number' ? num(value) : String(value);
    out += ` ${key}="${escapeXml(text)}"`;
  }
  return out;
}

/** A child of `el`: markup, or nothing (left out). Text goes through `textEl`, so that it is escaped. */
export type Child = Markup | null | undefined | false;

/** An element; its tag is a constant of the renderer, its attribute values are escaped here. */
export function el(tag: string, a: Attrs, ...children: readonly Child[]): Markup {
  const body = children.map((c) => (c instanceof Markup ? c.toString() : '')).join('');
  return trustedMarkup(body === '' ? `<${tag}${attrs(a)}/>` : `<${tag}${attrs(a)}>${body}</${tag}>`);
}

/** An element holding only text (escaped here). */
export function textEl(tag: string, a: Attrs, text: string): Markup {
  return trustedMarkup(`<${tag}${attrs(a)}>${escapeXml(text)}</${tag}>`);
}

/**
 * The diagrams set all text in a monospace font so that widths can be known
 * without a DOM: 0.6 em per character holds for DejaVu Sans Mono, Menlo and
 * Liberation Mono, and over-estimates Consolas slightly (safe for spacing).
 */
export const MONO_CHAR_EM = 0.6;
export const FONT_FAMILY = "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace";

export function textWidth(text: string, fontSize: number): number {
  return [...text].length * fontSize * MONO_CHAR_EM;
}

export interface Point {
  readonly x: number;
  readonly y: number;
}

/**
 * A smooth path through dagre's edge points: a uniform cubic B-spline that
 * starts at the first point and ends at the last (the curve graph drawings
 * usually use), written as SVG cubic Bézier segments.
 */
export function splinePath(points: readonly Point[]): string {
  if (points.length === 0) return '';
  const p = points;
  const first = p[0]!;
  if (p.length === 1) return `M${num(first.x)},${num(first.y)}`;
  if (p.length === 2) return `M${num(first.x)},${num(first.y)}L${num(p[1]!.x)},${num(p[1]!.y)}`;
  // Pad the ends so the spline is clamped to the first and last points.
  const q = [first, first, ...p, p[p.length - 1]!, p[p.length - 1]!];
  let d = `M${num(first.x)},${num(first.y)}`;
  // Segment i uses control points q[i-1..i+2]; its start is where the previous one ended.
  for (let i = 1; i + 2 < q.length; i++) {
    const p1 = q[i]!;
    const p2 = q[i + 1]!;
    const p3 = q[i + 2]!;
    const c1 = { x: (2 * p1.x + p2.x) / 3, y: (2 * p1.y + p2.y) / 3 };
    const c2 = { x: (p1.x + 2 * p2.x) / 3, y: (p1.y + 2 * p2.y) / 3 };
    const end = { x: (p1.x + 4 * p2.x + p3.x) / 6, y: (p1.y + 4 * p2.y + p3.y) / 6 };
    d += `C${num(c1.x)},${num(c1.y)} ${num(c2.x)},${num(c2.y)} ${num(end.x)},${num(end.y)}`;
  }
  return d;
}

/** A triangular arrow head ending at `tip`, pointing away from `from`. */
export function arrowHead(from: Point, tip: Point, length = 7, halfWidth = 3.5): string {
  const dx = tip.x - from.x;
  const dy = tip.y - from.y;
  const len = Math.hypot(dx, dy) || 1;
  const ux = dx / len;
  const uy = dy / len;
  const bx = tip.x - ux * length;
  const by = tip.y - uy * length;
  const left = { x: bx - uy * halfWidth, y: by + ux * halfWidth };
  const right = { x: bx + uy * halfWidth, y: by - ux * halfWidth };
  return `${num(tip.x)},${num(tip.y)} ${num(left.x)},${num(left.y)} ${num(right.x)},${num(right.y)}`;
}
