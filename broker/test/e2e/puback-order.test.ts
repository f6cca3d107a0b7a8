/**
 * Pipelined QoS 1 (issue 12, item 6): the broker takes a client's next publish while earlier
 * ones await the spool's group-commit fsync, and still sends the PUBACKs in the order the
 * PUBLISHes arrived (MQTT 4.6.0-2) — also when refused batches (acknowledged at once) sit
 * between accepted ones that wait for their fsync.
 */
import { topics } from '@outpost/protocol';
import type { MqttClient } from 'mqtt';
import type { Packet } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '../helpers/mqtt-client.js';
import { startBrokerPlatform, type BrokerPlatform } from '../helpers/broker-platform.js';
import { waitFor } from '../helpers/poll.js';

const MESSAGES = Number(process.env['OUTPOST_TEST_PUBACK_MESSAGES'] ?? 400);

describe('QoS 1 publishes of one client, many in flight', () => {
  let env: BrokerPlatform;
  let client: MqttClient | undefined;

  beforeAll(async () => {
    env = await startBrokerPlatform({ env: { OUTPOST_LIMIT_MSGS_PER_S: '1000000', OUTPOST_LIMIT_BYTES_PER_S: '1073741824' } });
  });
  afterAll(async () => {
    await client?.endAsync(true);
    await env?.close();
  });

  it('are acknowledged in the order they were sent, each once, and every accepted batch is in the spool', async () => {
    const device = await env.enroll('order-device');
    client = await connectDevice(env.mqttUrl, device);
    const sent: number[] = [];
    const acked: number[] = [];
    client.on('packetsend', (packet: Packet) => {
      if (packet.cmd === 'publish' && packet.qos === 1 && packet.messageId !== undefined) sent.push(packet.messageId);
    });
    client.on('packetreceive', (packet: Packet) => {
      if (packet.cmd === 'puback' && packet.messageId !== undefined) acked.push(packet.messageId);
    });
    const before = env.broker.provides.ingestSpool.stats().lastSeq;
    const ts = Date.now();
    let valid = 0;
    const publishes: Promise<unknown>[] = [];
    for (let i = 1; i <= MESSAGES; i += 1) {
      // Every fifth batch is refused (a reserved metric name): acknowledged and dropped without waiting for an fsync.
      const refused = i % 5 === 0;
      if (!refused) valid += 1;
      const payload = JSON.stringify({ v: 1, seq: i, samples: [{ ts, metrics: refused ? { time: 1 } : { t: i } }] });
      publishes.push(client.publishAsync(topics.telemetry(device.deviceId), payload, { qos: 1 }));
    }
    await Promise.all(publishes);
    await waitFor(() => acked.length >= MESSAGES || undefined, { what: 'every PUBACK' });
    expect(sent).toHaveLength(MESSAGES);
    expect(acked).toEqual(sent);
    expect(env.broker.provides.ingestSpool.stats().lastSeq - before).toBe(valid);
  });
});
