import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { topics, type AlertEvent } from '@outpost/protocol';
import type { MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { ruleBody, startAlertsPlatform, type AlertsPlatform } from './helpers/alerts-platform.js';
import { connectDevice, waitFor } from '@outpost/e2e';

const SECRET = 'a-webhook-secret-of-some-length';

interface Received {
  readonly body: string;
  readonly signature: string | undefined;
  readonly eventId: string | undefined;
  readonly status: number;
}

interface Delivery {
  eventId: string;
  state: string;
  attempts: number;
  statusCode?: number;
  error?: string;
  nextRetryAt?: number;
}

/** A webhook receiver on 127.0.0.1:0 that answers the statuses of `plan` in turn (then 204). */
async function receiver(plan: number[] = []): Promise<{ url: string; received: Received[]; server: Server; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = plan.shift() ?? 204;
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['x-outpost-signature'] as string | undefined, eventId: req.headers['x-outpost-event-id'] as string | undefined, status });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks/outpost`, received, server, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

function validSignature(r: Received): boolean {
  return r.signature === `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`;
}

describe('webhook notifications', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function breach(p: AlertsPlatform, deviceId: string): Promise<MqttClient> {
    const device = await p.enroll(deviceId);
    const client = await connectDevice(p.mqttUrl, device);
    cleanups.push(() => client.endAsync());
    await client.publishAsync(topics.telemetry(deviceId), JSON.stringify({ v: 1, seq: 1, samples: [{ ts: Date.now(), metrics: { temperature: -2 } }] }), { qos: 1 });
    return client;
  }

  it('POSTs the AlertEvent signed with HMAC-SHA256 of the raw body, and never shows the secret', async () => {
    const hook = await receiver();
    cleanups.push(hook.close);
    const p = await startAlertsPlatform();
    cleanups.push(() => p.close());
    const created = await p.api('POST', '/api/v1/channels', { id: 'ops-hook', name: 'ops', type: 'webhook', url: hook.url, secret: SECRET });
    expect(created.status).toBe(201);
    expect(created.body).toEqual(expect.objectContaining({ id: 'ops-hook', type: 'webhook', url: hook.url, hasSecret: true }));
    expect(JSON.stringify(created.body)).not.toContain(SECRET);
    expect(JSON.stringify((await p.api('GET', '/api/v1/channels/ops-hook')).body)).not.toContain(SECRET);
    await p.api('POST', '/api/v1/rules', ruleBody({ id: 'hooked', channels: ['ops-hook'] }));
    await breach(p, 'hook-dev-01');
    const got = await waitFor(() => hook.received[0], { description: 'the webhook call' });
    expect(validSignature(got)).toBe(true);
    const event = JSON.parse(got.body) as AlertEvent;
    expect(event).toMatchObject({ v: 1, ruleId: 'hooked', deviceId: 'hook-dev-01', state: 'firing', maintenance: false, late: false });
    expect(got.eventId).toBe(event.id);
    const log = await waitFor(async () => {
      const items = ((await p.api('GET', '/api/v1/channels/ops-hook/deliveries')).body as { items: Delivery[] }).items;
      return items[0]?.state === 'delivered' ? items : undefined;
    });
    expect(log).toEqual([expect.objectContaining({ eventId: event.id, state: 'delivered', attempts: 1, statusCode: 204 })]);
    expect(await p.metric('outpost_alert_notifications_total', { type: 'webhook', result: 'sent' })).toBe(1);
  });

  it('retries a failing receiver with backoff until it answers 2xx, and logs every attempt', async () => {
    const hook = await receiver([500, 503]);
    cleanups.push(hook.close);
    const p = await startAlertsPlatform({ alerts: { retryBaseMs: 50, retryMaxMs: 1_000 } });
    cleanups.push(() => p.close());
    await p.api('POST', '/api/v1/channels', { id: 'flaky', type: 'webhook', url: hook.url, secret: SECRET });
    await p.api('POST', '/api/v1/rules', ruleBody({ id: 'flaky-rule', channels: ['flaky'] }));
    await breach(p, 'hook-dev-02');
    await waitFor(() => hook.received.length >= 2 || undefined, { description: 'the failed attempts' });
    const failing = ((await p.api('GET', '/api/v1/channels/flaky/deliveries')).body as { items: Delivery[] }).items[0];
    expect(failing?.attempts).toBeGreaterThanOrEqual(1);
    await waitFor(() => hook.received[2], { description: 'the third attempt' });
    const done = await waitFor(async () => {
      const d = ((await p.api('GET', '/api/v1/channels/flaky/deliveries')).body as { items: Delivery[] }).items[0];
      return d?.state === 'delivered' ? d : undefined;
    });
    expect(done).toMatchObject({ state: 'delivered', attempts: 3, statusCode: 204 });
    expect(hook.received.map((r) => r.status)).toEqual([500, 503, 204]);
    // Every retry carries the same body, signature and event id.
    expect(new Set(hook.received.map((r) => r.body)).size).toBe(1);
    expect(hook.received.every(validSignature)).toBe(true);
    expect(await p.metric('outpost_alert_notifications_total', { type: 'webhook', result: 'failed' })).toBe(2);
  });

  it('gives up after maxAttempts with the last error logged', async () => {
    const hook = await receiver([500, 500, 500, 500]);
    cleanups.push(hook.close);
    const p = await startAlertsPlatform({ alerts: { retryBaseMs: 10, maxAttempts: 2 } });
    cleanups.push(() => p.close());
    await p.api('POST', '/api/v1/channels', { id: 'dead', type: 'webhook', url: hook.url, secret: SECRET });
    await p.api('POST', '/api/v1/rules', ruleBody({ id: 'dead-rule', channels: ['dead'] }));
    await breach(p, 'hook-dev-03');
    const failed = await waitFor(async () => {
      const d = ((await p.api('GET', '/api/v1/channels/dead/deliveries')).body as { items: Delivery[] }).items[0];
      return d?.state === 'failed' ? d : undefined;
    });
    expect(failed).toMatchObject({ attempts: 2, statusCode: 500, error: 'the receiver answered 500' });
    expect(failed.nextRetryAt).toBeUndefined();
  });

  it('keeps pending deliveries across a restart and delivers them when the receiver is back', async () => {
    const hook = await receiver();
    const url = hook.url;
    await hook.close();
    let p = await startAlertsPlatform({ alerts: { retryBaseMs: 100, retryMaxMs: 200 } });
    const dataDir = p.dataDir;
    await p.api('POST', '/api/v1/channels', { id: 'later', type: 'webhook', url, secret: SECRET });
    await p.api('POST', '/api/v1/rules', ruleBody({ id: 'later-rule', channels: ['later'] }));
    const client = await breach(p, 'hook-dev-04');
    const pending = await waitFor(async () => {
      const d = ((await p.api('GET', '/api/v1/channels/later/deliveries')).body as { items: Delivery[] }).items[0];
      return d !== undefined && d.attempts >= 1 ? d : undefined;
    });
    expect(pending).toMatchObject({ state: 'pending' });
    expect(pending.error).toMatch(/ECONNREFUSED|fetch failed/);
    expect(pending.nextRetryAt).toBeGreaterThan(0);
    await client.endAsync();
    await p.close({ keepData: true });

    // The receiver comes back on the same port; the platform restarts on the same data.
    const port = Number(new URL(url).port);
    const back = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['x-outpost-signature'] as string | undefined, eventId: undefined, status: 200 });
        res.end('ok');
      });
    });
    const received: Received[] = [];
    await new Promise<void>((resolve) => back.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => back.close(() => resolve())));
    p = await startAlertsPlatform({ dataDir, alerts: { retryBaseMs: 100, retryMaxMs: 200 } });
    const restarted = p;
    cleanups.push(async () => {
      await restarted.close();
      const { rm } = await import('node:fs/promises');
      await rm(dataDir, { recursive: true, force: true });
    });
    const got = await waitFor(() => received[0], { description: 'the delivery after the restart' });
    expect(validSignature(got)).toBe(true);
    expect(JSON.parse(got.body)).toMatchObject({ ruleId: 'later-rule', deviceId: 'hook-dev-04' });
    const done = await waitFor(async () => {
      const d = ((await restarted.api('GET', '/api/v1/channels/later/deliveries')).body as { items: Delivery[] }).items[0];
      return d?.state === 'delivered' ? d : undefined;
    });
    expect(done.attempts).toBeGreaterThanOrEqual(2);
  });

  it('refuses a webhook without a secret, an mqtt channel with a url, and deleting a channel a rule uses', async () => {
    const p = await startAlertsPlatform();
    cleanups.push(() => p.close());
    const noSecret = await p.api('POST', '/api/v1/channels', { type: 'webhook', url: 'http://127.0.0.1:1/x' });
    expect(noSecret.status).toBe(400);
    expect((noSecret.body as { details: unknown[] }).details).toContainEqual({ path: 'secret', message: 'required for a webhook: the HMAC-SHA256 key of X-Outpost-Signature' });
    const badUrl = await p.api('POST', '/api/v1/channels', { type: 'webhook', url: 'ftp://x', secret: SECRET });
    expect(badUrl.status).toBe(400);
    const mqttUrl = await p.api('POST', '/api/v1/channels', { type: 'mqtt', url: 'http://x' });
    expect(mqttUrl.status).toBe(400);
    await p.api('POST', '/api/v1/channels', { id: 'used', type: 'mqtt' });
    await p.api('POST', '/api/v1/rules', ruleBody({ id: 'user', channels: ['used'] }));
    const del = await p.api('DELETE', '/api/v1/channels/used');
    expect(del.status).toBe(409);
    expect((del.body as { message: string }).message).toContain('user');
    // A PUT without the secret keeps it; the type can change.
    await p.api('POST', '/api/v1/channels', { id: 'keeps', type: 'webhook', url: 'http://127.0.0.1:9/a', secret: SECRET });
    const put = await p.api('PUT', '/api/v1/channels/keeps', { type: 'webhook', url: 'http://127.0.0.1:9/b', minSeverity: 'critical' });
    expect(put.body).toMatchObject({ url: 'http://127.0.0.1:9/b', hasSecret: true, minSeverity: 'critical' });
  });
});
