/**
 * Parsers for the human-friendly units used in every configuration: durations
 * (`1s`, `5m`, `90d`) and byte sizes (`1 GiB`, `512kB`). Pure, never throw.
 */

export type UnitResult = { ok: true; value: number } | { ok: false; reason: string };

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1_000,
  mb: 1_000_000,
  gb: 1_000_000_000,
  tb: 1_000_000_000_000,
  kib: 1_024,
  mib: 1_048_576,
  gib: 1_073_741_824,
  tib: 1_099_511_627_776,
};

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/;
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?$/i;

/**
 * Parses a duration into milliseconds. Accepts a non-negative number of
 * milliseconds, or a string such as `250ms`, `1s`, `5m`, `12h`, `90d`, `2w`,
 * or a sequence of them (`1h30m`).
 */
export function parseDuration(input: unknown): UnitResult {
  if (typeof input === 'number') {
    return Number.isFinite(input) && input >= 0
      ? { ok: true, value: Math.round(input) }
      : { ok: false, reason: `duration must be a non-negative number of milliseconds, got ${input}` };
  }
  if (typeof input !== 'string') return { ok: false, reason: `duration must be a string like "5m", got ${typeof input}` };
  const text = input.trim();
  if (/^\d+$/.test(text)) return { ok: true, value: Number(text) };
  const parts = text.match(/\d+(?:\.\d+)?\s*(?:ms|s|m|h|d|w)/g);
  if (parts === null || parts.join('').replace(/\s/g, '') !== text.replace(/\s/g, '')) {
    return { ok: false, reason: `invalid duration "${input}" (use e.g. 500ms, 1s, 5m, 12h, 90d)` };
  }
  let total = 0;
  for (const part of parts) {
    const m = DURATION_RE.exec(part.trim());
    const unit = m?.[2];
    if (m === null || unit === undefined) return { ok: false, reason: `invalid duration "${input}"` };
    total += Number(m[1]) * (DURATION_UNITS[unit] ?? 0);
  }
  if (!Number.isSafeInteger(Math.round(total))) return { ok: false, reason: `duration "${input}" is too large` };
  return { ok: true, value: Math.round(total) };
}

/** Parses a byte size: a non-negative integer of bytes, or `64kB`, `256 KiB`, `1 GiB`, … */
export function parseByteSize(input: unknown): UnitResult {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0
      ? { ok: true, value: input }
      : { ok: false, reason: `size must be a non-negative whole number of bytes, got ${input}` };
  }
  if (typeof input !== 'string') return { ok: false, reason: `size must be a string like "1 GiB", got ${typeof input}` };
  const m = SIZE_RE.exec(input.trim());
  if (m === null) return { ok: false, reason: `invalid size "${input}" (use e.g. 1048576, 512KiB, 1 GiB)` };
  const factor = SIZE_UNITS[(m[2] ?? 'b').toLowerCase()] ?? 1;
  const value = Math.round(Number(m[1]) * factor);
  if (!Number.isSafeInteger(value)) return { ok: false, reason: `size "${input}" is too large` };
  return { ok: true, value };
}
