/**
 * What the browser suites run against: the whole platform in-process (`serverParts()`: registry,
 * broker, OTA, alerts, dashboard) on 127.0.0.1, devices enrolled for real and publishing over
 * MQTT with their own certificates, and Debian's Chromium. Screenshots go to
 * `os.tmpdir()/outpost-screens/` (outside the repository). Everything is closed by close().
 */
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { platformClient, serverParts, startChromium, startPlatform, TEST_ADMIN_PASSWORD, type ChromiumHandle, type DeviceCredentials, type PlatformClient, type TestPlatform } from '@outpost/e2e';
import type { Page } from 'playwright-core';

export const ADMIN_PASSWORD = TEST_ADMIN_PASSWORD;
export const SCREEN_DIR = join(tmpdir(), 'outpost-screens');

export interface SimDevice {
  readonly id: string;
  readonly credentials: DeviceCredentials;
  readonly mqtt: MqttClient;
  /** The OtaJobs the platform published to the device, in order. */
  readonly jobs: { readonly jobId: string; readonly rolloutId: string }[];
  seq: number;
}

export interface BrowserEnv {
  readonly platform: TestPlatform;
  readonly client: PlatformClient;
  readonly chromium: ChromiumHandle;
  readonly devices: ReadonlyMap<string, SimDevice>;
  /** Publishes one telemetry sample (QoS 1: resolved once the broker acknowledged it). */
  publish(deviceId: string, metrics: Record<string, number>, ts?: number): Promise<void>;
  /** Publishes the device's retained online status. */
  online(deviceId: string): Promise<void>;
  /** Reports OtaProgress on the device's latest job. */
  progress(deviceId: string, state: string, extra?: { percent?: number; bytes?: number }): Promise<void>;
  /** A page signed in as `username` (in its own browser context). */
  signedIn(username: string, password?: string, look?: { width: number; height: number; colorScheme: 'light' | 'dark' }): Promise<Page>;
  screenshot(page: Page, name: string): Promise<string>;
  close(): Promise<void>;
}

export interface DeviceSpec {
  readonly id: string;
  readonly group: string;
  /** Samples of `temperature`/`humidity` published before the test, one a minute, this many minutes back. */
  readonly historyMinutes: number;
}

export async function startBrowserEnv(specs: readonly DeviceSpec[]): Promise<BrowserEnv> {
  await mkdir(SCREEN_DIR, { recursive: true });
  const platform = await startPlatform({ parts: serverParts(), logLevel: 'info', dirPrefix: 'outpost-web-' });
  const devices = new Map<string, SimDevice>();
  let chromium: ChromiumHandle | undefined;
  const close = async (): Promise<void> => {
    await chromium?.close();
    for (const d of devices.values()) await d.mqtt.endAsync(true).catch(() => undefined);
    await platform.close();
  };
  try {
    const bound = platform.logs.find((l) => typeof l['mqttUrl'] === 'string');
    const mqttUrl = bound?.['mqttUrl'];
    if (typeof mqttUrl !== 'string') throw new Error('the broker logged no bound MQTT listener');
    const client = await platformClient(platform.operatorUrl, () => platform.deviceUrl());
    for (const spec of specs) {
      const credentials = await client.enroll(spec.id);
      if (spec.group !== 'test') {
        const moved = await client.api('PATCH', `/api/v1/devices/${spec.id}`, { group: spec.group });
        if (moved.status !== 200) throw new Error(`move ${spec.id}: ${String(moved.status)} ${JSON.stringify(moved.body)}`);
      }
      const connection = await mqtt.connectAsync(mqttUrl, {
        key: credentials.keyPem,
        cert: credentials.certPem,
        ca: credentials.caPem,
        rejectUnauthorized: true,
        protocolVersion: 4,
        reconnectPeriod: 0,
        connectTimeout: 5_000,
        clientId: spec.id,
      });
      const device: SimDevice = { id: spec.id, credentials, mqtt: connection, jobs: [], seq: 0 };
      connection.on('message', (topic, payload) => {
        if (topic.endsWith('/ota/job')) device.jobs.push(JSON.parse(payload.toString('utf8')) as { jobId: string; rolloutId: string });
      });
      await connection.subscribeAsync(`devices/${spec.id}/ota/job`, { qos: 1 });
      devices.set(spec.id, device);
    }
    const publish = async (deviceId: string, metrics: Record<string, number>, ts = Date.now()): Promise<void> => {
      const d = devices.get(deviceId);
      if (d === undefined) throw new Error(`no device ${deviceId}`);
      d.seq += 1;
      await d.mqtt.publishAsync(`devices/${deviceId}/telemetry`, JSON.stringify({ v: 1, seq: d.seq, samples: [{ ts, metrics }] }), { qos: 1 });
    };
    const online = async (deviceId: string): Promise<void> => {
      const d = devices.get(deviceId);
      if (d === undefined) throw new Error(`no device ${deviceId}`);
      const status = { v: 1, state: 'online', agentVersion: '1.4.0', firmware: { name: 'greenhouse-app', version: deviceId.endsWith('1') ? '2.1.0' : '2.0.3', slot: 'a' }, uptimeS: 120, outbox: { depth: 3, bytes: 2048, dropped: 1, refused: 0 }, at: Date.now() };
      await d.mqtt.publishAsync(`devices/${deviceId}/status`, JSON.stringify(status), { qos: 1, retain: true });
    };
    const progress = async (deviceId: string, state: string, extra: { percent?: number; bytes?: number } = {}): Promise<void> => {
      const d = devices.get(deviceId);
      const job = d?.jobs[d.jobs.length - 1];
      if (d === undefined || job === undefined) throw new Error(`${deviceId} has no job to report on`);
      await d.mqtt.publishAsync(`devices/${deviceId}/ota/progress`, JSON.stringify({ v: 1, jobId: job.jobId, state, at: Date.now(), ...extra }), { qos: 1 });
    };
    const now = Date.now();
    for (const spec of specs) {
      await online(spec.id);
      for (let m = spec.historyMinutes; m >= 1; m--) {
        await publish(spec.id, { temperature: 20 + 5 * Math.sin(m / 6) + (spec.id.length % 3), humidity: 40 + (m % 10) }, now - m * 60_000);
      }
    }
    chromium = await startChromium();
    const browser = chromium.browser;
    return {
      platform,
      client,
      chromium,
      devices,
      publish,
      online,
      progress,
      async signedIn(username, password = ADMIN_PASSWORD, look = { width: 1280, height: 900, colorScheme: 'light' }) {
        const context = await browser.newContext({ viewport: { width: look.width, height: look.height }, colorScheme: look.colorScheme });
        const page = await context.newPage();
        await page.goto(`${platform.operatorUrl}/`);
        await page.getByLabel('Username').fill(username);
        await page.getByLabel('Password').fill(password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Fleet' }).waitFor();
        return page;
      },
      async screenshot(page, name) {
        const file = join(SCREEN_DIR, `${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        return file;
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
