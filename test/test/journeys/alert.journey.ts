/**
 * User journey (issue 16, item 2 b), against any JourneyTarget (one `outpost server`, or a cluster
 * through HAProxy): a device with its own enrolled certificate publishing over MQTT, a webhook
 * receiver on 127.0.0.1 that checks X-Outpost-Signature itself, and an operator in Chromium. The
 * device crosses the rule's threshold → the alert fires → the signed webhook arrives and verifies
 * → the operator signs in, opens Alerts and acknowledges it with a comment → the API shows who and
 * why → the device goes back below the clear threshold → resolved, in the API, in a second
 * verified webhook, and on the page.
 *
 * The target's server(s) must run with ALERT_JOURNEY_SERVER_ENV (the receiver is on loopback).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { waitFor, type ChromiumHandle } from '../../src/index.js';
import { connectedDevice, createOperator, screenshot, signIn, stepMs, type AdminCall, type JourneyTarget } from './journey-kit.js';

/** What the target's server(s) need for this journey: webhook targets on loopback are allowed. */
export const ALERT_JOURNEY_SERVER_ENV: Readonly<Record<string, string>> = { OUTPOST_WEBHOOK_ALLOW_PRIVATE: 'true' };

export interface AlertJourneyOptions {
  /** The device that crosses the threshold (default freezer-07); enrolled by the journey. */
  readonly deviceId?: string;
  /** The operator account the journey creates and signs in with (default olga). */
  readonly operator?: { readonly username: string; readonly password: string };
  /** The rule and channel ids the journey creates (default freezer-warm, ops-hook). */
  readonly ruleId?: string;
  readonly channelId?: string;
}

export interface AlertJourneyResult {
  /** From the device's crossing publish to the firing webhook at the receiver. */
  readonly firingWebhookMs: number;
  /** The folder the screenshots went to. */
  readonly screenshots: string;
}

const SECRET = 'journey-webhook-secret-0123456789';
const COMMENT = 'compressor restarted, watching it';

interface Delivery {
  readonly state: string;
  readonly alertId: string | undefined;
  readonly verified: boolean;
  readonly at: number;
}

interface AlertView {
  readonly id: string;
  readonly state: string;
  readonly deviceId: string;
  readonly ruleId: string;
  readonly ack?: { by: string; comment: string; at: number };
}

/** The receiver a user would run: recomputes the HMAC over the raw body, 401 when it differs. */
function verifies(body: Buffer, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
  const got = Buffer.from(header ?? '');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** Runs the whole journey with its assertions; the receiver, the device and the browser context are closed on the way out. */
export async function runAlertJourney(target: JourneyTarget, chromium: ChromiumHandle, options: AlertJourneyOptions = {}): Promise<AlertJourneyResult> {
  const deviceId = options.deviceId ?? 'freezer-07';
  const operator = options.operator ?? { username: 'olga', password: 'olga-the-operator-1' };
  const ruleId = options.ruleId ?? 'freezer-warm';
  const channelId = options.channelId ?? 'ops-hook';
  const say = (line: string): void => console.log(`alert journey${target.label === undefined ? '' : ` (${target.label})`}: ${line}`);
  const shot = (page: Page, name: string): Promise<string> => screenshot(page, `journey-${target.label === undefined ? '' : `${target.label}-`}alert-${name}`);

  const deliveries: Delivery[] = [];
  const hookServer = createServer((req, res) => {
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
  let device: MqttClient | undefined;
  let page: Page | undefined;
  try {
    const api: AdminCall = await createOperator(target, operator.username, operator.password);
    const hookUrl = `http://127.0.0.1:${String((hookServer.address() as AddressInfo).port)}/outpost`;
    await api('POST', '/api/v1/channels', { id: channelId, name: 'ops on-call', type: 'webhook', url: hookUrl, secret: SECRET });
    await api('POST', '/api/v1/rules', {
      id: ruleId,
      name: 'freezer too warm',
      kind: 'threshold',
      metric: 'temp_c',
      condition: '>',
      threshold: -15,
      clearThreshold: -17,
      forMs: 0,
      severity: 'critical',
      cooldownMs: 0,
      channels: [channelId],
    });
    const connected = await connectedDevice(target, deviceId);
    device = connected.client;
    let seq = 0;
    const publish = async (temp: number): Promise<void> => {
      seq += 1;
      await connected.client.publishAsync(`devices/${deviceId}/telemetry`, JSON.stringify({ v: 1, seq, samples: [{ ts: Date.now(), metrics: { temp_c: temp } }] }), { qos: 1 });
    };

    // Cold, then warmer than the threshold: the alert fires and the webhook arrives, signed.
    await publish(-20);
    const crossedAt = Date.now();
    await publish(-12);
    const firing = await waitFor(
      async () => ((await api('GET', `/api/v1/alerts?device=${deviceId}&state=firing`)) as { items: AlertView[] }).items.find((a) => a.ruleId === ruleId),
      { description: 'the alert firing in the API', timeoutMs: stepMs() },
    );
    const fired = await waitFor(() => deliveries.find((d) => d.state === 'firing'), { description: 'the firing webhook', timeoutMs: stepMs() });
    const firingWebhookMs = fired.at - crossedAt;
    say(`firing webhook received ${String(firingWebhookMs)} ms after the device published the crossing value`);
    expect(fired.verified).toBe(true);

    // The operator, in the browser: sign in, open Alerts, acknowledge with a comment.
    page = await signIn(chromium, target, operator.username, operator.password);
    await page.getByRole('link', { name: 'Alerts' }).click();
    const row = page.locator(`tr[data-alert="${firing.id}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-state')).toBe('firing');
    await row.getByRole('button', { name: 'Acknowledge' }).click();
    await row.getByLabel('Comment').fill(COMMENT);
    await row.getByRole('button', { name: 'Confirm acknowledge' }).click();
    await waitFor(async () => (await row.getAttribute('data-state')) === 'acknowledged', { description: 'the row acknowledged on the page', timeoutMs: stepMs() });
    expect(await row.textContent()).toContain(`${operator.username}, `);
    expect(await row.textContent()).toContain(COMMENT);
    await shot(page, 'acknowledged');

    const acked = (await api('GET', `/api/v1/alerts/${firing.id}`)) as AlertView;
    expect(acked).toMatchObject({ state: 'acknowledged', deviceId, ack: { by: operator.username, comment: COMMENT } });

    // Back below the clear threshold: resolved in the API, a second verified webhook, and on the page without a reload.
    await publish(-19);
    await waitFor(async () => ((await api('GET', `/api/v1/alerts/${firing.id}`)) as AlertView).state === 'resolved', { description: 'the alert resolved in the API', timeoutMs: stepMs() });
    const resolved = await waitFor(() => deliveries.find((d) => d.state === 'resolved'), { description: 'the resolved webhook', timeoutMs: stepMs() });
    expect(resolved.verified).toBe(true);
    await waitFor(async () => (await row.getAttribute('data-state')) === 'resolved', { description: 'the row resolved on the page', timeoutMs: stepMs() });
    expect(await row.locator('td').nth(3).textContent()).toContain('resolved');
    expect(await row.textContent()).toContain(COMMENT);
    const file = await shot(page, 'resolved');
    const screenshots = file.replace(/[^/]+$/, '');
    say(`screenshots in ${screenshots}`);

    // Exactly one alert for the device, and every delivery was signed with the channel's secret.
    expect(deliveries.map((d) => [d.state, d.verified])).toEqual([
      ['firing', true],
      ['resolved', true],
    ]);
    const all = (await api('GET', `/api/v1/alerts?device=${deviceId}`)) as { items: AlertView[] };
    expect(all.items.map((a) => [a.id, a.state])).toEqual([[firing.id, 'resolved']]);
    return { firingWebhookMs, screenshots };
  } finally {
    await device?.endAsync(true).catch(() => undefined);
    await page?.context().close().catch(() => undefined);
    await new Promise((resolve) => hookServer.close(resolve));
  }
}
