/**
 * The one byte range of a download (RFC 9110 §14): `Range: bytes=a-b | a- | -n`. Several
 * ranges or a unit other than bytes are served whole (a server may ignore Range); a range
 * that starts past the end is unsatisfiable (416). `If-Range` with another validator than the
 * current ETag also serves the whole artifact, so a resume never mixes two builds.
 */
export type RangeDecision = { readonly kind: 'whole' } | { readonly kind: 'partial'; readonly start: number; readonly end: number } | { readonly kind: 'unsatisfiable' };

export function decideRange(header: string | undefined, size: number, ifRange: string | undefined, etag: string): RangeDecision {
  if (header === undefined) return { kind: 'whole' };
  if (ifRange !== undefined && ifRange.trim() !== etag) return { kind: 'whole' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (match === null) return { kind: 'whole' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start) || start >= size) return { kind: 'unsatisfiable' };
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (!Number.isSafeInteger(end) || end < start) return { kind: 'whole' };
  return { kind: 'partial', start, end };
}
