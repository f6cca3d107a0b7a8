/** mqtt.js clients over mTLS for the tests: no automatic reconnect, every wait bounded. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { DeviceCredentials } from './broker-platform.js';

export interface TlsIdentity {
  readonly keyPem: string;
  readonly certPem: string;
  readonly caPem: string;
}

export function clientOptions(identity: Partial<TlsIdentity> & { caPem: string }, extra: IClientOptions = {}): IClientOptions {
  return {
    ...(identity.keyPem === undefined ? {} : { key: identity.keyPem }),
    ...(identity.certPem === undefined ? {} : { cert: identity.certPem }),
    ca: identity.caPem,
    rejectUnauthorized: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...extra,
  };
}

/** Connects a device with its own id as client id (override with `extra.clientId`). */
export function connectDevice(url: string, device: DeviceCredentials, extra: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, clientOptions(device, { clientId: device.deviceId, ...extra }));
}

/** Tries to connect and answers how it failed: a CONNACK return code, or a TLS/transport error. */
export async function connectFailure(url: string, options: IClientOptions): Promise<{ code?: number; message: string }> {
  try {
    const client = await mqtt.connectAsync(url, options, false);
    await client.endAsync(true);
    return { message: 'connected' };
  } catch (err) {
    const error = err as Error & { code?: number | string };
    return { ...(typeof error.code === 'number' ? { code: error.code } : {}), message: `${String(error.code ?? '')} ${error.message}` };
  }
}

/** Waits for the client's connection to close (the broker dropped it), with a deadline. */
export function closed(client: MqttClient, timeoutMs = 5_000): Promise<number> {
  const started = Date.now();
  if (!client.connected) return Promise.resolve(0);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`connection still open after ${timeoutMs} ms`)), timeoutMs);
    client.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - started);
    });
  });
}

/** Collects the messages the client receives, by topic. */
export function inbox(client: MqttClient): { topic: string; payload: unknown; retain: boolean }[] {
  const received: { topic: string; payload: unknown; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) => {
    let parsed: unknown = payload.toString('utf8');
    try {
      parsed = JSON.parse(payload.toString('utf8')) as unknown;
    } catch {
      // keep the text
    }
    received.push({ topic, payload: parsed, retain: packet.retain });
  });
  return received;
}
