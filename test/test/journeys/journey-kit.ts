/**
 * What the user journeys share: a spawned `outpost server` with the dashboard, Chromium with an
 * operator signed in through the login form, a device connected over MQTT with its own enrolled
 * certificate, and screenshots in `os.tmpdir()/outpost-screens/` (outside the repository).
 * Every deadline comes from serviceTimeoutMs (OUTPOST_TEST_SERVICE_TIMEOUT_MS shortens or stretches it).
 */
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { adminApi, enrollDevices, serviceTimeoutMs, type ChromiumHandle, type DeviceIdentity, type ServerProcess } from '../../src/index.js';

/**
 * Where a journey runs, as a user sees it from outside: one spawned `outpost server` (a
 * ServerProcess is one) or a cluster seen through HAProxy (cluster-target.ts). The operator CLI
 * of a journey talks to `operatorUrl` (OUTPOST_SERVER); devices enroll at `deviceUrl` and connect
 * to `mqttUrl`, trusting the CA chain the operator API serves (GET /api/v1/ca).
 */
export interface JourneyTarget extends Pick<ServerProcess, 'operatorUrl' | 'deviceUrl' | 'mqttUrl'> {
  /** A word for log lines and screenshot names (default none: the single-server names). */
  readonly label?: string;
  /** The TLS name to check the MQTT server certificate against, when `mqttUrl`'s host is not in it (a cluster node's own 127.0.0.x). */
  readonly mqttServername?: string;
}

export const SCREEN_DIR = join(tmpdir(), 'outpost-screens');

/** The per-step deadline of a journey (default 15 s; OUTPOST_TEST_SERVICE_TIMEOUT_MS overrides it). */
export const stepMs = (): number => serviceTimeoutMs(15_000);

export type AdminCall = (method: string, path: string, body?: unknown) => Promise<unknown>;

/** An operator account made by the admin, for the journey's person at the browser. */
export async function createOperator(server: JourneyTarget, username: string, password: string): Promise<AdminCall> {
  const api = await adminApi(server.operatorUrl);
  await api('POST', '/api/v1/users', { username, password, role: 'operator' });
  return api;
}

/** A fresh browser context signed in through the dashboard's login form, on the fleet page. */
export async function signIn(chromium: ChromiumHandle, server: JourneyTarget, username: string, password: string): Promise<Page> {
  const context = await chromium.browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(stepMs());
  await page.goto(`${server.operatorUrl}/`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Fleet' }).waitFor();
  return page;
}

/** One device enrolled for real and connected over mTLS MQTT with its own certificate. */
export async function connectedDevice(server: JourneyTarget, deviceId: string): Promise<{ identity: DeviceIdentity; client: MqttClient }> {
  const [identity] = await enrollDevices(server, [deviceId]);
  if (identity === undefined) throw new Error(`enrolling ${deviceId} answered no identity`);
  return { identity, client: await connectMqtt(server, identity) };
}

export function connectMqtt(server: JourneyTarget, identity: DeviceIdentity): Promise<MqttClient> {
  return mqtt.connectAsync(server.mqttUrl, {
    clientId: identity.deviceId,
    key: identity.keyPem,
    cert: identity.certPem,
    ca: identity.caPem,
    rejectUnauthorized: true,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: stepMs(),
    protocolVersion: 4,
    ...(server.mqttServername === undefined ? {} : { servername: server.mqttServername }),
  });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREEN_DIR, { recursive: true });
  const file = join(SCREEN_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
