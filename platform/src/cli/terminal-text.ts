/**
 * Text from the server or the user is shown on a terminal: control characters
 * (escape sequences, newlines) are replaced so output stays one line per item
 * and cannot drive the terminal.
 */
export function printable(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Epoch milliseconds as `2026-01-31T12:00:00Z` (UTC, to the second). */
export function formatTime(epochMs: number | null | undefined): string {
  if (epochMs === undefined || epochMs === null || !Number.isFinite(epochMs)) return '-';
  return new Date(epochMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
