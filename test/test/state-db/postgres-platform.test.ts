/**
 * The whole platform on PostgreSQL (issue 15): every part migrates and starts on a fresh
 * database, an operator logs in, creates an enrollment token, a device enrolls and is listed.
 * Then PostgreSQL dies: /readyz says state-db degraded and why, requests that need the database
 * answer a coded 503, nothing crashes; when PostgreSQL is back, the same platform answers again
 * without a restart.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort, platformClient, serverParts, startPlatform, startStateEngine, waitFor, type PlatformClient, type StateEngine, type TestPlatform } from '@outpost/e2e';

interface Ready {
  status: string;
  parts: Record<string, string>;
  reasons?: Record<string, string>;
}

describe('the platform on PostgreSQL', () => {
  let engine: StateEngine;
  let url: string;
  let t: TestPlatform;
  let client: PlatformClient;
  beforeAll(async () => {
    engine = await startStateEngine('postgres');
    url = await engine.createDatabase();
    t = await startPlatform({
      parts: serverParts(),
      env: { OUTPOST_DATABASE_URL: url, OUTPOST_DATABASE_PROBE_INTERVAL: '1s', OUTPOST_DATABASE_CONNECT_TIMEOUT: '1s', OUTPOST_OTA_TICK: '1s' },
      logLevel: 'info',
    });
    client = await platformClient(t.operatorUrl, () => t.deviceUrl());
  });
  afterAll(async () => {
    await t?.close();
    await engine?.stop();
  });

  const ready = async (): Promise<{ status: number; body: Ready }> => {
    const res = await fetch(`${t.operatorUrl}/readyz`);
    return { status: res.status, body: (await res.json()) as Ready };
  };

  it('runs the journey: login, enrollment token, a device enrolls and is listed — with no SQLite state file', async () => {
    const device = await client.enroll('pg-dev-1');
    expect(device.deviceId).toBe('pg-dev-1');
    const list = await client.api('GET', '/api/v1/devices');
    expect(list.status).toBe(200);
    expect((list.body as { items: { id: string; group: string }[] }).items.map((d) => [d.id, d.group])).toEqual([['pg-dev-1', 'test']]);
    expect(existsSync(join(t.dataDir, 'data', 'state.db'))).toBe(false);
    const r = await ready();
    expect(r.status).toBe(200);
    expect(r.body.parts['state-db']).toBe('ok');
    expect(r.body.reasons).toBeUndefined();
    // The password never reaches the log.
    const password = new URL(url).password;
    expect(JSON.stringify(t.logs)).not.toContain(password);
    expect(t.logs.some((l) => l.msg.includes('state database: PostgreSQL at postgres://outpost:***@127.0.0.1:'))).toBe(true);
  });

  it('turns state-db degraded while PostgreSQL is down (coded 503s, no crash) and ok again when it returns, without a restart', async () => {
    const postgres = engine.postgres;
    if (postgres === undefined) throw new Error('no PostgreSQL server');
    await postgres.kill();

    const down = await waitFor(
      async () => {
        const res = await client.api('GET', '/api/v1/devices');
        return res.status === 503 ? res : undefined;
      },
      { description: 'a coded 503 while PostgreSQL is down', timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(down.body).toMatchObject({ code: 'STATE_DB_UNAVAILABLE' });
    expect((down.body as { message: string }).message).toMatch(/state database \(PostgreSQL at postgres:\/\/outpost:\*\*\*@127\.0\.0\.1:\d+\/t\d+\) is unreachable/);
    expect((down.body as { message: string }).message).not.toContain(postgres.password);

    const degraded = await waitFor(
      async () => {
        const r = await ready();
        return r.body.parts['state-db'] === 'degraded' ? r : undefined;
      },
      { description: '/readyz state-db degraded', timeoutMs: 15_000, intervalMs: 100 },
    );
    // Degraded, not down: the load balancer keeps the node while the database is away.
    expect(degraded.status).toBe(200);
    expect(degraded.body.status).toBe('degraded');
    expect(degraded.body.reasons?.['state-db']).toMatch(/^PostgreSQL at postgres:\/\/outpost:\*\*\*@127\.0\.0\.1:\d+\/t\d+ is unreachable: /);

    // Background work meets the outage too (the rollout tick, every second here): it logs and retries, it does not crash.
    await waitFor(() => t.logs.some((l) => l.msg === 'rollouts: tick failed; the next tick retries'), { description: 'a rollout tick during the outage', timeoutMs: 15_000, intervalMs: 100 });
    await postgres.restart();
    const back = await waitFor(
      async () => {
        const r = await ready();
        return r.body.parts['state-db'] === 'ok' ? r : undefined;
      },
      { description: '/readyz state-db ok after PostgreSQL restarted', timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(back.status).toBe(200);
    expect(back.body.reasons).toBeUndefined();
    const list = await client.api('GET', '/api/v1/devices');
    expect(list.status).toBe(200);
    expect((list.body as { items: { id: string }[] }).items.map((d) => d.id)).toEqual(['pg-dev-1']);
    // Nothing acknowledged was lost: a second device enrolls and both are there.
    await client.enroll('pg-dev-2');
    const after = await client.api('GET', '/api/v1/devices');
    expect((after.body as { items: { id: string }[] }).items.map((d) => d.id)).toEqual(['pg-dev-1', 'pg-dev-2']);
    expect(t.logs.some((l) => l.msg === 'state database reachable again')).toBe(true);
    // The outage's warnings name the server with its password masked.
    expect(t.logs.some((l) => l.msg.startsWith('state database degraded: PostgreSQL at postgres://outpost:***@'))).toBe(true);
    expect(JSON.stringify(t.logs)).not.toContain(postgres.password);
    // Bounded by the waits above plus a PostgreSQL restart, on a loaded CI machine.
  }, 90_000);
});

describe('the platform pointed at a PostgreSQL that does not answer', () => {
  it('refuses to start with STATE_DB_UNAVAILABLE, naming the server without its password', async () => {
    const port = await findFreePort();
    const url = `postgres://outpost:hunter2-secret@127.0.0.1:${port}/outpost`;
    const started = startPlatform({ parts: serverParts(), env: { OUTPOST_DATABASE_URL: url, OUTPOST_DATABASE_CONNECT_TIMEOUT: '1s' } });
    await expect(started).rejects.toMatchObject({ code: 'STATE_DB_UNAVAILABLE' });
    const error = (await started.catch((err: unknown) => err)) as Error;
    expect(error.message).toContain(`PostgreSQL at postgres://outpost:***@127.0.0.1:${port}/outpost`);
    expect(error.message).not.toContain('hunter2');
  });
});
