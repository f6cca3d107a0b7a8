/** A device's mqtt.js client over mTLS for the part suites: no automatic reconnect, every wait bounded. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { DeviceCredentials } from './platform-client.js';

/** Connects a device with its own id as client id (override with `extra.clientId`). */
export function connectDevice(url: string, device: DeviceCredentials, extra: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    key: device.keyPem,
    cert: device.certPem,
    ca: device.caPem,
    rejectUnauthorized: true,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    clientId: device.deviceId,
    ...extra,
  });
}
