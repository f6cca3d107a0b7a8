/**
 * The edge agent's footprint on a device: one real `outpost-agent run` process sending to a
 * real `outpost server` process (both on loopback), at 10 and at 100 metrics/s (a simulated
 * collector with 10, then 100 metrics sampled every second). After a warm-up, the agent's RSS
 * (/proc/PID/status VmRSS) and CPU time (/proc/PID/stat utime+stime) are sampled for a bounded
 * run; the table shows steady-state RSS (median and max) and CPU as % of one core, against the
 * goals (RSS median ≤ 50 MB and max ≤ 60 MB; ≤ 1 % of a core at 10 metrics/s), plus how many
 * samples the platform stored — so a figure from an agent that was not actually sending is
 * visible as such.
 *
 *   npm run build && node bench/dist/src/agent-resources.js [--duration 60s] [--warmup 15s] [--sample 1s] [--rates 10,100]
 *       [--agent standalone|package] [--node-flags=launcher|--node-flags="FLAGS"]
 *
 * By default it measures what a device runs: the one-file agent of the install bundle
 * (edge-agent/dist/standalone, `npm run build` makes it) with the node flags the launcher
 * passes (OUTPOST_AGENT_NODE_FLAGS's default in edge-agent/install/launcher.sh).
 * `--agent package` runs the compiled package (dist/src/main.js and node_modules) instead;
 * `--node-flags=` runs node with V8's defaults (flags go after `=`: parseArgs takes no value that starts with a dash).
 *
 * Each rate gets its own device (own state dir, own outbox). The agent logs at info, as it
 * would under systemd; its output is read and discarded.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { adminApi, findFreePorts, startServerProcess, waitFor } from '@outpost/e2e';
import { parseDuration } from '@outpost/protocol';
import { printResult } from './result-line.js';
import { median } from './stats.js';

const AGENT_SRC = dirname(createRequire(import.meta.url).resolve('@outpost/edge-agent'));
const AGENT_DIR = dirname(dirname(AGENT_SRC));
/** Linux's USER_HZ: the unit of utime/stime in /proc/PID/stat (100 on every mainstream kernel). */
const CLOCK_TICKS_PER_S = 100;
const RSS_MEDIAN_GOAL_MB = 50;
const RSS_MAX_GOAL_MB = 60;
const CPU_GOAL_PCT_AT_10 = 1;

function durationArg(name: string, text: string): number {
  const parsed = parseDuration(text);
  if (!parsed.ok || parsed.value < 1) throw new Error(`--${name}: ${parsed.ok ? 'must be positive' : parsed.reason}`);
  return parsed.value;
}

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '60s' },
    warmup: { type: 'string', default: '15s' },
    sample: { type: 'string', default: '1s' },
    rates: { type: 'string', default: '10,100' },
    /** Which agent: the one-file build the install bundle ships, or the compiled package with node_modules. */
    agent: { type: 'string', default: 'standalone' },
    /** Node flags for the agent process: `launcher` (the launcher's default) or the flags themselves ("" for none). */
    'node-flags': { type: 'string', default: 'launcher' },
  },
});
const durationMs = durationArg('duration', values.duration);
const warmupMs = durationArg('warmup', values.warmup);
const sampleMs = durationArg('sample', values.sample);
if (values.agent !== 'standalone' && values.agent !== 'package') throw new Error(`--agent: ${values.agent} is neither standalone nor package`);
const AGENT_BIN = values.agent === 'standalone' ? join(AGENT_DIR, 'dist', 'standalone', 'dist', 'src', 'main.js') : join(AGENT_SRC, 'main.js');
await readFile(AGENT_BIN).catch((err: unknown) => {
  throw new Error(`${AGENT_BIN} is missing: run \`npm run build\` first`, { cause: err });
});

/**
 * The launcher's default node flags: `NODE_FLAGS='…'` in launcher.sh's branch without
 * OUTPOST_AGENT_NODE_FLAGS, plus `--no-expose-wasm` below Node 23 as the launcher adds it.
 */
async function launcherFlags(): Promise<string> {
  const script = await readFile(join(AGENT_DIR, 'install', 'launcher.sh'), 'utf8');
  const found = /^\s*NODE_FLAGS='([^']*)'$/m.exec(script)?.[1];
  if (found === undefined) throw new Error("edge-agent/install/launcher.sh has no NODE_FLAGS='…' default line");
  const wasmByVersion = script.includes('--no-expose-wasm"') && Number(process.versions.node.split('.')[0]) < 23;
  return wasmByVersion ? `${found} --no-expose-wasm` : found;
}
const nodeFlags = (values['node-flags'] === 'launcher' ? await launcherFlags() : values['node-flags']).split(' ').filter((f) => f !== '');
const rates = values.rates.split(',').map((r) => {
  const n = Number(r);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`--rates: ${r} is not a whole number of metrics/s from 1 to 1000`);
  return n;
});

interface ProcSample {
  readonly at: number;
  readonly rssKb: number;
  readonly cpuTicks: number;
}

async function procSample(pid: number): Promise<ProcSample> {
  const [status, stat] = await Promise.all([readFile(`/proc/${pid}/status`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]);
  const rssKb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1]);
  // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuTicks = Number(fields[11]) + Number(fields[12]);
  if (!Number.isFinite(rssKb) || !Number.isFinite(cpuTicks)) throw new Error(`cannot read /proc/${pid}`);
  return { at: Date.now(), rssKb, cpuTicks };
}

/** A simulated collector of `rate` metrics/s: up to 100 metrics every second, more by sampling faster. */
function agentConfig(rate: number): unknown {
  const metricsPerSample = Math.min(rate, 100);
  const intervalMs = Math.round((1000 * metricsPerSample) / rate);
  const metrics = Object.fromEntries(Array.from({ length: metricsPerSample }, (_, i) => [`m${String(i).padStart(3, '0')}`, { base: 20 + i, amplitude: 2, periodS: 60, noise: 0.1 }]));
  return { collectors: [{ type: 'simulated', intervalMs, seed: rate, metrics }] };
}

function runToEnd(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [AGENT_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } });
    let output = '';
    child.stdout.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr.on('data', (b: Buffer) => (output += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output }));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

interface Row {
  readonly rate: number;
  readonly shape: string;
  readonly rssMedianMb: number;
  readonly rssMaxMb: number;
  readonly cpuPct: number;
  readonly stored: number;
  readonly expected: number;
}

const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-agent-'));
const [http, device, mqtt] = await findFreePorts(3);
const server = await startServerProcess(dir, {
  OUTPOST_HTTP_PORT: String(http),
  OUTPOST_DEVICE_PORT: String(device),
  OUTPOST_MQTT_PORT: String(mqtt),
}).catch(async (err: unknown) => {
  await rm(dir, { recursive: true, force: true });
  throw err;
});
const rows: Row[] = [];
try {
  const api = await adminApi(server.operatorUrl);
  const token = (await api('POST', '/api/v1/enrollment-tokens', { group: 'bench', maxUses: rates.length, ttlSeconds: 3600 })) as { token: string; caFingerprint: string };
  for (const rate of rates) {
    const deviceId = `bench-agent-${String(rate)}`;
    const stateDir = join(dir, 'agents', deviceId);
    await mkdir(stateDir, { recursive: true });
    await writeFile(join(stateDir, 'agent.json'), JSON.stringify(agentConfig(rate)));
    const enrolled = await runToEnd(['enroll', '--server', server.deviceUrl, '--token', token.token, '--ca-fingerprint', token.caFingerprint, '--state-dir', stateDir, '--device-id', deviceId]);
    if (enrolled.code !== 0) throw new Error(`enroll ${deviceId} failed (${String(enrolled.code)}):\n${enrolled.output}`);

    const agent = spawn(process.execPath, [...nodeFlags, AGENT_BIN, 'run', '--state-dir', stateDir, '--log-level', 'info'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } });
    let tail = '';
    const keepTail = (b: Buffer): void => {
      tail = (tail + b.toString()).slice(-4000);
    };
    agent.stdout.on('data', keepTail);
    agent.stderr.on('data', keepTail);
    const pid = agent.pid ?? 0;
    try {
      const exited = (): Error | undefined => (agent.exitCode === null && agent.signalCode === null ? undefined : new Error(`the agent exited (${String(agent.exitCode ?? agent.signalCode)}):\n${tail}`));
      await waitFor(
        async () => {
          const view = (await api('GET', `/api/v1/devices/${deviceId}`)) as { online: boolean };
          return view.online;
        },
        { description: `${deviceId} online`, timeoutMs: 30_000, intervalMs: 200, abortIf: exited },
      ).catch((err: unknown) => {
        throw new Error(`${(err as Error).message}; the agent's last output:\n${tail}`, { cause: err });
      });
      await delay(warmupMs);
      const samples: ProcSample[] = [await procSample(pid)];
      const measureFrom = samples[0]?.at ?? Date.now();
      while (Date.now() - measureFrom < durationMs) {
        await delay(Math.min(sampleMs, durationMs - (Date.now() - measureFrom)));
        const failure = exited();
        if (failure !== undefined) throw failure;
        samples.push(await procSample(pid));
      }
      const first = samples[0];
      const last = samples[samples.length - 1];
      if (first === undefined || last === undefined || last.at <= first.at) throw new Error('no measurement window');
      const cpuPct = ((last.cpuTicks - first.cpuTicks) / CLOCK_TICKS_PER_S / ((last.at - first.at) / 1000)) * 100;
      const rss = samples.map((s) => s.rssKb / 1024);
      // How many samples of the first metric the platform stored in the measured window.
      const query = `/api/v1/devices/${deviceId}/telemetry?metric=m000&from=${String(first.at)}&to=${String(last.at)}&every=1h&fn=count`;
      const metricsPerSample = Math.min(rate, 100);
      const expected = Math.floor(((last.at - first.at) * rate) / metricsPerSample / 1000);
      const countStored = async (): Promise<number> => ((await api('GET', query)) as { points: { value: number }[] }).points.reduce((sum, p) => sum + p.value, 0);
      // The last batches may still be on their way (batching, ingest): give them a few seconds.
      const stored = await waitFor(async () => {
        const n = await countStored();
        return n >= expected ? n : undefined;
      }, { description: 'the window stored', timeoutMs: 5_000, intervalMs: 250 }).catch(countStored);
      rows.push({
        rate,
        shape: `${String(metricsPerSample)} metrics every ${String(Math.round((1000 * metricsPerSample) / rate))} ms`,
        rssMedianMb: median(rss),
        rssMaxMb: Math.max(...rss),
        cpuPct,
        stored,
        expected,
      });
    } finally {
      await stopChild(agent);
    }
  }
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}

const header = ['metrics/s', 'collector', 'RSS median MB', 'RSS max MB', 'CPU % of a core', 'samples stored / expected', 'goal'];
const table = rows.map((r) => [
  String(r.rate),
  r.shape,
  r.rssMedianMb.toFixed(1),
  r.rssMaxMb.toFixed(1),
  r.cpuPct.toFixed(2),
  `${String(r.stored)} / ${String(r.expected)}`,
  `RSS median ≤ ${String(RSS_MEDIAN_GOAL_MB)}, max ≤ ${String(RSS_MAX_GOAL_MB)} MB: ${r.rssMedianMb <= RSS_MEDIAN_GOAL_MB && r.rssMaxMb <= RSS_MAX_GOAL_MB ? 'met' : 'MISSED'}${r.rate === 10 ? `; CPU ≤ ${String(CPU_GOAL_PCT_AT_10)} %: ${r.cpuPct <= CPU_GOAL_PCT_AT_10 ? 'met' : 'MISSED'}` : ''}`,
]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)));
const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
console.log(`outpost-agent resources (${values.agent} agent; node ${process.version}${nodeFlags.length === 0 ? '' : ` ${nodeFlags.join(' ')}`}; warm-up ${String(warmupMs / 1000)} s, measured ${String(durationMs / 1000)} s, sampled every ${String(sampleMs)} ms)`);
console.log(line(header));
console.log(line(widths.map((w) => '-'.repeat(w))));
for (const row of table) console.log(line(row));
printResult({
  bench: 'agent-resources',
  figures: rows.flatMap((r) => [
    { name: `agent RSS median at ${String(r.rate)} metrics/s`, value: r.rssMedianMb, unit: 'MB', better: 'lower' as const, goal: `≤ ${String(RSS_MEDIAN_GOAL_MB)} MB` },
    { name: `agent RSS max at ${String(r.rate)} metrics/s`, value: r.rssMaxMb, unit: 'MB', better: 'lower' as const, goal: `≤ ${String(RSS_MAX_GOAL_MB)} MB` },
    { name: `agent CPU at ${String(r.rate)} metrics/s`, value: r.cpuPct, unit: '% of a core', better: 'lower' as const, ...(r.rate === 10 ? { goal: `≤ ${String(CPU_GOAL_PCT_AT_10)} %` } : {}) },
    { name: `agent samples stored at ${String(r.rate)} metrics/s`, value: r.stored, unit: `of ${String(r.expected)}`, better: 'higher' as const },
  ]),
});
