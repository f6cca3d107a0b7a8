/**
 * The platform's own state on both engines (issue 15): operators (users, sessions, stream and
 * API tokens), the audit log, and the migration runner — including several nodes migrating
 * one fresh PostgreSQL database at the same moment.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kysely } from 'kysely';
import { startStateEngine, STATE_ENGINES, type StateEngine, type TestStateDatabase } from '@outpost/e2e';
import { AuditLog, auditMigrations } from '../../src/audit/audit-log.js';
import { runMigrations } from '../../src/db/migrate.js';
import { openPostgresStateDatabase } from '../../src/db/postgres.js';
import { operatorMigrations } from '../../src/operators/migrations.js';
import { OperatorService } from '../../src/operators/operator-service.js';
import { createLogger } from '../../src/server/logger.js';

const T = 1_765_000_000_000;

describe.each(STATE_ENGINES)('platform state on %s', (name) => {
  let engine: StateEngine;
  let state: TestStateDatabase;
  let now = T;
  beforeAll(async () => {
    engine = await startStateEngine(name);
    state = await engine.open();
    expect(await runMigrations(state.db, 'platform', operatorMigrations)).toEqual(['0001-operators', '0002-session-parent']);
    expect(await runMigrations(state.db, 'audit', auditMigrations)).toEqual(['0001-audit-log']);
  });
  afterAll(async () => {
    await state?.close();
    await engine?.stop();
  });

  it('applies each migration once', async () => {
    expect(await runMigrations(state.db, 'platform', operatorMigrations)).toEqual([]);
    expect(await runMigrations(state.db, 'audit', auditMigrations)).toEqual([]);
  });

  it('keeps users, sessions, one-use stream tokens and API tokens; deleting a user ends its sessions', async () => {
    const operators = new OperatorService(state.db, { now: () => now, sessionTtlMs: 60_000, streamTokenTtlMs: 10_000 });
    expect(await operators.ensureInitialAdmin('admin-password-1')).toEqual({ created: true });
    expect(await operators.countUsers()).toBe(1);
    await operators.createUser({ username: 'ann', password: 'ann-password-1', role: 'operator' });
    expect((await operators.listUsers({ limit: 10 })).map((u) => [u.username, u.role])).toEqual([['admin', 'admin'], ['ann', 'operator']]);
    expect(await operators.login('ann', 'wrong-password')).toBeUndefined();
    const session = await operators.login('ann', 'ann-password-1');
    expect(session?.expiresAt).toBe(T + 60_000);
    const principal = await operators.authenticate(session?.token ?? '');
    expect(principal).toMatchObject({ username: 'ann', role: 'operator', via: 'session' });
    if (principal === undefined) throw new Error('unreachable');

    const stream = await operators.issueStreamToken(principal);
    expect(await operators.authenticate(stream.token)).toMatchObject({ username: 'ann', via: 'stream' });
    expect(await operators.authenticate(stream.token)).toBeUndefined();

    const api = await operators.createApiToken(principal, { name: 'ci', ttlSeconds: 3_600 });
    expect(api.expiresAt).toBe(T + 3_600_000);
    now = T + 120_000;
    expect(await operators.authenticate(api.token)).toMatchObject({ username: 'ann', via: 'api-token', tokenId: api.id });
    expect((await operators.listApiTokens(principal, { limit: 10 }))[0]).toMatchObject({ id: api.id, lastUsedAt: T + 120_000 });
    // The session expired meanwhile (60 s).
    expect(await operators.authenticate(session?.token ?? '')).toBeUndefined();

    await operators.deleteUser('ann');
    expect(await operators.authenticate(api.token)).toBeUndefined();
    const left = await (state.db as Kysely<{ api_tokens: { id: string } }>).selectFrom('api_tokens').select('id').execute();
    expect(left).toEqual([]);
    operators.close();
  });

  it('appends audit entries with increasing ids and filters them by actor, action prefix and time', async () => {
    const audit = new AuditLog(state.db, () => T);
    await audit.record({ actor: 'admin', action: 'users.create', target: 'ann', outcome: 'success', at: T + 1 });
    await audit.record({ actor: 'admin', action: 'users', target: null, outcome: 'success', at: T + 2 });
    await audit.record({ actor: 'ann', action: 'devices.delete', target: 'd1', outcome: 'failure', status: 404, errorCode: 'DEVICE_NOT_FOUND', at: T + 3 });
    await audit.record({ actor: 'admin', action: 'usersx.create', target: null, outcome: 'success', at: T + 4 });
    const all = await audit.list({ limit: 10 });
    expect(all.map((e) => e.action)).toEqual(['usersx.create', 'devices.delete', 'users', 'users.create']);
    expect(all.every((e) => typeof e.id === 'number' && typeof e.at === 'number')).toBe(true);
    expect(all[1]).toMatchObject({ actor: 'ann', status: 404, errorCode: 'DEVICE_NOT_FOUND', at: T + 3 });
    expect((await audit.list({ limit: 10, action: 'users' })).map((e) => e.action)).toEqual(['users', 'users.create']);
    expect((await audit.list({ limit: 10, actor: 'ann' })).length).toBe(1);
    expect((await audit.list({ limit: 10, from: T + 2, to: T + 3 })).map((e) => e.at)).toEqual([T + 3, T + 2]);
    const firstId = all[3]?.id ?? 0;
    expect((await audit.list({ limit: 10, before: firstId + 1 })).map((e) => e.id)).toEqual([firstId]);
  });

  // PostgreSQL only: several nodes start at once (an embedded SQLite file belongs to one process).
  it.runIf(name === 'postgres')('applies every migration exactly once when four nodes start together on a fresh database', async () => {
    const url = await engine.createDatabase();
    const log = createLogger({ level: 'silent' });
    const nodes = Array.from({ length: 4 }, () => openPostgresStateDatabase({ url, poolMax: 2, statementTimeoutMs: 30_000, connectTimeoutMs: 5_000, probeIntervalMs: 1_000, log }));
    try {
      const applied = await Promise.all(
        nodes.map(async (node) => [...(await runMigrations(node.db, 'platform', operatorMigrations)), ...(await runMigrations(node.db, 'audit', auditMigrations))]),
      );
      // Each migration ran on exactly one node; the others found it applied.
      expect(applied.flat().sort()).toEqual(['0001-audit-log', '0001-operators', '0002-session-parent']);
      const rows = await (nodes[0]?.db as Kysely<{ platform_migrations: { name: string } }>).selectFrom('platform_migrations').select('name').orderBy('name').execute();
      expect(rows.map((r) => r.name)).toEqual(['0001-operators', '0002-session-parent']);
    } finally {
      await Promise.all(nodes.map((node) => node.close()));
    }
  });
});
