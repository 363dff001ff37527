/**
 * Short number labels shared by the SVG renderers (axis ticks), the report
 * and the results panel, so that a number reads the same wherever it is
 * shown. Pure.
 */

/** A short label for a value: three significant digits, exponent notation outside [1e-3, 1e4). */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 1e4 || abs < 1e-3) return v.toExponential(0).replace('e+', 'e');
  return String(Number(v.toPrecision(3)));
}
