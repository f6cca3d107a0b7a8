/**
 * Short readable log lines for a person at a terminal: `14:02:07 WARN  message key=value …`.
 * A pino destination (it receives pino's JSON lines); the full JSON log goes elsewhere (a file).
 */
import type { Writable } from 'node:stream';

const LEVELS: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
/** What pino adds to every line, and what the line shows in its own place. */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'service', 'v', 'reqId']);
const MAX_VALUE = 80;

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function cut(text: string): string {
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/** Text is quoted when it has spaces, quotes or `=`; other values are compact JSON. */
function valueText(key: string, value: unknown): string {
  let text: string;
  if (key === 'err' && typeof value === 'object' && value !== null) {
    const err = value as { message?: unknown; code?: unknown };
    text = [typeof err.code === 'string' ? err.code : undefined, typeof err.message === 'string' ? err.message : undefined].filter(Boolean).join(': ');
  } else if (typeof value === 'string') {
    text = value;
  } else {
    return cut(JSON.stringify(value) ?? String(value));
  }
  text = cut(text);
  return /[\s"=]/.test(text) || text === '' ? JSON.stringify(text) : text;
}

/** Whether a record is fastify's per-request line ("incoming request", "request completed"). */
export function isRequestLine(record: Readonly<Record<string, unknown>>): boolean {
  return 'req' in record || 'res' in record || 'responseTime' in record;
}

/**
 * One pino record as `HH:MM:SS LEVEL msg key=value …` (local time). Keys whose value the message
 * already spells out are left off; objects are compact JSON; long values are cut.
 */
export function formatLogLine(record: Readonly<Record<string, unknown>>): string {
  const time = typeof record['time'] === 'number' ? new Date(record['time']) : new Date();
  const level = typeof record['level'] === 'number' ? (LEVELS[record['level']] ?? String(record['level'])) : 'INFO';
  const msg = typeof record['msg'] === 'string' ? record['msg'] : '';
  const fields: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (HIDDEN.has(key) || value === undefined) continue;
    const text = valueText(key, value);
    if (typeof value === 'string' && value.length >= 3 && msg.includes(value)) continue;
    fields.push(`${key}=${text}`);
  }
  const head = `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())} ${level.padEnd(5)}`;
  return [head, msg, ...fields].filter((part) => part !== '').join(' ');
}

export interface PrettyStreamOptions {
  /** pino's numeric level below which nothing is shown (30 = info, 40 = warn). */
  readonly minLevel: number;
}

/**
 * A pino destination that writes readable lines to `out`. Per-request lines below warn are left
 * to the JSON log: a terminal must not scroll with every request.
 */
export function createPrettyStream(out: Writable, options: PrettyStreamOptions): { write(line: string): void } {
  return {
    write(line: string): void {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line.endsWith('\n') ? line : `${line}\n`);
        return;
      }
      const level = typeof record['level'] === 'number' ? record['level'] : 30;
      if (level < options.minLevel) return;
      if (level < 40 && isRequestLine(record)) return;
      out.write(`${formatLogLine(record)}\n`);
    },
  };
}
