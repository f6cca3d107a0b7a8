import { describe, expect, it } from 'vitest';
import { formatTable } from '../../src/cli/format-table.js';
import { formatTime } from '../../src/cli/terminal-text.js';

describe('formatTable', () => {
  const columns = [
    { header: 'name', value: (row: { name: string; note?: string }) => row.name },
    { header: 'note', value: (row: { name: string; note?: string }) => row.note },
  ];

  it('pads every column but the last to its widest cell, two spaces apart', () => {
    expect(formatTable(columns, [{ name: 'a', note: 'first' }, { name: 'longer-name', note: 'x' }])).toEqual([
      'NAME         NOTE',
      'a            first',
      'longer-name  x',
    ]);
  });

  it('shows an empty cell as "-" and never leaves trailing blanks', () => {
    expect(formatTable(columns, [{ name: 'a' }])).toEqual(['NAME  NOTE', 'a     -']);
  });
});

describe('formatTime', () => {
  it('prints epoch milliseconds as RFC 3339 UTC to the second', () => {
    expect(formatTime(Date.UTC(2026, 0, 31, 12, 0, 0, 999))).toBe('2026-01-31T12:00:00Z');
    expect(formatTime(undefined)).toBe('-');
  });
});
