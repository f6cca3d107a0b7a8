/**
 * The dead-letter file: an append-only JSON-lines file of what a store refused for good,
 * one `{at, reason, deviceId, ts, line|point}` per line. Appends are serialised, so lines
 * never interleave; `flush()` waits for appends already requested (close() uses it).
 */
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { TelemetryPoint } from '../store/telemetry-store.js';

export interface DeadLetter {
  readonly at: number;
  readonly reason: string;
  readonly deviceId: string;
  readonly ts: number;
  /** The refused line-protocol line (InfluxDB). */
  readonly line?: string;
  /** The refused point (embedded store). */
  readonly point?: TelemetryPoint;
}

export interface DeadLetterFile {
  readonly path: string;
  /** Dead letters appended since open. */
  readonly count: number;
  /** Appends the letters; resolves once they are in the file. Rejects when the file cannot be written. */
  append(letters: readonly DeadLetter[]): Promise<void>;
  /** Waits for every append requested so far (their failures are reported by their own promises). */
  flush(): Promise<void>;
}

export function openDeadLetterFile(file: string): DeadLetterFile {
  let count = 0;
  // Appends chain on `tail`, which never rejects (each append reports its own failure).
  let tail: Promise<void> = Promise.resolve();
  let dirReady = false;
  const write = async (text: string): Promise<void> => {
    if (!dirReady) {
      await mkdir(path.dirname(file), { recursive: true });
      dirReady = true;
    }
    await appendFile(file, text, 'utf8');
  };
  return {
    path: file,
    get count() {
      return count;
    },
    append(letters) {
      if (letters.length === 0) return Promise.resolve();
      count += letters.length;
      const text = letters.map((letter) => `${JSON.stringify(letter)}\n`).join('');
      const done = tail.then(() => write(text));
      tail = done.catch(() => undefined);
      return done;
    },
    flush() {
      return tail;
    },
  };
}
