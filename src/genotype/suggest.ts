/**
 * "Did you mean …?" for operation and genotype names. Typos in these files are
 * mostly one or two keystrokes (`sep_conv_3x4`, `dil_conv3x3`, `Darts_V2`), so
 * a plain edit distance with a length-relative cut-off is enough; anything
 * farther away is a different name, and suggesting it would only mislead.
 */

/** Largest edit distance still offered as a suggestion for a name of this length. */
function maxDistance(length: number): number {
  return Math.max(1, Math.floor(length / 3));
}

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transposition),
 * giving up early and returning `limit + 1` once every alignment exceeds `limit`.
 */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prevPrev: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prevPrev[j - 2]! + 1);
      row.push(d);
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > limit) return limit + 1;
    prevPrev = prev;
    prev = row;
  }
  return prev[b.length]!;
}

/**
 * The candidate closest to `name`, or undefined when none is reasonably close
 * (edit distance at most a third of the name's length, at least 1). Case is
 * ignored when measuring, so `darts_v2` finds `DARTS_V2`; among equally close
 * candidates the one whose case matches better wins, then the first listed.
 */
export function nearestName(name: string, candidates: Iterable<string>): string | undefined {
  const limit = maxDistance(name.length);
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = limit + 1;
  let bestCaseDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase(), Math.min(limit, bestDistance));
    if (distance > limit || distance > bestDistance) continue;
    const caseDistance = editDistance(name, candidate, name.length + candidate.length);
    if (distance < bestDistance || caseDistance < bestCaseDistance) {
      best = candidate;
      bestDistance = distance;
      bestCaseDistance = caseDistance;
    }
  }
  return best;
}
