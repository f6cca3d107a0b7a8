import { request as httpRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { coalesce } from '../../src/live/live-route.js';
import { ADMIN_PASSWORD, startTestPlatform, type TestPlatform } from '../helpers/test-platform.js';

interface SseEvent {
  event: string;
  data: unknown;
}

/** Opens the SSE stream and collects parsed events until `until` says enough or the deadline passes. */
function openStream(url: string, headers: Record<string, string> = {}): Promise<{ res: IncomingMessage; events: SseEvent[]; waitFor(n: number, ms?: number): Promise<SseEvent[]>; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers }, (res) => {
      const events: SseEvent[] = [];
      let buffer = '';
      const waiters: (() => void)[] = [];
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let idx;
        while ((idx = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, idx);
          buffer = buffer.slice(idx + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event !== undefined && data !== undefined) events.push({ event, data: JSON.parse(data) });
        }
        for (const w of waiters.splice(0)) w();
      });
      resolve({
        res,
        events,
        close: () => req.destroy(),
        async waitFor(n, ms = 5_000) {
          const deadline = Date.now() + ms;
          while (events.length < n) {
            if (Date.now() > deadline) throw new Error(`got ${events.length} events, wanted ${n}`);
            await new Promise<void>((r) => {
              waiters.push(r);
              setTimeout(r, 100);
            });
          }
          return events;
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('GET /api/v1/live (Server-Sent Events)', () => {
  let t: TestPlatform;
  let admin: string;
  beforeAll(async () => {
    t = await startTestPlatform({ live: { coalesceMs: 50, heartbeatMs: 60_000 } });
    admin = await t.login('admin', ADMIN_PASSWORD);
  });
  afterAll(async () => t.close());

  it('refuses a client without a token (401) and an unknown topic (400)', async () => {
    expect((await t.request('GET', '/api/v1/live')).status).toBe(401);
    const bad = await t.request('GET', '/api/v1/live?topics=telemetry,gossip', { token: admin });
    expect(bad.status).toBe(400);
    expect((bad.body as { message: string }).message).toContain('gossip');
    const badDevice = await t.request('GET', '/api/v1/live?devices=UPPER', { token: admin });
    expect(badDevice.status).toBe(400);
  });

  it('streams only the devices and topics asked for', async () => {
    const stream = await openStream(`${t.url}/api/v1/live?devices=pi-001&topics=telemetry,alerts`, { authorization: `Bearer ${admin}` });
    expect(stream.res.headers['content-type']).toContain('text/event-stream');
    const live = t.platform.live;
    live.publish({ topic: 'telemetry', deviceId: 'pi-002', payload: { seq: 1 } });
    live.publish({ topic: 'status', deviceId: 'pi-001', payload: { state: 'online' } });
    live.publish({ topic: 'telemetry', deviceId: 'pi-001', payload: { seq: 2 } });
    live.publish({ topic: 'alerts', deviceId: 'pi-001', payload: { ruleId: 'r1' } });
    const events = await stream.waitFor(2);
    stream.close();
    expect(events).toEqual([
      { event: 'telemetry', data: { deviceId: 'pi-001', payload: { seq: 2 } } },
      { event: 'alerts', data: { deviceId: 'pi-001', payload: { ruleId: 'r1' } } },
    ]);
  });

  it('coalesces a burst of status updates to the newest per device', async () => {
    const stream = await openStream(`${t.url}/api/v1/live?topics=status`, { authorization: `Bearer ${admin}` });
    for (let i = 0; i < 50; i++) t.platform.live.publish({ topic: 'status', deviceId: 'pi-009', payload: { n: i } });
    t.platform.live.publish({ topic: 'status', deviceId: 'pi-010', payload: { n: 'x' } });
    await stream.waitFor(2);
    // No fixed wait for stragglers: a last update, published after the burst, arrives after
    // anything the burst still had in flight, so once it is here every straggler would be too.
    t.platform.live.publish({ topic: 'status', deviceId: 'pi-011', payload: { n: 'last' } });
    const events = await stream.waitFor(3);
    stream.close();
    expect(events).toEqual([
      { event: 'status', data: { deviceId: 'pi-009', payload: { n: 49 } } },
      { event: 'status', data: { deviceId: 'pi-010', payload: { n: 'x' } } },
      { event: 'status', data: { deviceId: 'pi-011', payload: { n: 'last' } } },
    ]);
  });

  it('accepts a short-lived stream token in ?access_token= (for EventSource) but nowhere else', async () => {
    const res = await t.request('POST', '/api/v1/auth/stream-token', { token: admin });
    const { token } = res.body as { token: string };
    const stream = await openStream(`${t.url}/api/v1/live?topics=rollouts&access_token=${token}`);
    expect(stream.res.statusCode).toBe(200);
    t.platform.live.publish({ topic: 'rollouts', payload: { rolloutId: 'r-1', wave: 1 } });
    const events = await stream.waitFor(1);
    stream.close();
    expect(events[0]).toEqual({ event: 'rollouts', data: { payload: { rolloutId: 'r-1', wave: 1 } } });
    expect((await t.request('GET', '/api/v1/auth/me', { token })).status).toBe(401);
    expect((await t.request('GET', `/api/v1/users?access_token=${token}`)).status).toBe(401);
  });
});

describe('coalesce', () => {
  it('keeps telemetry and alerts in order and collapses status per device', () => {
    const out = coalesce([
      { topic: 'status', deviceId: 'a', payload: 1 },
      { topic: 'telemetry', deviceId: 'a', payload: 't1' },
      { topic: 'status', deviceId: 'b', payload: 2 },
      { topic: 'status', deviceId: 'a', payload: 3 },
      { topic: 'telemetry', deviceId: 'a', payload: 't2' },
    ]);
    expect(out.map((e) => e.payload)).toEqual(['t1', 2, 3, 't2']);
  });
});
