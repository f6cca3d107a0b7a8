/**
 * Issue 11, D8 (webhook URLs to loopback/link-local/unspecified addresses are refused unless
 * the admin allows them; names are checked again at delivery against DNS rebinding) and D7
 * (webhook HMAC secrets are sealed at rest; plaintext rows of older versions are sealed on
 * start). Real platform, real HTTP receivers on 127.0.0.1, the real state.db file.
 */
import { createHmac } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { topics } from '@outpost/protocol';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebhookLookup } from '../src/adapters/webhook-target.js';
import { ruleBody, startAlertsPlatform, type AlertsPlatform } from './helpers/alerts-platform.js';
import { connectDevice, waitFor } from '@outpost/e2e';

const SECRET = 'sealed-webhook-secret-7f3a9c01d2';

interface Received {
  readonly body: string;
  readonly signature: string | undefined;
}

async function receiver(): Promise<{ port: number; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['x-outpost-signature'] as string | undefined });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { port, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const signedWith = (secret: string, r: Received): boolean => r.signature === `sha256=${createHmac('sha256', secret).update(r.body).digest('hex')}`;

/** A resolver for names under `.test`: what each name answers can change between calls. */
function fakeDns(answers: Map<string, string>): WebhookLookup {
  return async (hostname) => {
    const address = answers.get(hostname.toLowerCase());
    if (address === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return [{ address, family: address.includes(':') ? 6 : 4 }];
  };
}

/** Every byte of the state database and its WAL, as latin1 text (to search for a secret). */
async function stateDbBytes(dataDir: string): Promise<string> {
  const dir = join(dataDir, 'data');
  const files = (await readdir(dir)).filter((f) => f.startsWith('state.db'));
  expect(files).toContain('state.db');
  return (await Promise.all(files.map((f) => readFile(join(dir, f))))).map((b) => b.toString('latin1')).join('');
}

describe('webhook targets and secrets at rest', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  async function breach(p: AlertsPlatform, deviceId: string): Promise<void> {
    const device = await p.enroll(deviceId);
    const client = await connectDevice(p.mqttUrl, device);
    cleanups.push(() => client.endAsync());
    await client.publishAsync(topics.telemetry(deviceId), JSON.stringify({ v: 1, seq: 1, samples: [{ ts: Date.now(), metrics: { temperature: -2 } }] }), { qos: 1 });
  }

  it('refuses webhook URLs to loopback, link-local and unspecified addresses with a 400 that says why and how to allow them', async () => {
    const dns = new Map([
      ['localhost', '127.0.0.1'],
      ['metadata.test', '169.254.169.254'],
      ['public.test', '203.0.113.10'],
    ]);
    const p = await startAlertsPlatform({ alerts: { webhookAllowPrivate: false, webhookLookup: fakeDns(dns) } });
    cleanups.push(() => p.close());
    const cases: [string, string][] = [
      ['http://127.0.0.1:9/x', '127.0.0.1 is a loopback address'],
      ['http://127.201.3.4/x', '127.201.3.4 is a loopback address'],
      ['http://[::1]:8080/x', '::1 is a loopback address'],
      ['http://[::ffff:127.0.0.1]/x', 'is a loopback address'],
      ['http://169.254.169.254/latest/meta-data', '169.254.169.254 is a link-local address'],
      ['http://[fe80::1]/x', 'fe80::1 is a link-local address'],
      ['http://0.0.0.0:80/x', '0.0.0.0 is a unspecified address'],
      ['http://localhost:1/x', 'localhost resolves to 127.0.0.1, which is a loopback address'],
      ['https://metadata.test/x', 'metadata.test resolves to 169.254.169.254, which is a link-local address'],
    ];
    for (const [url, why] of cases) {
      const res = await p.api('POST', '/api/v1/channels', { type: 'webhook', url, secret: SECRET });
      expect(res.status, url).toBe(400);
      expect(res.body, url).toMatchObject({ code: 'CHANNEL_INVALID' });
      const message = (res.body as { message: string }).message;
      expect(message, url).toContain(why);
      expect(message, url).toContain('OUTPOST_WEBHOOK_ALLOW_PRIVATE=true');
    }
    const ok = await p.api('POST', '/api/v1/channels', { id: 'public', type: 'webhook', url: 'https://public.test/hook', secret: SECRET });
    expect(ok.status).toBe(201);
    const moved = await p.api('PUT', '/api/v1/channels/public', { type: 'webhook', url: 'http://169.254.169.254/' });
    expect(moved.status).toBe(400);
    expect((moved.body as { message: string }).message).toContain('link-local');
    expect((await p.api('GET', '/api/v1/channels/public')).body).toMatchObject({ url: 'https://public.test/hook' });
  });

  it('allows loopback targets the admin listed (a CIDR, a host name) and delivers to them', async () => {
    const hook = await receiver();
    cleanups.push(hook.close);
    const dns = new Map([['hooks.test', '127.0.0.1']]);
    const p = await startAlertsPlatform({ alerts: { webhookAllowPrivate: false, webhookAllowHosts: ['127.0.0.0/30', 'hooks.test'], webhookLookup: fakeDns(dns) } });
    cleanups.push(() => p.close());
    expect((await p.api('POST', '/api/v1/channels', { id: 'by-cidr', type: 'webhook', url: `http://127.0.0.1:${hook.port}/a`, secret: SECRET })).status).toBe(201);
    expect((await p.api('POST', '/api/v1/channels', { id: 'by-name', type: 'webhook', url: `http://hooks.test:${hook.port}/b`, secret: SECRET })).status).toBe(201);
    expect((await p.api('POST', '/api/v1/channels', { type: 'webhook', url: `http://127.0.0.9:${hook.port}/c`, secret: SECRET })).status).toBe(400);
    await p.api('POST', '/api/v1/rules', ruleBody({ id: 'allowed', channels: ['by-cidr', 'by-name'] }));
    await breach(p, 'target-dev-01');
    await waitFor(() => (hook.received.length >= 2 ? true : undefined), { description: 'both webhook calls' });
    expect(hook.received.every((r) => signedWith(SECRET, r))).toBe(true);
  });

  it('checks the address again at delivery: a name that now resolves to loopback is not called (DNS rebinding)', async () => {
    const hook = await receiver();
    cleanups.push(hook.close);
    const dns = new Map([['rebind.test', '203.0.113.20']]);
    const p = await startAlertsPlatform({ alerts: { webhookAllowPrivate: false, webhookLookup: fakeDns(dns), retryBaseMs: 50, maxAttempts: 2 } });
    cleanups.push(() => p.close());
    expect((await p.api('POST', '/api/v1/channels', { id: 'rebind', type: 'webhook', url: `http://rebind.test:${hook.port}/hook`, secret: SECRET })).status).toBe(201);
    dns.set('rebind.test', '127.0.0.1');
    await p.api('POST', '/api/v1/rules', ruleBody({ id: 'rebound', channels: ['rebind'] }));
    await breach(p, 'target-dev-02');
    const failed = await waitFor(async () => {
      const items = ((await p.api('GET', '/api/v1/channels/rebind/deliveries')).body as { items: { state: string; error?: string }[] }).items;
      return items[0]?.state === 'failed' ? items[0] : undefined;
    }, { description: 'the refused delivery' });
    expect(failed.error).toContain('refused: rebind.test resolves to 127.0.0.1, which is a loopback address');
    expect(hook.received).toEqual([]);
  });

  it('keeps webhook secrets sealed in state.db, seals plaintext rows of older versions on start, and still signs with them', async () => {
    const hook = await receiver();
    cleanups.push(hook.close);
    let p = await startAlertsPlatform();
    const dataDir = p.dataDir;
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    expect((await p.api('POST', '/api/v1/channels', { id: 'sealed', type: 'webhook', url: `http://127.0.0.1:${hook.port}/s`, secret: SECRET })).status).toBe(201);
    await p.close({ keepData: true });
    expect(await stateDbBytes(dataDir)).not.toContain(SECRET);

    // What an older version left: a second channel whose secret is stored as given.
    const legacySecret = 'legacy-plaintext-secret-55e1b0';
    const db = new Database(join(dataDir, 'data', 'state.db'));
    const stored = db.prepare('SELECT secret FROM alerts_channels WHERE id = ?').get('sealed') as { secret: string };
    expect(stored.secret).toMatch(/^sealed:v1\./);
    db.prepare('INSERT INTO alerts_channels (id, name, type, url, secret, min_severity, created_at, updated_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)').run(
      'legacy', 'legacy', 'webhook', `http://127.0.0.1:${hook.port}/l`, legacySecret, Date.now(), Date.now(),
    );
    db.close();
    expect(await stateDbBytes(dataDir)).toContain(legacySecret);

    p = await startAlertsPlatform({ dataDir });
    cleanups.push(() => p.close());
    expect(await stateDbBytes(dataDir)).not.toContain(legacySecret);
    await p.api('POST', '/api/v1/rules', ruleBody({ id: 'both', channels: ['sealed', 'legacy'] }));
    await breach(p, 'target-dev-03');
    await waitFor(() => (hook.received.length >= 2 ? true : undefined), { description: 'both webhook calls' });
    expect(hook.received.filter((r) => signedWith(SECRET, r))).toHaveLength(1);
    expect(hook.received.filter((r) => signedWith(legacySecret, r))).toHaveLength(1);
  });
});
