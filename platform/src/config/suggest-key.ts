/**
 * Suggests the known name closest to a mistyped one ("OUTPOST_HTTP_PROT" →
 * "OUTPOST_HTTP_PORT"): case-insensitive, a missing `OUTPOST_` prefix is
 * forgiven, and the distance allowed grows slowly with the name's length.
 */
export function suggestKey(name: string, known: readonly string[]): string | undefined {
  const upper = name.toUpperCase();
  const prefixed = upper.startsWith('OUTPOST_') ? upper : `OUTPOST_${upper}`;
  if (known.includes(prefixed)) return prefixed;
  const allowed = Math.max(2, Math.floor(prefixed.length / 8));
  let best: string | undefined;
  let bestDistance = allowed + 1;
  for (const candidate of known) {
    const distance = editDistance(prefixed, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, at(i - 2, j - 2) + 1);
      d[i * cols + j] = value;
    }
  }
  return at(a.length, b.length);
}
