import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, openLive, runAgent, startAgent, startOutpostServer, until } from './agent-harness.js';
import type { AgentProcess, LiveEvent, OutpostServer } from './agent-harness.js';

interface DeviceView {
  id: string;
  online: boolean;
  lastSeen: number | null;
  agentVersion: string | null;
}
interface ConfigView {
  version: number;
  reported: { version: number; applied: boolean; error: { code: string; message: string } | null } | null;
}
interface CommandView {
  id: string;
  state: string;
  result: { ok: boolean; output?: string; error?: { code: string; message: string } } | null;
}

const telemetryOf = (events: readonly LiveEvent[], deviceId: string) => events.filter((e) => e.event === 'telemetry' && e.deviceId === deviceId);
const seqOf = (e: LiveEvent) => e.payload['seq'] as number;
const metricsOf = (e: LiveEvent) => (e.payload['samples'] as { metrics: Record<string, unknown> }[]).flatMap((s) => Object.keys(s.metrics));

describe('outpost-agent against a real outpost server', () => {
  let server: OutpostServer;
  let api: Api;
  let dir: string;
  let stateDir: string;
  let agent: AgentProcess | undefined;
  let deviceId = '';
  let runArgs: string[];

  beforeAll(async () => {
    server = await startOutpostServer();
    api = await Api.login(server.info.url);
    dir = await mkdtemp(join(tmpdir(), 'outpost-agent-state-'));
    stateDir = join(dir, 'state');
    const config = join(dir, 'agent.json');
    await writeFile(
      config,
      JSON.stringify({
        collectors: [{ type: 'simulated', intervalMs: 100, seed: 7, metrics: { temperature: { base: 20, amplitude: 2, periodS: 60 } } }],
        processing: { batch: { maxSamples: 3, maxAgeMs: 300 } },
      }),
    );
    runArgs = ['run', '--state-dir', stateDir, '--config', config, '--status-interval', '300ms', '--reconnect-min', '100ms', '--reconnect-max', '500ms', '--reboot-command', `touch ${join(dir, 'rebooted')}`, '--flush-timeout', '3s'];
  });

  afterAll(async () => {
    if (agent !== undefined) {
      agent.child.kill('SIGCONT');
      await agent.stop();
    }
    await server?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('refuses to enroll without a pinned CA or with a wrong fingerprint, and never sends the token', async () => {
    const created = await api.ok<{ token: string }>('POST', '/enrollment-tokens', { group: 'lab', maxUses: 1, ttlSeconds: 600 });
    const unpinned = await runAgent(['enroll', '--server', server.info.deviceUrl, '--token', created.token, '--state-dir', join(dir, 'unpinned')]);
    expect(unpinned.code).toBe(1);
    expect(unpinned.output).toMatch(/--ca-fingerprint/);
    const wrong = await runAgent(['enroll', '--server', server.info.deviceUrl, '--token', created.token, '--ca-fingerprint', `sha256:${'0'.repeat(64)}`, '--state-dir', join(dir, 'wrong')]);
    expect(wrong.code).toBe(1);
    expect(wrong.output).toMatch(/does not match --ca-fingerprint.*AGENT_CA_MISMATCH/);
    expect(wrong.output.trim().split('\n')).toHaveLength(1);
    // The single-use token is still unused.
    const tokens = await api.ok<{ items: { uses: number }[] }>('GET', '/enrollment-tokens');
    expect(tokens.items.every((t) => t.uses === 0)).toBe(true);
  });

  it('enrolls with the token and the CA fingerprint', async () => {
    const created = await api.ok<{ token: string; caFingerprint: string }>('POST', '/enrollment-tokens', { group: 'lab', maxUses: 1, ttlSeconds: 600 });
    const enrolled = await runAgent(['enroll', '--server', server.info.deviceUrl, '--token', created.token, '--ca-fingerprint', created.caFingerprint, '--state-dir', stateDir]);
    expect(enrolled.code, enrolled.output).toBe(0);
    deviceId = /enrolled as (\S+)/.exec(enrolled.output)?.[1] ?? '';
    expect(deviceId).toMatch(/^lab-/);
    expect((await stat(join(stateDir, 'key.pem'))).mode & 0o777).toBe(0o600);
    const identity = JSON.parse(await readFile(join(stateDir, 'identity.json'), 'utf8')) as { mqttUrl: string };
    expect(identity.mqttUrl).toBe(`mqtts://127.0.0.1:${server.info.mqttPort}`);
    const again = await runAgent(['enroll', '--server', server.info.deviceUrl, '--token', created.token, '--ca-fingerprint', created.caFingerprint, '--state-dir', stateDir]);
    expect(again.code).toBe(1);
    expect(again.output).toMatch(/already enrolled as/);
  });

  it('runs: online, telemetry flows, status shows the connection', async () => {
    const live = await openLive(api, 'telemetry');
    try {
      agent = startAgent(runArgs);
      const device = await until('the device online', async () => {
        const d = await api.ok<DeviceView>('GET', `/devices/${deviceId}`);
        return d.online && d.lastSeen !== null ? d : undefined;
      });
      expect(device.online).toBe(true);
      const batches = await until('three telemetry batches', () => (telemetryOf(live.events, deviceId).length >= 3 ? telemetryOf(live.events, deviceId) : undefined));
      const seqs = batches.map(seqOf);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(metricsOf(batches[0] as LiveEvent)).toContain('temperature');
      const status = await until('status connected', async () => {
        const s = await runAgent(['status', '--state-dir', stateDir]);
        return s.code === 0 && /connection\s+connected/.test(s.output) ? s : undefined;
      });
      expect(status.output).toMatch(new RegExp(`device\\s+${deviceId}`));
      expect(status.output).toMatch(/certificate\s+\S+ expires \d{4}-/);
      expect(status.output).toMatch(/last send\s+\d{4}-/);
    } finally {
      live.close();
    }
  });

  it('applies a desired config without a restart, refuses a bad one with its reason and keeps the good one', async () => {
    const live = await openLive(api, 'telemetry');
    try {
      await api.ok('PUT', `/devices/${deviceId}/config`, {
        collectors: [{ type: 'simulated', intervalMs: 100, metrics: { humidity: { base: 40, amplitude: 5 } } }],
        processing: { batch: { maxSamples: 3, maxAgeMs: 300 } },
      });
      const applied = await until('config v1 reported applied', async () => {
        const c = await api.ok<ConfigView>('GET', `/devices/${deviceId}/config`);
        return c.reported?.version === c.version && c.reported.applied ? c : undefined;
      });
      await until('humidity telemetry', () => telemetryOf(live.events, deviceId).some((e) => metricsOf(e).includes('humidity')));
      const pid = agent?.child.pid;

      await api.ok('PUT', `/devices/${deviceId}/config`, {
        collectors: [{ type: 'command', intervalMs: 1000, cmd: '/nonexistent/sensor-reader', timeoutMs: 500, format: 'kv' }],
      });
      const refused = await until('the bad config reported refused', async () => {
        const c = await api.ok<ConfigView>('GET', `/devices/${deviceId}/config`);
        return c.version > applied.version && c.reported?.version === c.version ? c : undefined;
      });
      expect(refused.reported?.applied).toBe(false);
      // A remote command collector runs only what the device's agent.json allows (none here): remote config is not a remote shell.
      expect(refused.reported?.error?.code).toBe('CONFIG_COMMAND_NOT_ALLOWED');
      expect(refused.reported?.error?.message).toMatch(/\/nonexistent\/sensor-reader is not on this device's allowCommands in .*agent\.json \(it allows no programs\)/);
      // The good config still runs, in the same process.
      const mark = live.events.length;
      await until('humidity telemetry after the refusal', () => live.events.slice(mark).some((e) => e.deviceId === deviceId && metricsOf(e).includes('humidity')));
      expect(agent?.child.pid).toBe(pid);
      expect(agent?.child.exitCode).toBeNull();
    } finally {
      live.close();
    }
  });

  it('answers a ping command with a CommandResult', async () => {
    const created = await api.ok<{ id: string }>('POST', `/devices/${deviceId}/commands`, { name: 'ping' });
    const done = await until('the ping result', async () => {
      const list = await api.ok<{ items: CommandView[] }>('GET', `/devices/${deviceId}/commands`);
      const found = list.items.find((c) => c.id === created.id);
      return found?.result !== null && found?.result !== undefined ? found : undefined;
    });
    expect(done.result).toMatchObject({ ok: true, output: 'pong' });
    expect(done.state).toBe('succeeded');
  });

  it('stops gracefully on SIGTERM and uses the applied config after a restart', async () => {
    const code = await agent?.stop();
    expect(code).toBe(0);
    const stopped = JSON.parse(await readFile(join(stateDir, 'status.json'), 'utf8')) as { state: string; config: { origin: string; version?: number } };
    expect(stopped.state).toBe('stopped');
    expect(stopped.config.origin).toBe('desired');
    const notRunning = await runAgent(['status', '--state-dir', stateDir]);
    expect(notRunning.code).toBe(3);
    expect(notRunning.output).toMatch(/agent\s+not running/);
    agent = startAgent(runArgs);
    const live = await openLive(api, 'telemetry');
    try {
      await until('humidity telemetry from the restarted agent', () => telemetryOf(live.events, deviceId).some((e) => metricsOf(e).includes('humidity')));
    } finally {
      live.close();
    }
  });

  it('holds telemetry while the server is down and delivers all of it after the restart', async () => {
    const before = await openLive(api, 'telemetry');
    await until('telemetry before the outage', () => telemetryOf(before.events, deviceId).length >= 2);
    await server.kill();
    before.close();
    const held = await until('the outbox holding batches', async () => {
      const s = JSON.parse(await readFile(join(stateDir, 'status.json'), 'utf8')) as { state: string; outbox: { depth: number; oldestSeq?: number } };
      return s.state === 'disconnected' && s.outbox.depth >= 4 && s.outbox.oldestSeq !== undefined ? s.outbox : undefined;
    });
    // Freeze the agent while the server comes back, so the live stream is open before it replays.
    agent?.child.kill('SIGSTOP');
    await server.restart();
    api = await Api.login(server.info.url);
    const after = await openLive(api, 'telemetry');
    try {
      agent?.child.kill('SIGCONT');
      const wanted = Array.from({ length: held.depth }, (_, i) => (held.oldestSeq ?? 0) + i);
      expect(wanted[0]).toBeGreaterThan(Math.min(...telemetryOf(before.events, deviceId).map(seqOf)));
      await until(`batches ${wanted[0]}..${wanted.at(-1)} replayed`, () => {
        const got = new Set(telemetryOf(after.events, deviceId).map(seqOf));
        return wanted.every((s) => got.has(s));
      }, 30_000);
      const status = await until('the outbox drained', async () => {
        const s = JSON.parse(await readFile(join(stateDir, 'status.json'), 'utf8')) as { state: string; outbox: { depth: number; dropped: number } };
        return s.state === 'connected' && s.outbox.depth <= 1 ? s : undefined;
      });
      expect(status.outbox.dropped).toBe(0);
    } finally {
      after.close();
    }
  });
});
