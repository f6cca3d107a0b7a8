/** Short, locale-independent renderings for tables. */

export function ago(ts: number | null | undefined, now: number = Date.now()): string {
  if (ts === null || ts === undefined) return 'never';
  const s = Math.round((now - ts) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${String(s)} s ago`;
  if (s < 3600) return `${String(Math.floor(s / 60))} min ago`;
  if (s < 86_400) return `${String(Math.floor(s / 3600))} h ago`;
  return `${String(Math.floor(s / 86_400))} d ago`;
}

export function dateTime(ts: number | null | undefined): string {
  if (ts === null || ts === undefined) return '—';
  return new Date(ts).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

export function value(v: unknown): string {
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)));
  if (v === null || v === undefined) return '—';
  return String(v);
}

export function firmwareLabel(fw: { name: string; version: string } | null): string {
  return fw === null ? 'unknown' : `${fw.name}@${fw.version}`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${String(n)} B`;
  if (n < 1_048_576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1_048_576).toFixed(1)} MiB`;
}

const COMPACT = new Intl.NumberFormat('en', { notation: 'compact', maximumSignificantDigits: 4 });

/** A chart axis tick: short enough for the 56 px axis (22,843,387,904 → "22.84B"; 29.81 stays). */
export function axisTick(n: number): string {
  return Math.abs(n) >= 10_000 ? COMPACT.format(n) : String(Number(n.toPrecision(6)));
}
