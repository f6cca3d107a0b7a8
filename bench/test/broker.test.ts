/**
 * Smoke test of the broker benchmark: the built script runs both brokers (and the stack's floor,
 * bare aedes) with tiny numbers and prints every figure for each (the figures themselves are
 * never asserted).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../dist/src/broker.js', import.meta.url));
const RUN_TIMEOUT_MS = 150_000;

function run(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the broker bench did not finish in ${String(RUN_TIMEOUT_MS)} ms:\n${output}`));
    }, RUN_TIMEOUT_MS);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('bench: broker (Outpost vs mosquitto) with tiny numbers', () => {
  let cache: string;
  let result: { code: number | null; output: string };

  beforeAll(async () => {
    cache = await mkdtemp(join(tmpdir(), 'outpost-bench-broker-smoke-'));
    result = await run(['publishers=2', 'messages=20', 'window=4', 'idle=3', 'storm=3', 'settleMs=100', 'persistence=0', 'rounds=2', `cache=${cache}`]);
  }, RUN_TIMEOUT_MS + 10_000);
  afterAll(async () => {
    await rm(cache, { recursive: true, force: true });
  });

  it('exits 0 and accepts every message on both brokers', () => {
    expect(result.code, result.output).toBe(0);
    for (const line of [
      'Outpost QoS 1: 40/40 accepted (PUBACK)',
      'Outpost QoS 0: 40/40 accepted (spool)',
      'mosquitto QoS 1: 40/40 accepted (PUBACK)',
      'mosquitto QoS 0: 40/40 accepted (subscriber)',
    ]) {
      expect(result.output).toContain(line);
    }
    expect(result.output).toContain('stored in the spool: 40');
    expect(result.output).not.toContain('warning:');
  });

  it('alternates the throughput runs between the brokers, round by round, and reports the ratio of each round', () => {
    const order = result.output
      .split('\n')
      .filter((line) => / QoS 1: \d+\/\d+ accepted/.test(line) || /^round \d of 2:$/.test(line))
      .map((line) => line.trim().split(' QoS')[0]);
    expect(order).toEqual(['round 1 of 2:', 'Outpost', 'mosquitto', 'bare aedes', 'round 2 of 2:', 'Outpost', 'mosquitto', 'bare aedes']);
    expect(result.output).toMatch(/QoS 1 Outpost\/mosquitto msg\/s by round: \d+\.\d\d×, \d+\.\d\d× \(median \d+\.\d\d×\)/);
  });

  it('measures the floor of the stack (bare aedes over node:tls) beside them: throughput and idle sessions, no storm', () => {
    expect(result.output).toContain('bare aedes QoS 1: 40/40 accepted (PUBACK)');
    expect(result.output).toContain('bare aedes QoS 0: 40/40 accepted (subscriber)');
    expect(result.output).toMatch(/bare aedes idle: 3 sessions, RSS/);
    expect(result.output).not.toContain('bare aedes storm');
    expect(result.output).toMatch(/QoS 1: \d+ msg\/s \(mosquitto ×\d+\.\d\d\), \d+\.\d µs broker CPU per message; Outpost's own work on top: -?\d+\.\d µs/);
    const json = result.output.split('\n').find((line) => line.startsWith('BENCH_RESULT '));
    const figures = (JSON.parse(json?.slice('BENCH_RESULT '.length) ?? '{}') as { figures?: { name: string; value: number | null }[] }).figures ?? [];
    expect(figures.find((f) => f.name === 'floor: bare aedes QoS 1 accepted msg/s')?.value).toBeGreaterThan(0);
  });

  it('connects every storm client, resuming TLS sessions the second time', () => {
    for (const broker of ['Outpost', 'mosquitto']) {
      expect(result.output).toContain(`${broker} storm: 3/3 CONNACKs`);
      expect(result.output).toMatch(new RegExp(`${broker} storm with TLS resumption: 3/3 CONNACKs .* 0 failed, 3 resumed TLS sessions`));
    }
  });

  it('prints the side-by-side table, with a ratio wherever both figures are non-zero', () => {
    const rows = result.output.split('\n').filter((l) => l.includes(' | ') && !l.startsWith('figure'));
    expect(rows).toHaveLength(10);
    expect(rows.some((row) => row.startsWith('RSS per idle mTLS session, second half only'))).toBe(true);
    for (const row of rows) {
      // A few messages may cost a broker less than one clock tick (10 ms) of CPU, and the second
      // half of 3 idle sessions (2) may move RSS by less than a page: no ratio then.
      const maybeZero = row.includes('CPU') || row.includes('second half');
      expect(row, row).toMatch(maybeZero ? /(\d\.\d\d× \((higher|lower) is better\)|—)$/ : /\d\.\d\d× \((higher|lower) is better\)$/);
    }
  });
});
