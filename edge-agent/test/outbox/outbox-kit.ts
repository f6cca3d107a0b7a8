import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TelemetrySample } from '@outpost/protocol';
import { openOutbox } from '../../src/outbox/index.js';
import type { Outbox, OutboxEntry, OutboxLog, OutboxOptions } from '../../src/outbox/index.js';

/** Temp directories and the outboxes opened in them, closed and removed after each test. */
export class OutboxKit {
  private readonly opened: Outbox[] = [];
  private readonly dirs: string[] = [];

  async tempDir(): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'outpost-outbox-'));
    this.dirs.push(dir);
    return dir;
  }

  async open(options: OutboxOptions): Promise<Outbox> {
    const outbox = await openOutbox(options);
    this.opened.push(outbox);
    return outbox;
  }

  async cleanup(): Promise<void> {
    await Promise.allSettled(this.opened.splice(0).map((outbox) => outbox.close()));
    await Promise.allSettled(this.dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  }
}

/** One sample whose value is `n`, at a fixed time plus `n` seconds. */
export function samples(n: number, pad = 0): TelemetrySample[] {
  const sample: TelemetrySample = { ts: 1_700_000_000_000 + n * 1000, metrics: { n } };
  return pad > 0 ? [{ ...sample, tags: { pad: 'x'.repeat(pad) } }] : [sample];
}

export interface Batch {
  readonly v: number;
  readonly seq: number;
  readonly samples: TelemetrySample[];
}

export function decode(entry: OutboxEntry): Batch {
  return JSON.parse(entry.payload.toString('utf8')) as Batch;
}

/** Every pending entry, in order. */
export function peekAll(outbox: Outbox): Promise<readonly OutboxEntry[]> {
  return outbox.peek(Number.MAX_SAFE_INTEGER);
}

export interface LogLine {
  readonly level: 'warn' | 'error';
  readonly object: object;
  readonly message: string;
}

export function memoryLog(): OutboxLog & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    warn: (object, message) => lines.push({ level: 'warn', object, message }),
    error: (object, message) => lines.push({ level: 'error', object, message }),
  };
}
