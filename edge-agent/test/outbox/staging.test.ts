import { execFileSync, spawn } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decode, memoryLog, OutboxKit, peekAll, samples } from './outbox-kit.js';

const kit = new OutboxKit();
afterEach(() => kit.cleanup());

const one = (n: number, pad = 0) => samples(n, pad)[0] as NonNullable<ReturnType<typeof samples>[0]>;
const values = (entries: readonly { payload: Buffer }[]) => entries.flatMap((entry) => decode(entry as never).samples.map((s) => s.metrics['n']));

describe('outbox staging (samples durable before their batch is cut)', () => {
  it('seals the staged samples into one entry with the next seq, and refuses an append while a batch is open', async () => {
    const outbox = await kit.open({ dir: await kit.tempDir() });
    expect(await outbox.seal()).toEqual([]);
    await outbox.stage(one(1));
    await outbox.stage(one(2));
    expect(outbox.stats()).toMatchObject({ open: 2, depth: 0 });
    await expect(outbox.append(samples(9))).rejects.toMatchObject({ code: 'OUTBOX_BATCH_OPEN' });
    const [entry] = await outbox.seal();
    expect(entry?.seq).toBe(1);
    expect(decode(entry as never)).toMatchObject({ v: 1, seq: 1, samples: [one(1), one(2)] });
    await outbox.stage(one(3));
    expect((await outbox.seal()).map((e) => e.seq)).toEqual([2]);
    expect((await outbox.append(samples(4))).seq).toBe(3);
    expect(values(await peekAll(outbox))).toEqual([1, 2, 3, 4]);
  });

  it('turns the samples staged before a stop into their batch at the next open, and does not repeat sealed ones', async () => {
    const dir = await kit.tempDir();
    const log = memoryLog();
    const first = await kit.open({ dir });
    await first.stage(one(1));
    await first.seal();
    await first.stage(one(2));
    await first.stage(one(3));
    await first.close();
    const second = await kit.open({ dir, log });
    const entries = await peekAll(second);
    expect(entries.map((e) => e.seq)).toEqual([1, 2]);
    expect(values(entries)).toEqual([1, 2, 3]);
    expect(log.lines).toContainEqual(expect.objectContaining({ level: 'warn', object: { batches: 1, samples: 2 } }));
    await second.stage(one(4));
    expect((await second.seal()).map((e) => e.seq)).toEqual([3]);
    await second.close();
    const third = await kit.open({ dir });
    expect(values(await peekAll(third))).toEqual([1, 2, 3, 4]);
    expect(third.stats().open).toBe(0);
  });

  it('splits a sealed batch that is too large for one record, and keeps the seqs increasing', async () => {
    const outbox = await kit.open({ dir: await kit.tempDir(), maxBytes: 4096 });
    for (let n = 1; n <= 6; n += 1) await outbox.stage(one(n, 300));
    const entries = await outbox.seal();
    expect(entries.length).toBeGreaterThan(1);
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    expect(values(entries)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('counts the samples of the batches the bound drops, and warns once, then at most every dropWarnIntervalMs', async () => {
    const dir = await kit.tempDir();
    const log = memoryLog();
    let now = 1_000_000;
    const clock = { now: () => now };
    const outbox = await kit.open({ dir, maxBytes: 4096, segmentBytes: 1024, dropWarnIntervalMs: 60_000, clock, log });
    for (let n = 1; n <= 60; n += 1) {
      for (let k = 0; k < 3; k += 1) await outbox.stage(one(n * 10 + k, 40));
      await outbox.seal();
      now += 100;
    }
    const stats = outbox.stats();
    expect(stats.dropped).toBeGreaterThan(1);
    expect(stats.droppedSamples).toBe(3 * stats.dropped);
    expect(stats.maxBytes).toBe(4096);
    const warnings = () => log.lines.filter((line) => line.level === 'warn' && line.message.startsWith('outbox full'));
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]?.object).toMatchObject({ droppedSamples: 3 * (warnings()[0]?.object as { droppedBatches: number }).droppedBatches, maxBytes: 4096 });
    // A minute later, the next drop is logged with the sum since the first warning.
    now += 60_000;
    for (let n = 61; n <= 70; n += 1) {
      for (let k = 0; k < 3; k += 1) await outbox.stage(one(n * 10 + k, 40));
      await outbox.seal();
    }
    expect(warnings()).toHaveLength(2);
    const [w1, w2] = warnings().map((line) => line.object as { droppedSamples: number; totalDroppedSamples: number });
    // The second warning sums every drop since the first one.
    expect((w1?.totalDroppedSamples ?? 0) + (w2?.droppedSamples ?? 0)).toBe(w2?.totalDroppedSamples);
    const total = outbox.stats();
    await outbox.close();
    const reopened = await kit.open({ dir, maxBytes: 4096, segmentBytes: 1024 });
    expect(reopened.stats()).toMatchObject({ dropped: total.dropped, droppedSamples: total.droppedSamples });
  });
});

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const built = path.join(repo, 'edge-agent', 'dist', 'src', 'outbox', 'index.js');

async function ensureBuilt(): Promise<void> {
  const sources = path.join(repo, 'edge-agent', 'src', 'outbox');
  const times = await Promise.all((await readdir(sources)).map(async (name) => (await stat(path.join(sources, name))).mtimeMs));
  const builtAt = await stat(built).then(
    (info) => info.mtimeMs,
    () => 0,
  );
  if (builtAt < Math.max(...times)) {
    execFileSync(process.execPath, [path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'edge-agent'], { cwd: repo });
  }
}

/**
 * Stages samples as fast as it can (8 stages in flight), sealing after every 5th, and prints
 * `s n` once the stage of sample n resolved. A small compaction threshold makes the staging log
 * compact often, so kills land in every window: mid-stage, mid-seal, mid-compaction.
 */
const CHILD = `
import { openOutbox } from ${JSON.stringify(pathToFileURL(built).href)};
const outbox = await openOutbox({ dir: process.argv[2], fsync: process.argv[3], segmentBytes: 8 * 1024, groupCommitMs: 2, stagingCompactBytes: 512 });
let n = Number(process.argv[4]);
let inFlight = 0;
function next() {
  while (inFlight < 8) {
    const value = n++;
    inFlight += 1;
    outbox.stage({ ts: 1700000000000 + value, metrics: { n: value } }).then(() => {
      process.stdout.write('s ' + value + '\\n');
      inFlight -= 1;
      setImmediate(next);
    });
    if (value % 5 === 0) void outbox.seal();
  }
}
next();
`;

function runAndKill(script: string, args: readonly string[], lines: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const staged: number[] = [];
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const parts = (pending + chunk).split('\n');
      pending = parts.pop() ?? '';
      for (const part of parts) staged.push(Number(part.split(' ')[1]));
      if (staged.length >= lines) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(staged);
      else reject(new Error(`the child exited on its own (${String(code)}): ${stderr}`));
    });
  });
}

describe('outbox staging crash safety', () => {
  beforeAll(ensureBuilt, 120_000);

  it.each(['batch', 'none'])(
    'keeps every sample whose stage resolved exactly once when SIGKILLed mid-burst, twice (fsync %s)',
    async (fsync) => {
      const dir = await kit.tempDir();
      const script = path.join(await kit.tempDir(), 'stage-forever.mjs');
      await writeFile(script, CHILD);
      const first = await runAndKill(script, [dir, fsync, '1'], 400);
      const second = await runAndKill(script, [dir, fsync, '1000000'], 400);

      const outbox = await kit.open({ dir });
      const entries = await peekAll(outbox);
      const stored = values(entries);
      expect(new Set(stored).size, 'a sample stored twice').toBe(stored.length);
      const held = new Set(stored);
      const missing = [...first, ...second].filter((n) => !held.has(n));
      expect(missing, 'samples whose stage had resolved').toEqual([]);
      for (const entry of entries) expect(decode(entry).seq).toBe(entry.seq);
      expect(entries.map((e) => e.seq)).toEqual([...entries.map((e) => e.seq)].sort((a, b) => a - b));
      expect(outbox.stats().open).toBe(0);
    },
    60_000,
  );
});
