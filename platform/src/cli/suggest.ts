/**
 * Edit distance counting an insertion, deletion, substitution or swap of two
 * neighbouring letters as one edit (optimal string alignment), for "did you mean".
 */
function distance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => rows[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] ?? [];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** The closest candidate to a mistyped word, if one is close enough to be a plausible typo. */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  const word = input.toLowerCase();
  let best: { candidate: string; score: number } | undefined;
  for (const candidate of candidates) {
    const score = candidate.startsWith(word) && word.length >= 2 ? 0.5 : distance(word, candidate);
    if (best === undefined || score < best.score) best = { candidate, score };
  }
  if (best === undefined) return undefined;
  const tolerance = Math.max(1, Math.floor(word.length / 3));
  return best.score <= tolerance ? best.candidate : undefined;
}

/** ` (did you mean "users"?)` or nothing. */
export function didYouMean(input: string, candidates: readonly string[], prefix = ''): string {
  const hit = suggest(input, candidates);
  return hit === undefined ? '' : ` (did you mean "${prefix}${hit}"?)`;
}
