import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@outpost/e2e';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStateDatabase, type OpenedDatabase } from '../../src/db/database.js';
import { runMigrations } from '../../src/db/migrate.js';
import { HeldLeases } from '../../src/leases/held-leases.js';
import { leaseMigrations } from '../../src/leases/lease-migrations.js';
import { SqlLeases } from '../../src/leases/sql-leases.js';

const TTL_MS = 600;
const clock = { now: () => Date.now() };
const log = pino({ level: 'silent' });

/** Two nodes on one state database (two connections to one SQLite file, as two processes would have). */
describe('leases in the state database (ADR 0011)', () => {
  let dir: string;
  const opened: OpenedDatabase[] = [];
  const managers: SqlLeases[] = [];

  const node = async (holder: string): Promise<{ leases: SqlLeases; database: OpenedDatabase }> => {
    const database = openStateDatabase(dir);
    opened.push(database);
    await runMigrations(database.db, 'leases', leaseMigrations);
    const leases = new SqlLeases({ db: database.db, holder, ttlMs: TTL_MS, clock, log });
    managers.push(leases);
    return { leases, database };
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-leases-'));
  });

  afterEach(async () => {
    for (const m of managers.splice(0)) await m.close();
    for (const d of opened.splice(0)) await d.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('gives a lease to exactly one node, with fencing token 1, and each name its own holder', async () => {
    const a = await node('a');
    const b = await node('b');
    const ticksA = a.leases.lease('ota-rollouts');
    const ticksB = b.leases.lease('ota-rollouts');
    await a.leases.start();
    await b.leases.start();
    expect(ticksA.held()).toBe(true);
    expect(ticksA.token()).toBe(1);
    expect(ticksB.held()).toBe(false);
    expect(ticksB.token()).toBeUndefined();
    // Renewals keep it where it is for several ttls.
    const until = Date.now() + 3 * TTL_MS;
    while (Date.now() < until) {
      expect([ticksA.held(), ticksB.held()]).toEqual([true, false]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(a.leases.lease('ota-rollouts')).toBe(ticksA);
    // A name asked for later is taken by whoever asks first.
    const deliveriesB = b.leases.lease('webhook-deliveries');
    const deliveriesA = a.leases.lease('webhook-deliveries');
    await waitFor(() => deliveriesA.held() || deliveriesB.held(), { timeoutMs: 5_000, description: 'webhook-deliveries taken' });
    expect(deliveriesA.held() && deliveriesB.held()).toBe(false);
  });

  it('hands the lease over at once when its holder closes, with a higher token', async () => {
    const a = await node('a');
    const b = await node('b');
    const leaseA = a.leases.lease('retention');
    const leaseB = b.leases.lease('retention');
    await a.leases.start();
    await b.leases.start();
    expect(leaseA.token()).toBe(1);
    await a.leases.close();
    expect(leaseA.held()).toBe(false);
    const started = Date.now();
    await waitFor(() => leaseB.held(), { timeoutMs: 5_000, description: 'b takes the lease over' });
    // Released, not expired: taken at b's next try (every ttl/3), well before a ttl.
    expect(Date.now() - started).toBeLessThan(TTL_MS);
    expect(leaseB.token()).toBe(2);
  });

  it('lets another node take over only after a dead holder stops acting, never both at once', async () => {
    const a = await node('a');
    const b = await node('b');
    const leaseA = a.leases.lease('ota-rollouts');
    const leaseB = b.leases.lease('ota-rollouts');
    await a.leases.start();
    await b.leases.start();
    expect(leaseA.held()).toBe(true);
    // a loses its database (a crashed process, a partition): its renewals fail from now on.
    await a.database.close();
    let both = 0;
    let lostAt: number | undefined;
    const deadline = Date.now() + 5_000;
    while (!leaseB.held() && Date.now() < deadline) {
      if (leaseA.held() && leaseB.held()) both += 1;
      if (!leaseA.held() && lostAt === undefined) lostAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(leaseB.held()).toBe(true);
    expect(leaseB.token()).toBe(2);
    expect(both).toBe(0);
    expect(lostAt).toBeDefined();
    expect(leaseA.held()).toBe(false);
  });

  it('in one process (--role all) every lease is always held', async () => {
    const leases = new HeldLeases();
    await leases.start();
    expect(leases.lease('ota-rollouts').held()).toBe(true);
    expect(leases.lease('ota-rollouts').token()).toBe(1);
    await leases.close();
  });
});
