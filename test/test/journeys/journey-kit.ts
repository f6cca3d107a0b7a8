/**
 * What the user journeys share: a spawned `outpost server` with the dashboard, Chromium with an
 * operator signed in through the login form, a device connected over MQTT with its own enrolled
 * certificate, and screenshots in `os.tmpdir()/outpost-screens/` (outside the repository).
 * Every deadline comes from serviceTimeoutMs (OUTPOST_TEST_SERVICE_TIMEOUT_MS shortens or stretches it).
 */
import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { adminApi, enrollDevices, findFreePorts, serviceTimeoutMs, startServerProcess, type ChromiumHandle, type DeviceIdentity, type ServerProcess } from '../../src/index.js';

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

// ── The operator CLI and real agents (journeys a and c) ─────────────────────────────────────────

/** The `outpost` CLI as built in this checkout, and the agent's entry point. */
export const OUTPOST_CLI = fileURLToPath(new URL('../../../platform/dist/src/cli/main.js', import.meta.url));
export const AGENT_MAIN = fileURLToPath(new URL('../../../edge-agent/dist/src/main.js', import.meta.url));

/**
 * `outpost server` in `dir` on fixed free loopback ports: the enrollment answer names the
 * configured MQTT port, so a real agent needs one that is not 0. Ready once GET /readyz is 200.
 */
export async function startJourneyServer(dir: string, env: Record<string, string>): Promise<ServerProcess> {
  await mkdir(dir, { recursive: true });
  const [http, device, mqttPort] = await findFreePorts(3);
  const urls = { operatorUrl: `http://127.0.0.1:${String(http)}`, deviceUrl: `https://127.0.0.1:${String(device)}`, mqttUrl: `mqtts://127.0.0.1:${String(mqttPort)}` };
  return startServerProcess(dir, { OUTPOST_HTTP_PORT: String(http), OUTPOST_DEVICE_PORT: String(device), OUTPOST_MQTT_PORT: String(mqttPort), ...env }, { urls, timeoutMs: serviceTimeoutMs(60_000) });
}

/** A session token for `username` from the operator API's login route. */
export async function loginToken(target: JourneyTarget, username: string, password: string): Promise<string> {
  const res = await fetch(`${target.operatorUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`login as ${username}: ${String(res.status)} ${text}`);
  return (JSON.parse(text) as { token: string }).token;
}

/** The environment the operator CLI runs with against `target`: OUTPOST_SERVER, OUTPOST_TOKEN and a HOME of its own. */
export function cliEnv(target: JourneyTarget, token: string, home: string): Record<string, string> {
  return { PATH: process.env['PATH'] ?? '', HOME: home, OUTPOST_SERVER: target.operatorUrl, OUTPOST_TOKEN: token };
}

const execFileAsync = promisify(execFile);

/** Runs `outpost ARGS` to completion in `cwd`: its stdout, or an error carrying everything it wrote. */
export async function outpostCli(args: readonly string[], env: Record<string, string>, cwd: string): Promise<string> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [OUTPOST_CLI, ...args], { cwd, env, timeout: stepMs() * 2 });
    return stdout;
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`outpost ${args.join(' ')} failed: ${e.stderr ?? ''}${e.stdout ?? ''}${e.message}`, { cause: err });
  }
}
