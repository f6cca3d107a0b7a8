/**
 * The bench runner against fake bench scripts in a temp dir (this tests the runner, not a bench):
 * result lines among human output are collected, a bench that exits non-zero / prints no result
 * line / hangs is a failed bench with its reason, and the table and the JSON line carry every
 * figure with its anchor, ratio and goal. The CLI refuses an unknown profile or bench.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resultLine } from '../src/result-line.js';
import { parseResultLines, renderJson, renderTable, runPlans, type BenchPlan, type RunReport } from '../src/runner.js';

const RUN_ALL = fileURLToPath(new URL('../dist/src/run-all.js', import.meta.url));

const GOOD = `
console.log('human output: 437 msg/s');
console.log(${JSON.stringify(
  resultLine({
    bench: 'fake-broker',
    figures: [
      { name: 'QoS 1 accepted msg/s', value: 400, unit: 'msg/s', better: 'higher', anchor: 'mosquitto', anchorValue: 800, goal: '≥ 1.0× mosquitto' },
      { name: 'idle session RSS', value: 56.25, unit: 'kB', better: 'lower', goal: '≤ 26 kB' },
      { name: 'no figure this run', value: Number.NaN, unit: 's' },
      { name: 'points lost', value: 0, unit: 'points', goal: '0' },
    ],
  }),
)});
console.log('trailing human line');
`;
const BROKEN = `process.stderr.write('setup\\nboom: influxd did not start\\n'); process.exit(3);`;
const THROWS = `throw new Error('launcher.sh has no NODE_FLAGS line');`;
const SILENT = `console.log('figures only for humans: 12 ms');`;
const HANGS = `console.log('starting'); setInterval(() => {}, 1000);`;
const GARBLED = `console.log('BENCH_RESULT {"bench":"x","figures":[{"name":1}]}');`;

let dir: string;
let report: RunReport;

function plan(bench: string, file: string, timeoutMs = 20_000): BenchPlan {
  return { bench, script: join(dir, file), args: ['a=1'], timeoutMs };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'outpost-run-all-'));
  await writeFile(join(dir, 'good.mjs'), GOOD);
  await writeFile(join(dir, 'broken.mjs'), BROKEN);
  await writeFile(join(dir, 'throws.mjs'), THROWS);
  await writeFile(join(dir, 'silent.mjs'), SILENT);
  await writeFile(join(dir, 'hangs.mjs'), HANGS);
  await writeFile(join(dir, 'garbled.mjs'), GARBLED);
  const echoed: string[] = [];
  report = await runPlans(
    'quick',
    [plan('fake-broker', 'good.mjs'), plan('broken', 'broken.mjs'), plan('throws', 'throws.mjs'), plan('silent', 'silent.mjs'), plan('hangs', 'hangs.mjs', 1_000), plan('garbled', 'garbled.mjs')],
    (line) => echoed.push(line),
  );
  expect(echoed).toContain('[fake-broker] human output: 437 msg/s');
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('run-all', () => {
  it('collects the figures of a bench that printed its result line', () => {
    const good = report.results[0];
    expect(good?.ok).toBe(true);
    expect(good?.figures).toEqual([
      { name: 'QoS 1 accepted msg/s', value: 400, unit: 'msg/s', better: 'higher', anchor: 'mosquitto', anchorValue: 800, goal: '≥ 1.0× mosquitto' },
      { name: 'idle session RSS', value: 56.25, unit: 'kB', better: 'lower', goal: '≤ 26 kB' },
      { name: 'no figure this run', value: null, unit: 's' },
      { name: 'points lost', value: 0, unit: 'points', goal: '0' },
    ]);
  });

  it('reports each failing bench with its reason', () => {
    const reasons = Object.fromEntries(report.results.filter((r) => !r.ok).map((r) => [r.bench, r.ok ? '' : r.reason]));
    expect(Object.keys(reasons)).toEqual(['broken', 'throws', 'silent', 'hangs', 'garbled']);
    // An uncaught error: its message, not the stack's last lines and Node's version.
    expect(reasons['throws']).toBe('exited with 1: Error: launcher.sh has no NODE_FLAGS line');
    expect(reasons['broken']).toMatch(/^exited with 3: setup \| boom: influxd did not start$/);
    expect(reasons['silent']).toBe('printed no BENCH_RESULT line');
    expect(reasons['hangs']).toBe('timed out after 1 s');
    expect(reasons['garbled']).toMatch(/^result line has no well-formed figures/);
  });

  it('renders one table row per figure, with anchor, ratio and goal, and one row per failure', () => {
    const table = renderTable(report);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^profile quick: 1 of 6 benches ok in \d+ s; \d+ × .+, [\d.]+ GiB, Node v\d+/);
    expect(lines[1]).toMatch(/^\| bench +\| figure +\| Outpost +\| anchor +\| ratio +\| goal +\|$/);
    const row = (needle: string): string[] => (lines.find((l) => l.includes(needle)) ?? '').split('|').map((c) => c.trim()).slice(1, -1);
    expect(row('QoS 1 accepted')).toEqual(['fake-broker', 'QoS 1 accepted msg/s', '400 msg/s', 'mosquitto: 800 msg/s', '0.50× (higher is better)', '≥ 1.0× mosquitto']);
    expect(row('idle session RSS')).toEqual(['fake-broker', 'idle session RSS', '56.3 kB', '—', '—', '≤ 26 kB']);
    expect(row('no figure this run')).toEqual(['fake-broker', 'no figure this run', '— s', '—', '—', '—']);
    expect(row('points lost')).toEqual(['fake-broker', 'points lost', '0 points', '—', '—', '0']);
    expect(row('FAILED: timed out')).toEqual(['hangs', 'FAILED: timed out after 1 s', '—', '—', '—', '—']);
    // The broken bench's reason holds '|': escaped so the Markdown table keeps its columns.
    expect(lines.find((l) => l.includes('boom'))).toContain('setup \\| boom');
    expect(lines).toHaveLength(2 + 1 + 4 + 5);
  });

  it('renders one JSON line with the profile, the machine and every result', () => {
    const json = renderJson(report);
    expect(json).not.toContain('\n');
    const parsed = JSON.parse(json) as { profile: string; machine: Record<string, unknown>; results: { bench: string; ok: boolean; reason?: string; figures: unknown[] }[] };
    expect(parsed.profile).toBe('quick');
    expect(Object.keys(parsed.machine).sort()).toEqual(['cpus', 'load1', 'mem', 'model', 'node']);
    expect(parsed.machine['node']).toBe(process.version);
    expect(parsed.results.map((r) => [r.bench, r.ok, r.figures.length])).toEqual([
      ['fake-broker', true, 4],
      ['broken', false, 0],
      ['throws', false, 0],
      ['silent', false, 0],
      ['hangs', false, 0],
      ['garbled', false, 0],
    ]);
    expect(parsed.results[1]?.reason).toContain('boom');
  });

  it('parses no figures from output without a result line and refuses a result line that is not JSON', () => {
    expect(parseResultLines('a\nb\n')).toEqual([]);
    expect(() => parseResultLines('BENCH_RESULT {nope')).toThrow(/result line is not JSON/);
  });

  it('the CLI refuses an unknown profile and an unknown bench, naming it', async () => {
    const run = (args: string[]): Promise<{ code: number | null; output: string }> =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [RUN_ALL, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (c: Buffer) => (output += c.toString()));
        child.stderr.on('data', (c: Buffer) => (output += c.toString()));
        child.once('close', (code) => resolve({ code, output }));
      });
    const profile = await run(['--profile', 'fastest']);
    expect(profile.code).not.toBe(0);
    expect(profile.output).toContain('--profile must be quick or full, got fastest');
    const bench = await run(['--only', 'broker,nope']);
    expect(bench.code).not.toBe(0);
    expect(bench.output).toContain('--only: no bench named nope');
  });
});
