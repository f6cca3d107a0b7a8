/**
 * The edge agent's outbox: append rate under each fsync policy (one append at a time, as the
 * pipeline does, and 32 in flight), then replay after a restart — reopen (verifying every
 * segment), then peek 100 + ack each until empty, as the publisher drains a week-long backlog.
 * Batches are 10 samples × 10 metrics (~2 KiB of JSON).
 *
 *   npm run build && node bench/dist/src/agent-outbox.js [appends=2000] [backlog=20000]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openOutbox } from '@outpost/edge-agent';
import type { FsyncPolicy, Outbox } from '@outpost/edge-agent';
import type { TelemetrySample } from '@outpost/protocol';

const appends = Number(process.argv[2] ?? 2000);
const backlog = Number(process.argv[3] ?? 20_000);

const batch: TelemetrySample[] = Array.from({ length: 10 }, (_, i) => ({
  ts: 1_700_000_000_000 + i * 1000,
  metrics: Object.fromEntries(Array.from({ length: 10 }, (_, m) => [`sensor.m${m}`, 20 + Math.sin(i + m) * 5])),
}));
const batchBytes = Buffer.byteLength(JSON.stringify({ v: 1, seq: 1, samples: batch }));

async function withOutbox<T>(fsync: FsyncPolicy, run: (outbox: Outbox, dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-outbox-'));
  try {
    const outbox = await openOutbox({ dir, fsync, maxBytes: 1024 * 1024 * 1024 });
    try {
      return await run(outbox, dir);
    } finally {
      await outbox.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}

async function appendRate(outbox: Outbox, count: number, inFlight: number): Promise<{ perS: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        next += 1;
        const t0 = performance.now();
        await outbox.append(batch);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perS: count / seconds, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

console.log(`Agent outbox, batch ${batchBytes} B (10 samples x 10 metrics), node ${process.version}, ${tmpdir()}`);
console.log(`${'fsync'.padEnd(8)} ${'in flight'.padStart(9)} ${'appends/s'.padStart(10)} ${'MiB/s'.padStart(7)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`);
for (const fsync of ['always', 'batch', 'none'] as const) {
  for (const inFlight of [1, 32]) {
    // One fsync per append is slow on purpose: fewer appends keep the row short.
    const count = fsync === 'always' ? Math.max(100, Math.floor(appends / 4)) : appends;
    const result = await withOutbox(fsync, (outbox) => appendRate(outbox, count, inFlight));
    console.log(
      `${fsync.padEnd(8)} ${String(inFlight).padStart(9)} ${result.perS.toFixed(0).padStart(10)} ${((result.perS * batchBytes) / 1048576).toFixed(1).padStart(7)} ${result.p50.toFixed(2).padStart(8)} ${result.p99.toFixed(2).padStart(8)}`,
    );
  }
}

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-outbox-'));
try {
  const writer = await openOutbox({ dir, fsync: 'none', maxBytes: 1024 * 1024 * 1024 });
  await appendRate(writer, backlog, 32);
  const bytes = writer.stats().bytes;
  await writer.close();
  const openedAt = performance.now();
  const reader = await openOutbox({ dir, fsync: 'batch', maxBytes: 1024 * 1024 * 1024 });
  const openMs = performance.now() - openedAt;
  const started = performance.now();
  let replayed = 0;
  for (;;) {
    const entries = await reader.peek(100);
    if (entries.length === 0) break;
    await Promise.all(entries.map((entry) => reader.ack(entry.seq)));
    replayed += entries.length;
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `replay: ${replayed} entries (${(bytes / 1048576).toFixed(1)} MiB on disk): reopen + verify ${openMs.toFixed(0)} ms, ` +
      `peek(100) + ack ${(replayed / seconds).toFixed(0)} entries/s (${((replayed * batchBytes) / 1048576 / seconds).toFixed(1)} MiB/s), ` +
      `left ${reader.stats().depth}, ${reader.stats().bytes} B`,
  );
  await reader.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
