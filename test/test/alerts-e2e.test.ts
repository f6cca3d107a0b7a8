/**
 * Issue 6 end to end on real processes: `outpost server` (registry, broker with the alert engine,
 * embedded telemetry store), a device publishing over mTLS, a webhook receiver on 127.0.0.1, the
 * live SSE stream. A device above the threshold for longer than `forMs` → exactly one firing
 * event on the live stream and one signed webhook; back below the clear threshold → resolved;
 * the backtest of the same stored data answers the same transitions.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, enrollDevices, SERVER_ADMIN_PASSWORD, startServerProcess, waitFor, type ServerProcess } from '../src/index.js';

const SECRET = 'e2e-webhook-secret-0123456789';

interface Hook {
  readonly body: string;
  readonly signature: string | undefined;
}

interface LiveAlert {
  readonly deviceId?: string;
  readonly payload: { ruleId: string; state: string; value: number; ts: number; late: boolean; maintenance: boolean };
}

describe('alerts end to end: rule → live stream and signed webhook → backtest', () => {
  let dir: string;
  let server: ServerProcess;
  let hookServer: Server;
  const hooks: Hook[] = [];
  const live: LiveAlert[] = [];
  const liveAbort = new AbortController();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-alerts-e2e-'));
    hookServer = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        hooks.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['x-outpost-signature'] as string | undefined });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    // The receiver listens on 127.0.0.1: loopback webhooks must be allowed (issue 11, D8).
    server = await startServerProcess(dir, { OUTPOST_WEBHOOK_ALLOW_PRIVATE: 'true' });
  });
  afterAll(async () => {
    liveAbort.abort();
    await server?.stop();
    await new Promise((resolve) => hookServer?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('fires once, notifies with a valid signature, resolves, and the backtest agrees', async () => {
    const api = await adminApi(server.operatorUrl);
    const hookUrl = `http://127.0.0.1:${String((hookServer.address() as AddressInfo).port)}/hook`;
    await api('POST', '/api/v1/channels', { id: 'e2e-hook', name: 'ops', type: 'webhook', url: hookUrl, secret: SECRET });
    await api('POST', '/api/v1/rules', {
      id: 'freezer-warm',
      name: 'freezer too warm',
      kind: 'threshold',
      metric: 'temp_c',
      condition: '>',
      threshold: -15,
      clearThreshold: -17,
      forMs: 3_000,
      severity: 'critical',
      cooldownMs: 0,
      channels: ['e2e-hook'],
    });
    const [device] = await enrollDevices(server, ['freezer-01']);
    if (device === undefined) throw new Error('enrollment failed');

    // The live stream (bearer header; Node's fetch reads the SSE body as a stream).
    const { token } = (await (await fetch(`${server.operatorUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: SERVER_ADMIN_PASSWORD }) })).json()) as { token: string };
    const stream = await fetch(`${server.operatorUrl}/api/v1/live?topics=alerts`, { headers: { authorization: `Bearer ${token}` }, signal: liveAbort.signal });
    expect(stream.status).toBe(200);
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of stream.body as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!/^event: alerts$/m.test(frame)) continue;
          const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          const parsed = JSON.parse(data) as LiveAlert | LiveAlert[];
          for (const item of Array.isArray(parsed) ? parsed : [parsed]) live.push(item);
        }
      }
    })().catch(() => undefined);

    const client = await mqtt.connectAsync(server.mqttUrl, { clientId: device.deviceId, key: device.keyPem, cert: device.certPem, ca: device.caPem, clean: true, reconnectPeriod: 0, protocolVersion: 4 });
    const t0 = Date.now() - 60_000;
    // -20 (ok), then above -15 from +1 s: pending until +4 s (forMs 3 s) → one firing; a blip
    // into the band (-16) does not resolve; -18 at +9 s resolves.
    const values = [-20, -14, -13, -12, -11, -10, -16, -11, -14, -18, -19];
    for (const [i, value] of values.entries()) {
      await client.publishAsync(`devices/${device.deviceId}/telemetry`, JSON.stringify({ v: 1, seq: i + 1, samples: [{ ts: t0 + i * 1_000, metrics: { temp_c: value } }] }), { qos: 1 });
    }

    await waitFor(() => (live.filter((e) => e.payload.ruleId === 'freezer-warm').length >= 2 ? true : undefined), { description: 'firing and resolved on the live stream', timeoutMs: 20_000 });
    await waitFor(() => (hooks.length >= 2 ? true : undefined), { description: 'two webhooks', timeoutMs: 20_000 });
    const mine = live.filter((e) => e.payload.ruleId === 'freezer-warm');
    expect(mine.map((e) => e.payload.state)).toEqual(['firing', 'resolved']);
    expect(mine[0]?.payload).toEqual(expect.objectContaining({ value: -11, ts: t0 + 4_000, late: false, maintenance: false }));
    expect(mine[1]?.payload).toEqual(expect.objectContaining({ value: -18, ts: t0 + 9_000 }));
    expect(mine.every((e) => e.deviceId === device.deviceId)).toBe(true);

    for (const hook of hooks) expect(hook.signature).toBe(`sha256=${createHmac('sha256', SECRET).update(hook.body).digest('hex')}`);
    expect(hooks.map((h) => (JSON.parse(h.body) as { state: string }).state)).toEqual(['firing', 'resolved']);

    const alerts = (await api('GET', `/api/v1/alerts?device=${device.deviceId}`)) as { items: { state: string; ruleId: string }[] };
    expect(alerts.items.map((a) => [a.ruleId, a.state])).toEqual([['freezer-warm', 'resolved']]);

    // The same data, replayed from the telemetry store through the same operators.
    const backtest = await waitFor(
      async () => {
        const answer = (await api('POST', '/api/v1/rules/freezer-warm/test', { from: t0 - 1_000, to: t0 + 60_000 })) as { transitions: { state: string; ts: number; value: number | null }[] };
        return answer.transitions.length >= 2 ? answer : undefined;
      },
      { description: 'the backtest sees the stored samples', timeoutMs: 20_000 },
    );
    expect(backtest.transitions.map((t) => [t.state, t.ts, t.value])).toEqual(mine.map((e) => [e.payload.state, e.payload.ts, e.payload.value]));
    await client.endAsync();
  });
});
