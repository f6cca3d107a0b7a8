import { printable } from './terminal-text.js';

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string | number | null | undefined;
}

/**
 * An aligned plain-text table: a header row in capitals, columns separated by
 * two spaces, `-` for an empty cell, no trailing blanks. Returns the lines.
 */
export function formatTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string[] {
  const cells = rows.map((row) =>
    columns.map((column) => {
      const value = column.value(row);
      return value === undefined || value === null || value === '' ? '-' : printable(String(value));
    }),
  );
  const headers = columns.map((column) => column.header.toUpperCase());
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((line) => line[i]?.length ?? 0)));
  const render = (line: readonly string[]): string =>
    line
      .map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [render(headers), ...cells.map(render)];
}
