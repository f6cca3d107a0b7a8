import { generateKeyPairSync, sign } from 'node:crypto';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics, trustSetSigningBytes } from '@outpost/protocol';
import type { TrustSet } from '@outpost/protocol';
import { startTestBroker } from './mosquitto.js';
import type { TestBroker } from './mosquitto.js';

const AGENT_BIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const DEVICE = 'pi-trust-test';

function signer(keyId: string) {
  const pair = generateKeyPairSync('ed25519');
  const entry = { keyId, alg: 'ed25519' as const, publicKey: pair.publicKey.export({ format: 'der', type: 'spki' }).toString('base64') };
  return { entry, sign: (body: Omit<TrustSet, 'signatures'>) => ({ keyId, sig: sign(null, trustSetSigningBytes(body), pair.privateKey).toString('base64') }) };
}

async function until<T>(what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the agent process over a real MQTT broker', () => {
  let broker: TestBroker;
  let platform: MqttClient;
  let agent: ChildProcess;
  let output = '';
  const received: { topic: string; payload: Record<string, unknown>; retain: boolean }[] = [];
  const keyA = signer('key-a');
  const stranger = signer('key-x');

  beforeAll(async () => {
    broker = await startTestBroker(DEVICE);
    // A TrustSet held from an earlier contact: key A is trusted.
    await writeFile(join(broker.stateDir, 'trust.json'), JSON.stringify({ v: 1, version: 1, keys: [keyA.entry], signatures: [] }));
    await writeFile(
      join(broker.stateDir, 'agent.json'),
      JSON.stringify({
        collectors: [{ type: 'simulated', intervalMs: 50, metrics: { load: { base: 1 } } }],
        processing: { batch: { maxSamples: 2, maxAgeMs: 200 } },
        rules: [{ v: 1, id: 'load-high', name: 'load high', kind: 'threshold', scope: {}, metric: 'load', condition: '>', threshold: 0.5, forMs: 0, severity: 'warning', cooldownMs: 1000, enabled: true }],
      }),
    );
    platform = await broker.connectPlatform();
    platform.on('message', (topic, payload, packet) => received.push({ topic, payload: JSON.parse(payload.toString()) as Record<string, unknown>, retain: packet.retain }));
    await platform.subscribeAsync(`devices/${DEVICE}/#`, { qos: 1 });
    agent = spawn(process.execPath, [AGENT_BIN, 'run', '--state-dir', broker.stateDir, '--status-interval', '300ms', '--reconnect-min', '50ms', '--reconnect-max', '200ms'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout?.on('data', (b: Buffer) => (output += b.toString()));
    agent.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  });

  afterAll(async () => {
    if (agent !== undefined && agent.exitCode === null && agent.signalCode === null) {
      agent.kill('SIGKILL');
      await new Promise((r) => agent.once('close', r));
    }
    await platform?.endAsync();
    await broker?.stop();
  });

  it('connects as the device, says it is online and sends telemetry batches in seq order', async () => {
    const online = await until('an online status', () => received.find((m) => m.topic === topics.status(DEVICE) && m.payload['state'] === 'online'));
    expect(online.payload).toMatchObject({ v: 1, state: 'online', agentVersion: expect.any(String), outbox: { depth: expect.any(Number) } });
    const batches = await until('3 batches', () => {
      const t = received.filter((m) => m.topic === topics.telemetry(DEVICE));
      return t.length >= 3 ? t : undefined;
    });
    const seqs = batches.map((b) => b.payload['seq'] as number);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('publishes the EdgeAlerts of local rules', async () => {
    const alert = await until('an edge alert', () => received.find((m) => m.topic === topics.alerts(DEVICE)));
    expect(alert.payload).toMatchObject({ v: 1, ruleId: 'load-high', state: 'firing', metric: 'load', severity: 'warning' });
  });

  it('refuses a TrustSet signed by an unknown key and keeps the held one; takes one signed by a trusted key', async () => {
    const body = { v: 1 as const, version: 2, keys: [stranger.entry] };
    await platform.publishAsync(topics.trust(DEVICE), JSON.stringify({ ...body, signatures: [stranger.sign(body)] }), { qos: 1, retain: true });
    await until('the refusal in the log', () => /trust set refused/.test(output) && /TRUST_SIGNATURE_INVALID/.test(output));
    expect(JSON.parse(await readFile(join(broker.stateDir, 'trust.json'), 'utf8'))).toMatchObject({ version: 1, keys: [{ keyId: 'key-a' }] });

    const next = { v: 1 as const, version: 3, keys: [keyA.entry, stranger.entry] };
    await platform.publishAsync(topics.trust(DEVICE), JSON.stringify({ ...next, signatures: [keyA.sign(next)] }), { qos: 1, retain: true });
    const held = await until('the signed set persisted', async () => {
      const t = JSON.parse(await readFile(join(broker.stateDir, 'trust.json'), 'utf8')) as TrustSet;
      return t.version === 3 ? t : undefined;
    });
    expect(held.keys.map((k) => k.keyId)).toEqual(['key-a', 'key-x']);
  });

  it('answers ping, and refuses an expired command with the reason', async () => {
    await platform.publishAsync(topics.commands(DEVICE), JSON.stringify({ v: 1, id: 'cmd-old', name: 'ping', args: {}, expiresAt: Date.now() - 1_000 }), { qos: 1 });
    await platform.publishAsync(topics.commands(DEVICE), JSON.stringify({ v: 1, id: 'cmd-new', name: 'ping', args: {}, expiresAt: Date.now() + 60_000 }), { qos: 1 });
    const results = await until('two command results', () => {
      const r = received.filter((m) => m.topic === topics.commandResult(DEVICE));
      return r.length >= 2 ? r : undefined;
    });
    expect(results.find((r) => r.payload['id'] === 'cmd-old')?.payload).toMatchObject({ ok: false, error: { code: 'COMMAND_EXPIRED', message: expect.stringContaining('expired at') } });
    expect(results.find((r) => r.payload['id'] === 'cmd-new')?.payload).toMatchObject({ ok: true, output: 'pong' });
  });

  it('counts a PublishError for a sent batch as refused, and shows the reason as the last error', async () => {
    const sent = received.find((m) => m.topic === topics.telemetry(DEVICE));
    const seq = sent?.payload['seq'] as number;
    await platform.publishAsync(
      topics.errors(DEVICE),
      JSON.stringify({ v: 1, topic: topics.telemetry(DEVICE), seq, code: 'NAME_RESERVED', reason: 'samples[0].metrics.time: the name time is reserved' }),
      { qos: 0 },
    );
    const status = await until('refused counted in status.json', async () => {
      const s = JSON.parse(await readFile(join(broker.stateDir, 'status.json'), 'utf8')) as { outbox: { refused: number }; lastError?: { code: string; message: string } };
      return s.outbox.refused === 1 ? s : undefined;
    });
    expect(status.lastError).toMatchObject({ code: 'NAME_RESERVED', message: expect.stringContaining('reserved') });
    const online = await until('an online status with the refusal', () =>
      received.find((m) => m.topic === topics.status(DEVICE) && (m.payload['outbox'] as { refused: number } | undefined)?.refused === 1),
    );
    expect(online.payload['lastError']).toMatchObject({ code: 'NAME_RESERVED' });
  });

  it('leaves the offline last will when it dies without a goodbye', async () => {
    const mark = received.length;
    agent.kill('SIGKILL');
    await new Promise((r) => agent.once('close', r));
    const will = await until('the last will', () => received.slice(mark).find((m) => m.topic === topics.status(DEVICE)), 60_000);
    expect(will.payload).toEqual({ v: 1, state: 'offline' });
  });
});
