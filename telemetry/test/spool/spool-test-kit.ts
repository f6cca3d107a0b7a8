import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { firstValueFrom, take, timeout, toArray } from 'rxjs';
import { openSpool } from '../../src/spool/index.js';
import type { Spool, SpoolDeps, SpoolEntry, SpoolLogger, SpoolOptions } from '../../src/spool/index.js';

/** A temp directory per test and every spool opened in it, closed and removed afterwards. */
export class SpoolKit {
  readonly opened: Spool[] = [];
  private readonly dirs: string[] = [];

  async tempDir(): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'outpost-spool-'));
    this.dirs.push(dir);
    return dir;
  }

  async open(options: Partial<SpoolOptions> & { dir: string }, deps: SpoolDeps = {}): Promise<Spool> {
    const spool = await openSpool({ consumers: ['ingest', 'alerts'], ...options }, deps);
    this.opened.push(spool);
    return spool;
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.opened.splice(0).map((spool) => spool.close()));
    await Promise.allSettled(this.dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** The first `count` entries a consumer reads, or a timeout error after `ms`. */
export function readEntries(spool: Spool, consumer: string, count: number, ms = 5000): Promise<SpoolEntry[]> {
  return firstValueFrom(spool.read(consumer).pipe(take(count), toArray(), timeout(ms)));
}

export function payloadText(entry: SpoolEntry): string {
  return entry.payload.toString('utf8');
}

export function batchPayload(n: number, padBytes = 0): string {
  return JSON.stringify({ v: 1, seq: n, samples: [{ ts: 1_700_000_000_000 + n, metrics: { n } }], pad: 'x'.repeat(padBytes) });
}

export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly object: object;
  readonly message: string;
}

/** A SpoolLogger that keeps what it is told. */
export function memoryLogger(): SpoolLogger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (object, message) => lines.push({ level: 'info', object, message }),
    warn: (object, message) => lines.push({ level: 'warn', object, message }),
    error: (object, message) => lines.push({ level: 'error', object, message }),
  };
}

/** Polls `check` until it holds, or fails after `ms` (no fixed sleeps). */
export async function eventually(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met before the deadline');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
