/**
 * The fault suite's shared set-up (issue 16 item 3): everything the files in test/test/faults/
 * need besides the process harness (../agent-harness.ts) and the real services (@outpost/e2e).
 *
 * - small disks: `mountTmpfs` puts a tmpfs of a given size on a directory (a server's spool, an
 *   agent's outbox) and `fill()` fills it to the last byte; a refused mount fails the test with
 *   its cause, never skips it;
 * - QoS 1 devices: `startQosDevices` enrolls raw MQTT devices on an `outpost server` and
 *   publishes numbered batches, each resent until its PUBACK (as an agent does), counting PUBACKs;
 * - InfluxDB counts: `influxCounts` is the exact InfluxQL count per device;
 * - agents: enrollment, status.json, agent.json with a seeded simulated collector, and the oracle
 *   for it (`expectedValues`: the k-th value a collector of that seed produces).
 */
import { execFile } from 'node:child_process';
import { mkdir, open, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { enrollDevices, serviceTimeoutMs, SERVER_ADMIN_PASSWORD, type DeviceIdentity, type InfluxdHandle } from '@outpost/e2e';
import { createCollector, statePaths } from '@outpost/edge-agent';
import { topics, type TelemetryBatch } from '@outpost/protocol';
import { openSqliteTelemetryStore, queryInfluxQL } from '@outpost/telemetry';
import mqtt, { type MqttClient } from 'mqtt';
import { runAgent, startOutpostServer, until, type AgentProcess, type Api, type OutpostServer } from '../agent-harness.js';

const run = promisify(execFile);

/** The deadline of one wait in the fault suite (scaled by OUTPOST_TEST_SERVICE_TIMEOUT_MS). */
export const FAULT_WAIT_MS = serviceTimeoutMs(30_000);

// ---------------------------------------------------------------------------------------------
// Small disks
// ---------------------------------------------------------------------------------------------

export interface SmallDisk {
  readonly dir: string;
  /** Fills the disk with a filler file until the kernel answers ENOSPC; resolves with its size. */
  fill(): Promise<number>;
  /** Deletes the filler: the space returns. */
  free(): Promise<void>;
  /** Bytes still free (statfs). */
  freeBytes(): Promise<number>;
  /** Unmounts (lazily if still busy) and leaves an empty dir. Idempotent. */
  unmount(): Promise<void>;
}

/**
 * Mounts a tmpfs of `size` (e.g. "2m") on `dir` (created, mode 0700 like a data dir). Needs root
 * or CAP_SYS_ADMIN: without them the test fails with that cause (a CI container started without
 * the capability), it does not skip.
 */
export async function mountTmpfs(dir: string, size: string): Promise<SmallDisk> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `the fault suite's disk-full cases need a small tmpfs and mounting one on ${dir} was refused ` +
        `(mount needs root or CAP_SYS_ADMIN: run the suite as root, or give the CI container --cap-add SYS_ADMIN): ${(e.stderr ?? e.message).trim()}`,
      { cause: err },
    );
  }
  const filler = join(dir, 'filler.bin');
  let mounted = true;
  return {
    dir,
    async fill() {
      const handle = await open(filler, 'a');
      const chunk = Buffer.alloc(64 * 1024, 0xa5);
      let written = 0;
      try {
        for (let size = chunk.length; size >= 1; ) {
          try {
            written += (await handle.write(chunk, 0, size)).bytesWritten;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
            size = Math.floor(size / 2);
          }
        }
      } finally {
        await handle.close();
      }
      return written;
    },
    free: () => unlink(filler),
    async freeBytes() {
      const { stdout } = await run('stat', ['-f', '-c', '%a %S', dir]);
      const [blocks = '0', blockSize = '0'] = stdout.trim().split(' ');
      return Number(blocks) * Number(blockSize);
    },
    async unmount() {
      if (!mounted) return;
      mounted = false;
      await run('umount', [dir]).catch(() => run('umount', ['-l', dir]));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// `outpost server` with InfluxDB, and raw QoS 1 devices
// ---------------------------------------------------------------------------------------------

export const INFLUX_DB = 'outpost_faults';
/** The metric the QoS 1 devices send; every sample has a time of its own, so a replay overwrites. */
export const QOS_METRIC = 'faultval';

/** `outpost server` writing to `influx` (database INFLUX_DB), devices' rates high enough for a burst. */
export function startInfluxServer(influx: InfluxdHandle, extra: Record<string, string> = {}): Promise<OutpostServer> {
  return startOutpostServer({
    OUTPOST_INFLUX_URL: influx.url,
    OUTPOST_INFLUX_DB: INFLUX_DB,
    OUTPOST_INFLUX_ROLLUP: 'false',
    OUTPOST_ADMIN_PASSWORD: SERVER_ADMIN_PASSWORD,
    OUTPOST_LIMIT_MSGS_PER_S: '100000',
    OUTPOST_LIMIT_BYTES_PER_S: '1 GiB',
    ...extra,
  });
}

/** The exact number of QOS_METRIC samples stored per device, by InfluxQL. */
export async function influxCounts(url: string): Promise<Map<string, number>> {
  const [result] = await queryInfluxQL({ url, db: INFLUX_DB }, `SELECT count("${QOS_METRIC}") FROM "telemetry" GROUP BY "device"`);
  const counts = new Map<string, number>();
  for (const series of result?.series ?? []) {
    const device = series.tags['device'];
    const value = series.values[0]?.[1];
    if (device !== undefined && typeof value === 'number') counts.set(device, value);
  }
  return counts;
}

/** One device's samples of `metric` in InfluxDB, in time order (ms). */
export async function influxSamples(url: string, deviceId: string, metric: string): Promise<{ ts: number; value: number }[]> {
  const [result] = await queryInfluxQL({ url, db: INFLUX_DB, epoch: 'ms' }, `SELECT "${metric}" FROM "telemetry" WHERE "device" = $device`, { device: deviceId });
  return (result?.series[0]?.values ?? []).flatMap((row) => (typeof row[0] === 'number' && typeof row[1] === 'number' ? [{ ts: row[0], value: row[1] }] : []));
}

export const sum = (counts: ReadonlyMap<string, number>): number => [...counts.values()].reduce((a, b) => a + b, 0);

export interface QosDevicesOptions {
  readonly devices: number;
  readonly batchesPerDevice: number;
  readonly samplesPerBatch: number;
  /** Batches of one device waiting for their PUBACK at a time (default 4). */
  readonly window?: number;
  /** Called after every PUBACK with the total so far. */
  readonly onAck?: (acked: number) => void;
}

export interface QosDevices {
  readonly ids: readonly string[];
  /** PUBACKs received so far (each batch is acknowledged once: none is sent again after its PUBACK). */
  acked(): number;
  /** Connections lost and made again (every device), e.g. across a server restart. */
  reconnects(): number;
  /** Publishes mqtt.js failed (the connection dropped while it resent them) and that were sent anew. */
  resent(): number;
  /** Resolves when every batch of every device is acknowledged. */
  readonly done: Promise<void>;
  close(): Promise<void>;
}

/**
 * Enrolls `devices` raw MQTT devices and starts publishing at once. Each batch is a distinct
 * set of sample times (an hour ago onwards), so InfluxDB holds exactly devices × batches ×
 * samples points at the end, however often a batch was resent. mqtt.js keeps an unacknowledged
 * QoS 1 publish in its store and resends it after a reconnect, as an agent keeps its outbox.
 */
export async function startQosDevices(server: OutpostServer, options: QosDevicesOptions): Promise<QosDevices> {
  const stamp = Date.now().toString(36);
  const ids = Array.from({ length: options.devices }, (_, i) => `fault-${stamp}-${String(i)}`);
  const identities = await enrollDevices({ operatorUrl: server.info.url, deviceUrl: server.info.deviceUrl }, ids);
  const start = Date.now() - 3_600_000;
  let acked = 0;
  let reconnects = 0;
  let resent = 0;
  const clients: MqttClient[] = [];
  const publishAll = async (identity: DeviceIdentity): Promise<void> => {
    const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${String(server.info.mqttPort)}`, {
      key: identity.keyPem,
      cert: identity.certPem,
      ca: identity.caPem,
      rejectUnauthorized: true,
      protocolVersion: 4,
      clientId: identity.deviceId,
      reconnectPeriod: 200,
      connectTimeout: 5_000,
    });
    clients.push(client);
    client.on('reconnect', () => (reconnects += 1));
    client.on('error', () => undefined); // refused connections while the server is down: it reconnects
    let next = 1;
    const worker = async (): Promise<void> => {
      while (next <= options.batchesPerDevice) {
        const seq = next++;
        const samples = Array.from({ length: options.samplesPerBatch }, (_, i) => ({ ts: start + ((seq - 1) * options.samplesPerBatch + i) * 10, metrics: { [QOS_METRIC]: seq + i / 1000 } }));
        const batch: TelemetryBatch = { v: 1, seq, samples };
        // Kept until its PUBACK: mqtt.js resends what is in its store after a reconnect, but fails
        // the publishes it was resending when the connection drops again; those are sent anew.
        for (;;) {
          try {
            await client.publishAsync(topics.telemetry(identity.deviceId), JSON.stringify(batch), { qos: 1 });
            break;
          } catch {
            resent += 1;
            await until('the device connected again', () => client.connected, FAULT_WAIT_MS * 2);
          }
        }
        acked += 1;
        options.onAck?.(acked);
      }
    };
    await Promise.all(Array.from({ length: options.window ?? 4 }, worker));
  };
  const done = Promise.all(identities.map(publishAll)).then(() => undefined);
  done.catch(() => undefined); // awaited by the test; no unhandled rejection meanwhile
  return {
    ids,
    acked: () => acked,
    reconnects: () => reconnects,
    resent: () => resent,
    done,
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true)));
    },
  };
}

/** GET /readyz of the server: its parts' states (undefined while it does not answer). */
export async function readiness(server: OutpostServer): Promise<Record<string, string> | undefined> {
  try {
    const res = await fetch(`${server.info.url}/readyz`);
    const body = (await res.json()) as { parts?: Record<string, string> } & Record<string, unknown>;
    return (body.parts ?? body) as Record<string, string>;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Agents
// ---------------------------------------------------------------------------------------------

export interface AgentStatus {
  pid: number;
  state: string;
  lastSentAt?: number;
  lastError?: { code: string; message: string };
  outbox: { depth: number; bytes: number; dropped: number; droppedSamples?: number; refused: number; oldestSeq?: number; maxBytes?: number };
  /** The OTA job in hand or last finished (OtaSummary). */
  ota?: { jobId?: string; name?: string; version?: string; phase?: string; outcome?: string };
}

/** The agent's status.json (undefined before the first write or when caught mid-rename). */
export async function readStatus(stateDir: string): Promise<AgentStatus | undefined> {
  try {
    return JSON.parse(await readFile(statePaths(stateDir).status, 'utf8')) as AgentStatus;
  } catch {
    return undefined;
  }
}

/** Makes a one-use enrollment token: `Api.ok` of ../agent-harness.ts, or adminApi of @outpost/e2e (servers started with SERVER_ADMIN_PASSWORD). */
export type TokenMaker = (group: string) => Promise<{ token: string; caFingerprint: string }>;

export const tokensOf = {
  api: (api: Api): TokenMaker => (group) => api.ok('POST', '/enrollment-tokens', { group, maxUses: 1, ttlSeconds: 600 }),
  admin: (call: (method: string, path: string, body?: unknown) => Promise<unknown>): TokenMaker => async (group) =>
    (await call('POST', '/api/v1/enrollment-tokens', { group, maxUses: 1, ttlSeconds: 600 })) as { token: string; caFingerprint: string },
};

/** `outpost-agent enroll` with a fresh one-use token; answers the device id. */
export async function enrollAgent(tokens: TokenMaker, deviceUrl: string, stateDir: string, group = 'faults'): Promise<string> {
  const created = await tokens(group);
  const enrolled = await runAgent(['enroll', '--server', deviceUrl, '--token', created.token, '--ca-fingerprint', created.caFingerprint, '--state-dir', stateDir]);
  const deviceId = /enrolled as (\S+)/.exec(enrolled.output)?.[1];
  if (enrolled.code !== 0 || deviceId === undefined) throw new Error(`outpost-agent enroll failed (${String(enrolled.code)}): ${enrolled.output}`);
  return deviceId;
}

/** A seeded simulated collector of one metric: value k is the k-th number of the seed's PRNG (base 0, no wave). */
export function seededCollector(seed: number, metric: string, intervalMs: number) {
  return { type: 'simulated' as const, intervalMs, seed, metrics: { [metric]: { base: 0, noise: 1000 } } };
}

/** The first `n` values a seededCollector produces, in collection order. */
export function expectedValues(seed: number, metric: string, intervalMs: number, n: number): number[] {
  const source = createCollector(seededCollector(seed, metric, intervalMs));
  return Array.from({ length: n }, () => {
    const metrics = source.collect(0);
    if (metrics instanceof Promise) throw new Error('the simulated collector answers synchronously');
    return metrics[metric] as number;
  });
}

/** Writes agent.json with one seeded collector and the given batch cut. */
export async function writeAgentConfig(file: string, seed: number, metric: string, intervalMs: number, batch: { maxSamples: number; maxAgeMs: number }, extra: Record<string, unknown> = {}): Promise<void> {
  await writeFile(file, JSON.stringify({ collectors: [seededCollector(seed, metric, intervalMs)], processing: { batch }, ...extra }));
}

/** `outpost-agent run` arguments with short status, reconnect and flush times. */
export function agentRunArgs(stateDir: string, config: string, extra: readonly string[] = []): string[] {
  return ['run', '--state-dir', stateDir, '--config', config, '--status-interval', '300ms', '--reconnect-min', '100ms', '--reconnect-max', '300ms', '--flush-timeout', '10s', '--log-level', 'warn', ...extra];
}

/** Waits until this agent process reports itself connected and has sent something. */
export function untilSending(stateDir: string, pid: number | undefined): Promise<AgentStatus> {
  return until('the agent connected and sending', async () => {
    const s = await readStatus(stateDir);
    return s !== undefined && s.pid === pid && s.state === 'connected' && s.lastSentAt !== undefined ? s : undefined;
  }, FAULT_WAIT_MS);
}

/**
 * One device's samples of `metric` in the embedded store of a server (its data dir), in time
 * order, read through the store's own API (a second SQLite connection; WAL mode lets it read
 * beside the server's writer).
 */
export async function embeddedSamples(dataDir: string, deviceId: string, metric: string, from: number): Promise<{ ts: number; value: number }[]> {
  const store = openSqliteTelemetryStore({ file: join(dataDir, 'telemetry.sqlite'), retentionDays: 3650, retentionIntervalMs: 0, deadLetterFile: join(dataDir, '..', 'reader-dead-letters.jsonl') });
  try {
    const points = await store.raw({ deviceIds: [deviceId], metric, from, to: Date.now() + 60_000, limit: 100_000 });
    return points.map((p) => ({ ts: p.ts, value: p.value as number })).sort((a, b) => a.ts - b.ts);
  } finally {
    await store.close();
  }
}

/** Removes a dir, after unmounting whatever the test mounted below it. */
export async function removeDir(dir: string, disks: readonly SmallDisk[] = []): Promise<void> {
  for (const disk of disks) await disk.unmount();
  await rm(dir, { recursive: true, force: true });
}

/** What a fault test leaves behind: its agents are SIGKILLed (if still running), then its server stopped and its dir removed. */
export async function tearDown(agents: readonly AgentProcess[], server: OutpostServer | undefined, dir: string | undefined): Promise<void> {
  for (const agent of agents) {
    if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill('SIGKILL');
    await agent.exited;
  }
  await server?.stop();
  if (dir !== undefined) await removeDir(dir);
}
