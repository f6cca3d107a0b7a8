import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { topics } from '@outpost/protocol';
import type { LiveEvent } from '@outpost/kernel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBrokerPlatform, type BrokerPlatform, type DeviceCredentials } from '../helpers/broker-platform.js';
import { telemetryBatch } from '../helpers/payloads.js';
import { waitFor } from '../helpers/poll.js';

const run = promisify(execFile);

/** The real Mosquitto command-line clients against the broker, with a device certificate. */
describe('broker: mosquitto_pub / mosquitto_sub with a device certificate', () => {
  let env: BrokerPlatform;
  let device: DeviceCredentials;
  let dir: string;
  const live: LiveEvent[] = [];

  beforeAll(async () => {
    env = await startBrokerPlatform();
    env.platform.live.events.subscribe((e) => live.push(e));
    device = await env.enroll('mosq-device');
    dir = await mkdtemp(join(tmpdir(), 'outpost-mosquitto-'));
    await writeFile(join(dir, 'ca.pem'), device.caPem);
    await writeFile(join(dir, 'cert.pem'), device.certPem);
    await writeFile(join(dir, 'key.pem'), device.keyPem, { mode: 0o600 });
  });
  afterAll(async () => {
    await env?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const tlsArgs = (): string[] => {
    const { hostname, port } = new URL(env.mqttUrl);
    return ['-h', hostname, '-p', port, '--cafile', join(dir, 'ca.pem'), '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem'), '-i', device.deviceId, '-V', 'mqttv311'];
  };

  it('mosquitto_pub publishes a telemetry batch with QoS 1 and it is accepted', async () => {
    await run('mosquitto_pub', [...tlsArgs(), '-t', topics.telemetry(device.deviceId), '-q', '1', '-m', JSON.stringify(telemetryBatch(42))], { timeout: 10_000 });
    const event = await waitFor(() => live.find((e) => e.topic === 'telemetry' && e.deviceId === device.deviceId), { what: 'the batch on the live hub' });
    expect((event.payload as { seq: number }).seq).toBe(42);
  });

  it('mosquitto_sub receives the retained desired config', async () => {
    expect((await env.api('PUT', `/api/v1/devices/${device.deviceId}/config`, { collectors: [{ type: 'system', intervalMs: 5_000 }] })).status).toBe(200);
    const { stdout } = await run('mosquitto_sub', [...tlsArgs(), '-t', topics.configDesired(device.deviceId), '-q', '1', '-C', '1', '-W', '10'], { timeout: 15_000 });
    expect(JSON.parse(stdout)).toMatchObject({ v: 1, version: 1 });
  });

  it('mosquitto_pub with another client id is refused', async () => {
    const args = tlsArgs();
    args[args.indexOf('-i') + 1] = 'someone-else';
    await expect(run('mosquitto_pub', [...args, '-t', topics.telemetry(device.deviceId), '-q', '1', '-m', '{}'], { timeout: 10_000 })).rejects.toThrow();
  });
});
