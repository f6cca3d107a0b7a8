/**
 * Issue 11, D3: a packet that declares more than the packet size limit drops the connection
 * before its body is buffered — the broker neither waits for the rest nor grows — while
 * ordinary publishes keep working. Real TLS client against the real broker.
 */
import { connect as tlsConnect } from 'node:tls';
import { topics } from '@outpost/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PacketHeaderScanner } from '../../src/adapters/packet-size-guard.js';
import { startBrokerPlatform, type BrokerPlatform, type DeviceCredentials } from '../helpers/broker-platform.js';
import { connectDevice } from '../helpers/mqtt-client.js';
import { telemetryBatch } from '../helpers/payloads.js';
import { waitFor } from '../helpers/poll.js';

const MB = 1_048_576;

/** MQTT's variable-length remaining length. */
function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  let x = n;
  do {
    let byte = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) byte |= 0x80;
    bytes.push(byte);
  } while (x > 0);
  return Buffer.from(bytes);
}

function connectPacket(clientId: string): Buffer {
  const id = Buffer.from(clientId, 'utf8');
  const body = Buffer.concat([Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x1e, id.length >> 8, id.length & 0xff]), id]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

describe('PacketHeaderScanner', () => {
  const publish = (bodyBytes: number): Buffer => Buffer.concat([Buffer.from([0x32]), remainingLength(bodyBytes), Buffer.alloc(bodyBytes, 1)]);

  it.each([
    ['packets within the limit', [publish(10), publish(100), Buffer.from([0xc0, 0x00])], undefined],
    ['a packet at the limit', [publish(100)], undefined],
    ['a packet one byte over', [publish(101)], 'PACKET_TOO_LARGE'],
    ['a 100 MB declaration after a small packet', [publish(5), Buffer.concat([Buffer.from([0x30]), remainingLength(100 * MB)])], 'PACKET_TOO_LARGE'],
    ['a remaining length of 5 bytes', [Buffer.from([0x30, 0x80, 0x80, 0x80, 0x80, 0x01])], 'PACKET_MALFORMED'],
  ] as const)('%s', (_name, packets, expected) => {
    // Fed one byte at a time: headers split across chunks are read the same.
    const scanner = new PacketHeaderScanner(100);
    const bytes = Buffer.concat([...packets]);
    let refusal: string | undefined;
    for (let i = 0; i < bytes.length && refusal === undefined; i++) refusal = scanner.scan(bytes.subarray(i, i + 1))?.code;
    expect(refusal).toBe(expected);
    const whole = new PacketHeaderScanner(100);
    expect(whole.scan(bytes)?.code).toBe(expected);
  });
});

describe('broker: the MQTT packet size limit applies before buffering (D3)', () => {
  let env: BrokerPlatform;
  let device: DeviceCredentials;

  beforeAll(async () => {
    env = await startBrokerPlatform();
    device = await env.enroll('d3-device');
  });
  afterAll(async () => {
    await env?.close();
  });

  it('drops a client that declares a 100 MB PUBLISH after its header and a few KB, without growing', async () => {
    const { hostname, port } = new URL(env.mqttUrl);
    const socket = tlsConnect({ host: hostname, port: Number(port), key: device.keyPem, cert: device.certPem, ca: device.caPem });
    socket.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('close', () => reject(new Error('closed during the handshake')));
    });
    const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
    let open = true;
    void closed.then(() => (open = false));
    const connack = new Promise<void>((resolve) => socket.once('data', () => resolve()));
    socket.write(connectPacket(device.deviceId));
    await connack;

    const rssBefore = process.memoryUsage().rss;
    const topic = Buffer.from(topics.telemetry(device.deviceId), 'utf8');
    const declared = 100 * MB;
    const sentAt = Date.now();
    socket.write(Buffer.concat([Buffer.from([0x32]), remainingLength(declared), Buffer.from([topic.length >> 8, topic.length & 0xff]), topic, Buffer.from([0x00, 0x01])]));
    // Keep sending the body, 64 KiB at a time, as a hostile client would, until the broker drops us.
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    let sent = 0;
    while (open && sent < 20 * MB) {
      if (!socket.write(chunk)) await new Promise<void>((resolve) => socket.once('drain', resolve).once('close', resolve));
      sent += chunk.length;
    }
    const closedAt = await closed;
    expect(closedAt - sentAt).toBeLessThan(2_000);
    // The broker stopped reading at the header: at most what was in flight got through.
    expect(sent).toBeLessThan(8 * MB);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * MB);
    expect(await env.metric('outpost_mqtt_packets_refused_total', { code: 'PACKET_TOO_LARGE' })).toBe(1);
    await waitFor(() => env.logs.find((l) => typeof l.msg === 'string' && l.msg.startsWith('mqtt connection dropped: the packet declares') && l['cn'] === device.deviceId), { what: 'the refusal logged' });
  });

  it('still accepts an ordinary publish', async () => {
    const client = await connectDevice(env.mqttUrl, device);
    try {
      await client.publishAsync(topics.telemetry(device.deviceId), JSON.stringify(telemetryBatch(1)), { qos: 1 });
      await waitFor(async () => (await env.metric('outpost_mqtt_messages_in_total', { kind: 'telemetry' })) >= 1, { what: 'the publish counted' });
    } finally {
      await client.endAsync();
    }
  });
});
