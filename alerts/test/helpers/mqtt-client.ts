/** mqtt.js clients over mTLS for the alerts suites: no automatic reconnect, every wait bounded. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { DeviceCredentials } from '@outpost/e2e';

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
