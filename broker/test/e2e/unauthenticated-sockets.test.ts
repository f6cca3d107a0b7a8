/**
 * Issue 11, D1: sockets that never finish (or never start) their TLS handshake are closed by
 * the server at the handshake deadline, those beyond the per-address and total caps are
 * closed on accept, a socket that handshakes but sends no CONNECT is closed at the connect
 * deadline, the warn log stays short, and a real device still connects. Real TCP sockets
 * against the real broker on 127.0.0.1; the addresses 127.0.0.2-4 are loopback too.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { get as httpsGet } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { topics } from '@outpost/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerPlatform, type BrokerPlatform, type DeviceCredentials } from '../helpers/broker-platform.js';
import { connectDevice } from '../helpers/mqtt-client.js';
import { telemetryBatch } from '../helpers/payloads.js';
import { waitFor } from '../helpers/poll.js';

const HANDSHAKE_TIMEOUT_MS = 1_000;
const PER_IP = 20;
const TOTAL = 30;

interface Probe {
  readonly socket: Socket;
  readonly openedAt: number;
  /** Milliseconds from connect to the server closing it; undefined while open. */
  closedAfterMs: number | undefined;
}

/** A raw TCP socket to the MQTT port from `localAddress`; it sends nothing unless the test writes. */
async function probe(url: string, localAddress: string): Promise<Probe> {
  const { hostname, port } = new URL(url);
  const socket = netConnect({ host: hostname, port: Number(port), localAddress });
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const result: Probe = { socket, openedAt: Date.now(), closedAfterMs: undefined };
  socket.once('close', () => {
    result.closedAfterMs = Date.now() - result.openedAt;
  });
  return result;
}

async function probes(url: string, localAddress: string, n: number): Promise<Probe[]> {
  const all: Probe[] = [];
  for (let i = 0; i < n; i++) all.push(await probe(url, localAddress));
  return all;
}

describe('broker: unauthenticated sockets cannot hold the MQTT port (D1)', () => {
  let env: BrokerPlatform;
  let device: DeviceCredentials;

  beforeAll(async () => {
    env = await startBrokerPlatform({
      env: {
        OUTPOST_MQTT_HANDSHAKE_TIMEOUT: '1s',
        OUTPOST_MQTT_CONNECT_TIMEOUT: '1s',
        OUTPOST_MQTT_MAX_HANDSHAKES_PER_IP: String(PER_IP),
        OUTPOST_MQTT_MAX_HANDSHAKES: String(TOTAL),
        OUTPOST_HTTP_IDLE_TIMEOUT: '1s',
      },
      broker: { refusalLogIntervalMs: 60_000 },
    });
    device = await env.enroll('d1-device');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('closes silent sockets at the handshake deadline and those beyond the caps on accept; then a device connects', async () => {
    const warnsBefore = env.logs.filter((l) => l.level === 40).length;
    const silent = await probes(env.mqttUrl, '127.0.0.1', PER_IP);
    // A client trickling a byte at a time does not extend its deadline (counted from accept).
    const trickler = await probe(env.mqttUrl, '127.0.0.2');
    // A TLS record header announcing 512 bytes of handshake, then one byte every 200 ms.
    trickler.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
    const drip = setInterval(() => trickler.socket.write(Buffer.from([0x00])), 200);
    const overIp = await probes(env.mqttUrl, '127.0.0.1', 5);
    const others = await probes(env.mqttUrl, '127.0.0.2', TOTAL - PER_IP - 1);
    const overTotal = await probes(env.mqttUrl, '127.0.0.3', 3);

    try {
      // Beyond a cap: closed on accept, long before any handshake deadline.
      await waitFor(() => [...overIp, ...overTotal].every((p) => p.closedAfterMs !== undefined), { timeoutMs: HANDSHAKE_TIMEOUT_MS, what: 'sockets beyond the caps closed on accept' });
      for (const p of [...overIp, ...overTotal]) expect(p.closedAfterMs).toBeLessThan(HANDSHAKE_TIMEOUT_MS / 2);
      // Within the caps: closed by the server at the deadline (not by us: we never end them).
      const accepted = [...silent, trickler, ...others];
      await waitFor(() => accepted.every((p) => p.closedAfterMs !== undefined), { timeoutMs: HANDSHAKE_TIMEOUT_MS + 3_000, what: 'silent sockets closed by the server' });
      for (const p of accepted) {
        expect(p.closedAfterMs).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS - 100);
        expect(p.closedAfterMs).toBeLessThan(HANDSHAKE_TIMEOUT_MS + 2_500);
      }
    } finally {
      clearInterval(drip);
      for (const p of [...silent, trickler, ...overIp, ...others, ...overTotal]) p.socket.destroy();
    }

    expect(await env.metric('outpost_mqtt_handshakes_refused_total', { scope: 'ip' })).toBe(overIp.length);
    expect(await env.metric('outpost_mqtt_handshakes_refused_total', { scope: 'total' })).toBe(overTotal.length);
    await waitFor(async () => (await env.metric('outpost_mqtt_auth_failures_total', { reason: 'TLS_HANDSHAKE_TIMEOUT' })) === TOTAL, { what: 'every timeout counted' });
    expect(await env.metric('outpost_mqtt_pending_handshakes')).toBe(0);
    // One warn line per reason for the whole flood (the rest is summarised once per interval).
    const warns = env.logs.filter((l) => l.level === 40).slice(warnsBefore);
    expect(warns.map((l) => l['reason']).sort()).toEqual(['TLS_HANDSHAKE_TIMEOUT', 'TOO_MANY_HANDSHAKES', 'TOO_MANY_HANDSHAKES_FROM_ADDRESS']);
    expect(warns.every((l) => typeof l['note'] === 'string' && l['note'].includes('summarised'))).toBe(true);

    const client = await connectDevice(env.mqttUrl, device);
    try {
      await client.publishAsync(topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(1)), { qos: 1 });
    } finally {
      await client.endAsync();
    }
  });

  it('closes a connection that completes TLS but never sends CONNECT at the connect deadline', async () => {
    const { hostname, port } = new URL(env.mqttUrl);
    const socket = tlsConnect({ host: hostname, port: Number(port), key: device.keyPem, cert: device.certPem, ca: device.caPem });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('close', () => reject(new Error('closed during the handshake')));
    });
    const connectedAt = Date.now();
    const closedAfter = await new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - connectedAt)));
    expect(closedAfter).toBeGreaterThanOrEqual(900);
    expect(closedAfter).toBeLessThan(3_000);
  });

  it('closes sockets that never finish their TLS handshake on the device HTTPS listener too', async () => {
    const url = env.platform.deviceUrl();
    if (url === undefined) throw new Error('device listener not bound');
    const silent = await probes(url.replace('https:', 'tcp:'), '127.0.0.1', 5);
    const trickler = await probe(url.replace('https:', 'tcp:'), '127.0.0.2');
    trickler.socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
    try {
      await waitFor(() => [...silent, trickler].every((p) => p.closedAfterMs !== undefined), { timeoutMs: 4_000, what: 'device listener sockets closed by the server' });
    } finally {
      for (const p of [...silent, trickler]) p.socket.destroy();
    }
    // A real client is still served, with the security headers (D8).
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = httpsGet(`${url}/device/v1/ca`, { ca: device.caPem }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.headers));
      });
      req.on('error', reject);
    });
    expect(headers['x-content-type-options']).toBe('nosniff');
    expect(headers['cache-control']).toBe('no-store');
  });
});
