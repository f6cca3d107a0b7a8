import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice } from '../helpers/mqtt-client.js';
import { startBrokerPlatform, type BrokerPlatform } from '../helpers/broker-platform.js';
import { waitFor } from '../helpers/poll.js';

describe('broker: TLS credentials follow the registry without a restart', () => {
  let env: BrokerPlatform;

  beforeAll(async () => {
    env = await startBrokerPlatform();
  });
  afterAll(async () => {
    await env?.close();
  });

  it('trusts devices of a new CA after a rotation, and keeps the old ones', async () => {
    const before = await env.enroll('rot-before');
    const live = await connectDevice(env.mqttUrl, before);
    expect((await env.api('POST', '/api/v1/ca/rotate')).status).toBe(200);
    await waitFor(() => env.logs.some((l) => String(l.msg).startsWith('mqtt listener: TLS credentials replaced')), { what: 'the credentials swapped' });
    const after = await env.enroll('rot-after');
    expect(after.caPem).not.toBe(before.caPem);
    const fresh = await connectDevice(env.mqttUrl, after);
    expect(fresh.connected).toBe(true);
    // The session opened before the rotation lives on; a reconnect of the old device works too.
    expect(live.connected).toBe(true);
    await live.endAsync();
    const old = await connectDevice(env.mqttUrl, { ...before, caPem: after.caPem });
    expect(old.connected).toBe(true);
    await Promise.all([fresh.endAsync(), old.endAsync()]);
  });
});
