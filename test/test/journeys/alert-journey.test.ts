/**
 * User journey (issue 16, item 2 b) on spawned processes: `outpost server`, a device with its own
 * enrolled certificate publishing over MQTT, a webhook receiver on 127.0.0.1 that checks
 * X-Outpost-Signature itself, and an operator in Chromium. The device crosses the rule's
 * threshold → the alert fires → the signed webhook arrives and verifies → the operator signs in,
 * opens Alerts and acknowledges it with a comment → the API shows who and why → the device goes
 * back below the clear threshold → resolved, in the API, in a second verified webhook, and on the page.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChromium, startServerProcess, waitFor, type ChromiumHandle, type ServerProcess } from '../../src/index.js';
import { connectedDevice, createOperator, screenshot, signIn, stepMs, type AdminCall } from './journey-kit.js';

const SECRET = 'journey-webhook-secret-0123456789';
const OPERATOR = { username: 'olga', password: 'olga-the-operator-1' };
const DEVICE = 'freezer-07';
const COMMENT = 'compressor restarted, watching it';

interface Delivery {
  readonly state: string;
  readonly alertId: string | undefined;
  readonly verified: boolean;
  readonly at: number;
}

/** The receiver a user would run: recomputes the HMAC over the raw body, 401 when it differs. */
function verifies(body: Buffer, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
  const got = Buffer.from(header ?? '');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

interface AlertView {
  readonly id: string;
  readonly state: string;
  readonly deviceId: string;
  readonly ruleId: string;
  readonly ack?: { by: string; comment: string; at: number };
}

describe('journey: rule → alert → signed webhook → acknowledged in the dashboard → resolved', () => {
  let dir: string;
  let server: ServerProcess;
  let chromium: ChromiumHandle;
  let hookServer: Server;
  let device: MqttClient | undefined;
  const deliveries: Delivery[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-journey-alert-'));
    hookServer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const verified = verifies(body, req.headers['x-outpost-signature'] as string | undefined);
        const event = JSON.parse(body.toString('utf8')) as { state?: string; alertId?: string; id?: string };
        deliveries.push({ state: String(event.state), alertId: event.alertId ?? event.id, verified, at: Date.now() });
        res.writeHead(verified ? 204 : 401).end();
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    // The receiver is on loopback: the server must be told private webhook targets are fine.
    [server, chromium] = await Promise.all([startServerProcess(dir, { OUTPOST_WEBHOOK_ALLOW_PRIVATE: 'true' }), startChromium()]);
  }, 120_000);
  afterAll(async () => {
    await device?.endAsync(true).catch(() => undefined);
    await chromium?.close();
    await server?.stop();
    await new Promise((resolve) => hookServer?.close(resolve));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('fires, notifies with a verified signature, is acknowledged by the operator with a comment, then resolves', async () => {
    const api: AdminCall = await createOperator(server, OPERATOR.username, OPERATOR.password);
    const hookUrl = `http://127.0.0.1:${String((hookServer.address() as AddressInfo).port)}/outpost`;
    await api('POST', '/api/v1/channels', { id: 'ops-hook', name: 'ops on-call', type: 'webhook', url: hookUrl, secret: SECRET });
    await api('POST', '/api/v1/rules', {
      id: 'freezer-warm',
      name: 'freezer too warm',
      kind: 'threshold',
      metric: 'temp_c',
      condition: '>',
      threshold: -15,
      clearThreshold: -17,
      forMs: 0,
      severity: 'critical',
      cooldownMs: 0,
      channels: ['ops-hook'],
    });
    const connected = await connectedDevice(server, DEVICE);
    device = connected.client;
    let seq = 0;
    const publish = async (temp: number): Promise<void> => {
      seq += 1;
      await connected.client.publishAsync(`devices/${DEVICE}/telemetry`, JSON.stringify({ v: 1, seq, samples: [{ ts: Date.now(), metrics: { temp_c: temp } }] }), { qos: 1 });
    };

    // Cold, then warmer than the threshold: the alert fires and the webhook arrives, signed.
    await publish(-20);
    const crossedAt = Date.now();
    await publish(-12);
    const firing = await waitFor(
      async () => ((await api('GET', `/api/v1/alerts?device=${DEVICE}&state=firing`)) as { items: AlertView[] }).items.find((a) => a.ruleId === 'freezer-warm'),
      { description: 'the alert firing in the API', timeoutMs: stepMs() },
    );
    const fired = await waitFor(() => deliveries.find((d) => d.state === 'firing'), { description: 'the firing webhook', timeoutMs: stepMs() });
    console.log(`alert journey: firing webhook received ${String(fired.at - crossedAt)} ms after the device published the crossing value`);
    expect(fired.verified).toBe(true);

    // The operator, in the browser: sign in, open Alerts, acknowledge with a comment.
    const page = await signIn(chromium, server, OPERATOR.username, OPERATOR.password);
    await page.getByRole('link', { name: 'Alerts' }).click();
    const row = page.locator(`tr[data-alert="${firing.id}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-state')).toBe('firing');
    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await row.getByLabel('Comment').fill(COMMENT);
    await row.getByRole('button', { name: 'Confirm acknowledge' }).click();
    await waitFor(async () => (await row.getAttribute('data-state')) === 'acknowledged', { description: 'the row acknowledged on the page', timeoutMs: stepMs() });
    expect(await row.textContent()).toContain(`${OPERATOR.username}, `);
    expect(await row.textContent()).toContain(COMMENT);
    await screenshot(page, 'journey-alert-acknowledged');

    const acked = (await api('GET', `/api/v1/alerts/${firing.id}`)) as AlertView;
    expect(acked).toMatchObject({ state: 'acknowledged', deviceId: DEVICE, ack: { by: OPERATOR.username, comment: COMMENT } });

    // Back below the clear threshold: resolved in the API, a second verified webhook, and on the page without a reload.
    await publish(-19);
    await waitFor(async () => ((await api('GET', `/api/v1/alerts/${firing.id}`)) as AlertView).state === 'resolved', { description: 'the alert resolved in the API', timeoutMs: stepMs() });
    const resolved = await waitFor(() => deliveries.find((d) => d.state === 'resolved'), { description: 'the resolved webhook', timeoutMs: stepMs() });
    expect(resolved.verified).toBe(true);
    await waitFor(async () => (await row.getAttribute('data-state')) === 'resolved', { description: 'the row resolved on the page', timeoutMs: stepMs() });
    expect(await row.locator('td').nth(3).textContent()).toContain('resolved');
    expect(await row.textContent()).toContain(COMMENT);
    const file = await screenshot(page, 'journey-alert-resolved');
    console.log(`alert journey: screenshots in ${file.replace(/[^/]+$/, '')}`);

    // Exactly one alert for the device, and every delivery was signed with the channel's secret.
    expect(deliveries.map((d) => [d.state, d.verified])).toEqual([
      ['firing', true],
      ['resolved', true],
    ]);
    const all = (await api('GET', `/api/v1/alerts?device=${DEVICE}`)) as { items: AlertView[] };
    expect(all.items.map((a) => [a.id, a.state])).toEqual([[firing.id, 'resolved']]);
  }, 120_000);
});
