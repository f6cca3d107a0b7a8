/*
 * What the MQTT link tells the OTA engine about a failed connection attempt (mqtt-link.ts
 * ConnectFailure), on real sockets: a new agent version is rolled back only when an attempt
 * reached the broker (TCP + TLS handshake) and got no session; a server that refuses the TCP
 * connection or never completes TLS is unreachable, which never rolls an update back.
 */
import { createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMqttLink } from '../../src/connection/mqtt-link.js';
import type { ConnectFailure, MqttLink } from '../../src/connection/mqtt-link.js';
import type { DeviceIdentity } from '../../src/identity/state-dir.js';
import { makeTestPki } from '../identity/test-pki.js';
import type { TestPki } from '../identity/test-pki.js';
import { until } from './ota-kit.js';

const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined };

describe('the MQTT link classifies failed connection attempts for the confirm deadline', () => {
  let pki: TestPki;
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const links: MqttLink[] = [];

  beforeAll(async () => {
    pki = await makeTestPki();
  });
  afterEach(async () => {
    for (const link of links.splice(0)) await link.close();
    for (const s of sockets) s.destroy();
    sockets.clear();
    for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
  });
  afterAll(async () => {
    await pki?.cleanup();
  });

  async function listen(server: Server): Promise<number> {
    servers.push(server);
    server.on('connection', (s: Socket) => sockets.add(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  }

  function link(port: number): { failures: ConnectFailure[]; connected: () => boolean } {
    const failures: ConnectFailure[] = [];
    let connected = false;
    const identity: DeviceIdentity = {
      deviceId: 'pi-link',
      keyPem: pki.serverKeyPem,
      certPem: pki.serverCertPem,
      caPem: pki.caPem,
      mqttUrl: `mqtts://127.0.0.1:${port}`,
      deviceApiUrl: 'https://127.0.0.1:9',
      limits: { maxPayloadBytes: 262_144, maxSamples: 1000, maxMetrics: 100, msgsPerS: 100, bytesPerS: 1_048_576 },
      serial: '01',
      notBefore: 0,
      notAfter: Date.now() + 86_400_000,
    };
    const l = createMqttLink({
      identity: () => identity,
      reconnect: { minMs: 50, maxMs: 100 },
      connectTimeoutMs: 500,
      log: quiet,
      onConnected: () => {
        connected = true;
      },
      onDisconnected: () => undefined,
      onConnectFailed: (f) => failures.push(f),
      onMessage: () => undefined,
    });
    links.push(l);
    l.start();
    return { failures, connected: () => connected };
  }

  /** A TLS server with the test CA's certificate; `onSecure` plays the broker after the handshake. */
  async function tlsBroker(onSecure: (socket: TLSSocket) => void): Promise<number> {
    const server = createTlsServer({ cert: pki.serverCertPem, key: pki.serverKeyPem, ca: pki.caPem }, onSecure);
    return listen(server);
  }

  it('connection refused: the broker was not reached', async () => {
    const port = await listen(createServer());
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const { failures } = link(port);
    const first = await until('a failed attempt', () => failures[0]);
    expect(first).toMatchObject({ reachedBroker: false, code: 'ECONNREFUSED' });
  });

  it('TCP accepted but no TLS answer (a frozen server): the broker was not reached', async () => {
    const port = await listen(createServer(() => undefined));
    const { failures } = link(port);
    const first = await until('a failed attempt', () => failures[0], 5_000);
    expect(first).toMatchObject({ reachedBroker: false, reason: 'connack timeout' });
  });

  it('TLS done, then the broker refuses the session (CONNACK 5): reached, the session failed', async () => {
    const port = await tlsBroker((socket) => {
      socket.once('data', () => socket.end(Buffer.from([0x20, 0x02, 0x00, 0x05])));
    });
    const { failures, connected } = link(port);
    const first = await until('a failed attempt', () => failures[0], 5_000);
    expect(first).toMatchObject({ reachedBroker: true, code: '5', reason: expect.stringContaining('Not authorized') });
    expect(connected()).toBe(false);
  });

  it('TLS done, then the connection closes without a CONNACK: reached, the session failed', async () => {
    const port = await tlsBroker((socket) => {
      socket.once('data', () => socket.destroy());
    });
    const { failures } = link(port);
    const first = await until('a failed attempt', () => failures[0], 5_000);
    expect(first.reachedBroker).toBe(true);
  });
});
