/**
 * Markup that is escaped by construction. Run folders are shared between
 * people and machines, so every string that reaches a report or a diagram
 * (run ids, genotype names, notes, the genotype's own text) is untrusted.
 * Renderers therefore never glue markup together from strings: they build
 * `Markup` values with the `html` tagged template (and `el` / `textEl` of
 * svg.ts, which return Markup too), where every interpolated string is
 * escaped and only Markup passes through as is. A string becomes Markup
 * without escaping only through `trustedMarkup`, whose call sites say why.
 */

/** Escapes text for element content and for quoted attributes (both quote kinds). */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => {
    switch (ch) {
      case '&':
        return '&amp;';
      case '<':
        return '&lt;';
      case '>':
        return '&gt;';
      case '"':
        return '&quot;';
      default:
        return '&#39;';
    }
  });
}

/** A piece of HTML/SVG known to be well-formed markup (its text already escaped). */
export class Markup {
  readonly #text: string;
  /** Use `html`, `el`, `textEl` or (with a reason) `trustedMarkup`. */
  private constructor(text: string) {
    this.#text = text;
  }
  /** Only for this module: the one way to make Markup without escaping. */
  static fromTrusted(text: string): Markup {
    return new Markup(text);
  }
  toString(): string {
    return this.#text;
  }
}

/** What may appear inside `${…}` of `html`: text (escaped), numbers, markup, lists of these, or nothing. */
export type Interpolation = Markup | string | number | null | undefined | false | readonly Interpolation[];

function render(value: Interpolation): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Markup) return value.toString();
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return escapeXml(value);
  return value.map(render).join('');
}

/**
 * The tagged template: `html\`<td>${name}</td>\`` escapes `name`. Write
 * attribute values in quotes (`data-run="${id}"`): escaping covers both quote
 * kinds, but an unquoted attribute would end at a space.
 */
export function html(strings: TemplateStringsArray, ...values: readonly Interpolation[]): Markup {
  let out = strings[0]!;
  for (let k = 0; k < values.length; k++) out += render(values[k]!) + strings[k + 1]!;
  return Markup.fromTrusted(out);
}

/** Text as Markup (escaped); the same as html`${text}`. */
export function text(value: string): Markup {
  return Markup.fromTrusted(escapeXml(value));
}

/** Several pieces as one. */
export function joinMarkup(parts: readonly Interpolation[], separator: Markup | string = ''): Markup {
  const sep = render(separator);
  return Markup.fromTrusted(parts.map(render).join(sep));
}

export const EMPTY_MARKUP: Markup = Markup.fromTrusted('');

/**
 * Markup from a string without escaping, for output of the renderers here
 * (each builds its SVG from Markup and returns its text) and for constants.
 * Never for text read from a file.
 */
export function trustedMarkup(markup: string): Markup {
  return Markup.fromTrusted(markup);
}

/**
 * An id for `id="…"` and `url(#…)` references from any text: letters, digits,
 * `-` and `_` kept, everything else written as `_` + its code in hex, so that
 * different texts give different ids and none can end the attribute or the
 * `url(…)`.
 */
export function safeId(textValue: string): string {
  let out = '';
  for (const ch of textValue) out += /^[A-Za-z0-9-]$/.test(ch) ? ch : `_${ch.codePointAt(0)!.toString(16)}_`;
  return /^[A-Za-z]/.test(out) ? out : `id-${out}`;
}
