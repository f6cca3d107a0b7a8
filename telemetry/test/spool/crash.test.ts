import { execFileSync, spawn } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readEntries, SpoolKit } from './spool-test-kit.js';

const kit = new SpoolKit();
afterEach(() => kit.cleanup());

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const built = path.join(repo, 'telemetry', 'dist', 'src', 'index.js');

/** The child imports the built package (npm test runs `tsc -b` first); rebuild when stale. */
async function ensureBuilt(): Promise<void> {
  const sources = path.join(repo, 'telemetry', 'src', 'spool');
  const newest = Math.max(...(await Promise.all((await readdir(sources)).map(async (name) => (await stat(path.join(sources, name))).mtimeMs))));
  const builtAt = await stat(path.join(repo, 'telemetry', 'dist', 'src', 'spool', 'open-spool.js')).then(
    (info) => info.mtimeMs,
    () => 0,
  );
  if (builtAt < newest) execFileSync(process.execPath, [path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc'), '-b', 'telemetry'], { cwd: repo });
}

/** Appends as fast as it can (32 appends in flight) and prints `seq n` for each acknowledged one. */
const CHILD = `
import { openSpool } from ${JSON.stringify(pathToFileURL(built).href)};
const spool = await openSpool({ dir: process.argv[2], consumers: ['ingest'], segmentBytes: 256 * 1024, groupCommitMs: 2 });
let next = 0;
const payload = (n) => JSON.stringify({ v: 1, seq: n, samples: [{ ts: n, metrics: { n } }], pad: 'x'.repeat(n % 700) });
async function worker() {
  for (;;) {
    const n = next++;
    const { seq } = await spool.append({ deviceId: 'dev-' + (n % 7), payload: payload(n) });
    process.stdout.write(seq + ' ' + n + '\\n');
  }
}
for (let w = 0; w < 32; w += 1) void worker();
`;

interface Ack {
  readonly seq: number;
  readonly n: number;
}

/** Runs the child on `dir` until it has printed `acks` acknowledgements, then SIGKILLs it. */
function runAndKill(script: string, dir: string, acks: number): Promise<Ack[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    const seen: Ack[] = [];
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const [seq, n] = line.split(' ').map(Number);
        if (seq !== undefined && n !== undefined) seen.push({ seq, n });
      }
      if (seen.length >= acks) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve(seen);
      else reject(new Error(`the child exited on its own (${String(_code)}): ${stderr}`));
    });
  });
}

describe('spool crash safety', () => {
  beforeAll(ensureBuilt, 120_000);

  it('loses no acknowledged record when the process is SIGKILLed mid-burst, twice', async () => {
    const dir = await kit.tempDir();
    const script = path.join(await kit.tempDir(), 'append-forever.mjs');
    await writeFile(script, CHILD);

    const first = await runAndKill(script, dir, 300);
    const second = await runAndKill(script, dir, 300);
    const acked = [...first, ...second];
    expect(first.length).toBeGreaterThanOrEqual(300);

    const spool = await kit.open({ dir, consumers: ['ingest'] });
    const stats = spool.stats();
    const maxAcked = Math.max(...acked.map((ack) => ack.seq));
    expect(stats.lastSeq).toBeGreaterThanOrEqual(maxAcked);
    const entries = await readEntries(spool, 'ingest', stats.lastSeq, 20_000);
    expect(stats.corruptRegions).toBe(0);
    const bySeq = new Map(entries.map((entry) => [entry.seq, entry]));
    // The second run continued the sequence after the first run's durable end.
    expect(Math.min(...second.map((ack) => ack.seq))).toBeGreaterThan(Math.max(...first.map((ack) => ack.seq)));
    for (const ack of acked) {
      const entry = bySeq.get(ack.seq);
      expect(entry, `acknowledged seq ${ack.seq} is missing`).toBeDefined();
      const batch = JSON.parse(entry?.payload.toString('utf8') ?? 'null') as { seq: number };
      expect(batch.seq).toBe(ack.n);
      expect(entry?.deviceId).toBe(`dev-${ack.n % 7}`);
    }
  }, 60_000);
});
