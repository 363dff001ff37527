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

/** Three DP rows reused across calls (names are short; they grow when needed). */
let rows: [Int32Array, Int32Array, Int32Array] = [new Int32Array(64), new Int32Array(64), new Int32Array(64)];

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transposition),
 * giving up early and returning `limit + 1` once every alignment exceeds `limit`.
 */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  if (rows[0].length <= b.length) rows = [new Int32Array(b.length + 1), new Int32Array(b.length + 1), new Int32Array(b.length + 1)];
  let [prevPrev, prev, row] = rows;
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    let rowMin = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const cb = b.charCodeAt(j - 1);
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (ca === cb ? 0 : 1));
      if (i > 1 && j > 1 && ca === b.charCodeAt(j - 2) && a.charCodeAt(i - 2) === cb) d = Math.min(d, prevPrev[j - 2]! + 1);
      row[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin > limit) return limit + 1;
    [prevPrev, prev, row] = [prev, row, prevPrev];
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
  // The case-sensitive distance only breaks ties, so it is measured only when there is one.
  let bestCaseDistance: number | undefined;
  const caseDistance = (candidate: string) => editDistance(name, candidate, name.length + candidate.length);
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase(), Math.min(limit, bestDistance));
    if (distance > limit || distance > bestDistance) continue;
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
      bestCaseDistance = undefined;
      continue;
    }
    bestCaseDistance ??= caseDistance(best!);
    const candidateCaseDistance = caseDistance(candidate);
    if (candidateCaseDistance < bestCaseDistance) {
      best = candidate;
      bestCaseDistance = candidateCaseDistance;
    }
  }
  return best;
}
