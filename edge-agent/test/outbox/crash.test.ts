import { execFileSync, spawn } from 'node:child_process';
import { readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decode, OutboxKit, peekAll } from './outbox-kit.js';

const kit = new OutboxKit();
afterEach(() => kit.cleanup());

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const built = path.join(repo, 'edge-agent', 'dist', 'src', 'outbox', 'index.js');

/** The child runs the built outbox; rebuild when a source is newer than the build. */
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
 * Appends as fast as it can (16 appends in flight) and prints `a seq n` when an append resolved;
 * acks every batch whose n is a multiple of 3 and prints `k seq` when that ack resolved.
 */
const CHILD = `
import { openOutbox } from ${JSON.stringify(pathToFileURL(built).href)};
const outbox = await openOutbox({ dir: process.argv[2], fsync: process.argv[3], segmentBytes: 16 * 1024, groupCommitMs: 2 });
let next = Number(process.argv[4]);
async function worker() {
  for (;;) {
    const n = next++;
    const entry = await outbox.append([{ ts: 1700000000000 + n, metrics: { n }, tags: { pad: 'x'.repeat(n % 300 + 1) } }]);
    process.stdout.write('a ' + entry.seq + ' ' + n + '\\n');
    if (n % 3 === 0) {
      await outbox.ack(entry.seq);
      process.stdout.write('k ' + entry.seq + ' ' + n + '\\n');
    }
  }
}
for (let w = 0; w < 16; w += 1) void worker();
`;

interface Line {
  readonly kind: string;
  readonly seq: number;
  readonly n: number;
}

function runAndKill(script: string, args: readonly string[], lines: number): Promise<Line[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const seen: Line[] = [];
    let pending = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const parts = (pending + chunk).split('\n');
      pending = parts.pop() ?? '';
      for (const part of parts) {
        const [kind = '', seq = '', n = ''] = part.split(' ');
        seen.push({ kind, seq: Number(seq), n: Number(n) });
      }
      if (seen.length >= lines) child.kill('SIGKILL');
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(seen);
      else reject(new Error(`the child exited on its own (${String(code)}): ${stderr}`));
    });
  });
}

describe('outbox crash safety', () => {
  beforeAll(ensureBuilt, 120_000);

  it.each(['batch', 'always', 'none'])(
    'keeps every resolved append exactly once and forgets every resolved ack when SIGKILLed mid-burst, twice (fsync %s)',
    async (fsync) => {
      const dir = await kit.tempDir();
      const script = path.join(await kit.tempDir(), 'append-forever.mjs');
      await writeFile(script, CHILD);
      const first = await runAndKill(script, [dir, fsync, '1'], 600);
      const second = await runAndKill(script, [dir, fsync, '1000000'], 600);
      const lines = [...first, ...second];

      const outbox = await kit.open({ dir });
      const entries = await peekAll(outbox);
      const bySeq = new Map(entries.map((entry) => [entry.seq, entry]));
      expect(bySeq.size).toBe(entries.length);
      const ns = entries.map((entry) => decode(entry).samples[0]?.metrics['n']);
      expect(new Set(ns).size).toBe(ns.length);
      for (const entry of entries) expect(decode(entry).seq).toBe(entry.seq);

      const appended = lines.filter((line) => line.kind === 'a');
      const acked = new Set(lines.filter((line) => line.kind === 'k').map((line) => line.seq));
      expect(appended.length).toBeGreaterThan(300);
      for (const line of appended) {
        if (acked.has(line.seq)) {
          expect(bySeq.has(line.seq), `acked seq ${line.seq} came back`).toBe(false);
        } else if (line.n % 3 !== 0) {
          const entry = bySeq.get(line.seq);
          expect(entry === undefined ? undefined : decode(entry).samples[0]?.metrics['n'], `seq ${line.seq}`).toBe(line.n);
        }
      }
      // The second run continued the sequence.
      const firstMax = Math.max(...first.filter((line) => line.kind === 'a').map((line) => line.seq));
      expect(Math.min(...second.filter((line) => line.kind === 'a').map((line) => line.seq))).toBeGreaterThan(firstMax);
      expect(outbox.stats().corruptBytes).toBe(0);
    },
    60_000,
  );
});
