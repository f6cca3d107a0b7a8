/**
 * The alerts module's repositories on both state engines (issue 15): rules (optimistic
 * versions), alerts and their events (one transaction each), channels with sealed secrets,
 * the webhook delivery log (ids from RETURNING), known devices.
 */
import { randomBytes } from 'node:crypto';
import type { AlertEvent, Rule } from '@outpost/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations, startStateEngine, STATE_ENGINES, type StateEngine, type TestStateDatabase } from '@outpost/e2e';
import { alertsMigrations, type AlertsTables } from '../src/adapters/alerts-tables.js';
import { AlertStore, type AlertRecord } from '../src/adapters/alert-store.js';
import { ChannelStore } from '../src/adapters/channel-store.js';
import { KnownDeviceStore } from '../src/adapters/known-device-store.js';
import { RuleStore } from '../src/adapters/rule-store.js';
import { createSecretSealer } from '../src/adapters/secret-sealer.js';

const T = 1_765_000_000_000;

function event(id: string, alertId: string, state: 'firing' | 'resolved', ts: number): AlertEvent {
  return { v: 1, id, alertId, ruleId: 'warm', deviceId: 'd1', state, severity: 'critical', value: -17.3, ts, at: ts + 1, maintenance: false, late: state === 'resolved' };
}

describe.each(STATE_ENGINES)('alerts state on %s', (name) => {
  let engine: StateEngine;
  let state: TestStateDatabase;
  beforeAll(async () => {
    engine = await startStateEngine(name);
    state = await engine.open();
    expect(await runMigrations(state.db, 'alerts', alertsMigrations)).toEqual(['0001-alerts']);
  });
  afterAll(async () => {
    await state?.close();
    await engine?.stop();
  });
  const db = () => state.db.withTables<AlertsTables>();

  it('applies migrations once', async () => {
    expect(await runMigrations(state.db, 'alerts', alertsMigrations)).toEqual([]);
  });

  it('inserts a rule once and replaces it only at the expected version', async () => {
    const rules = new RuleStore(db());
    const rule = { id: 'warm', name: 'Warm freezer' } as unknown as Rule;
    expect(await rules.insert(rule, T)).toEqual({ rule, version: 1, createdAt: T, updatedAt: T });
    expect(await rules.insert(rule, T)).toBeUndefined();
    expect((await rules.replace({ ...rule, name: 'v2' } as Rule, 1, T + 1))?.version).toBe(2);
    expect(await rules.replace(rule, 1, T + 2)).toBeUndefined();
    expect((await rules.list({ limit: 10 })).map((r) => r.version)).toEqual([2]);
    expect(await rules.delete('warm')).toBe(true);
    expect(await rules.delete('warm')).toBe(false);
  });

  it('opens, acknowledges and resolves alerts with their events, keeping fractional values at double precision', async () => {
    const alerts = new AlertStore(db());
    const alert: AlertRecord = { id: 'a1', ruleId: 'warm', deviceId: 'd1', source: 'platform', severity: 'critical', state: 'firing', value: -17.3, firedAt: T, maintenance: false, late: false };
    await alerts.open(alert, event('e1', 'a1', 'firing', T), T);
    expect(await alerts.findOpen('warm', 'd1', 'platform')).toMatchObject({ id: 'a1', value: -17.3, maintenance: false });
    expect(await alerts.acknowledge('a1', { by: 'ann', at: T + 1, comment: 'on it' })).toMatchObject({ changed: true, alert: { state: 'acknowledged', ack: { by: 'ann', at: T + 1, comment: 'on it' } } });
    expect((await alerts.acknowledge('a1', { by: 'bob', at: T + 2, comment: '' }))?.changed).toBe(false);
    await alerts.applyAll([
      { kind: 'resolve', alertId: 'a1', event: event('e2', 'a1', 'resolved', T + 5) },
      { kind: 'open', alert: { ...alert, id: 'a2', deviceId: 'd2' }, event: { ...event('e3', 'a2', 'firing', T + 6), deviceId: 'd2' }, createdAt: T + 6 },
    ]);
    expect(await alerts.findOpen('warm', 'd1', 'platform')).toBeUndefined();
    expect((await alerts.openAlerts()).map((a) => a.id)).toEqual(['a2']);
    expect((await alerts.events('a1')).map((e) => [e.id, e.state, e.value, e.late])).toEqual([['e1', 'firing', -17.3, false], ['e2', 'resolved', -17.3, true]]);
    expect((await alerts.list({ limit: 10 })).map((a) => a.id)).toEqual(['a2', 'a1']);
    expect((await alerts.list({ limit: 10, after: { createdAt: T + 6, id: 'a2' } })).map((a) => a.id)).toEqual(['a1']);
  });

  it('refuses a second open alert for the same event id in one transaction (nothing half-written)', async () => {
    const alerts = new AlertStore(db());
    const alert: AlertRecord = { id: 'a9', ruleId: 'warm', deviceId: 'd9', source: 'platform', severity: 'critical', state: 'firing', value: null, firedAt: T, maintenance: true, late: false };
    await expect(alerts.open(alert, event('e1', 'a9', 'firing', T), T)).rejects.toThrow();
    expect(await alerts.get('a9')).toBeUndefined();
  });

  it('seals channel secrets and numbers deliveries from RETURNING', async () => {
    const sealer = createSecretSealer(randomBytes(32));
    const channels = new ChannelStore(db(), sealer);
    const channel = { id: 'ops', name: 'Ops', type: 'webhook' as const, url: 'https://example.test/hook', secret: 's3cret', minSeverity: 'warning' as const, createdAt: T, updatedAt: T };
    expect(await channels.insert(channel)).toBe(true);
    expect(await channels.insert(channel)).toBe(false);
    expect(await channels.get('ops')).toEqual(channel);
    const stored = await db().selectFrom('alerts_channels').select('secret').where('id', '=', 'ops').executeTakeFirstOrThrow();
    expect(stored.secret).not.toContain('s3cret');
    // A row written before sealing existed is sealed in place.
    await db().updateTable('alerts_channels').set({ secret: 'plain' }).where('id', '=', 'ops').execute();
    expect(await channels.sealPlaintextSecrets()).toBe(1);
    expect((await channels.get('ops'))?.secret).toBe('plain');

    const first = await channels.enqueue({ channelId: 'ops', eventId: 'e1', body: '{}', at: T });
    const second = await channels.enqueue({ channelId: 'ops', eventId: 'e2', body: '{}', at: T + 10 });
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(first);
    expect(await channels.nextDue()).toBe(T);
    expect((await channels.due(T + 5, 10)).map((d) => d.id)).toEqual([first]);
    await channels.recordAttempt(first, { state: 'delivered', attempts: 1, status: 204, latencyMs: 12.3, at: T + 1 });
    expect((await channels.deliveries('ops', { limit: 10 })).map((d) => [d.id, d.state, d.lastLatencyMs ?? null])).toEqual([[second, 'pending', null], [first, 'delivered', 12.3]]);
  });

  it('remembers known devices, last seen upserted', async () => {
    const known = new KnownDeviceStore(db());
    await known.seen([['d2', T], ['d1', T]]);
    await known.seen([['d1', T + 9]]);
    expect(await known.all()).toEqual(['d1', 'd2']);
    const row = await db().selectFrom('alerts_known_devices').selectAll().where('device_id', '=', 'd1').executeTakeFirstOrThrow();
    expect(row).toEqual({ device_id: 'd1', first_seen: T, last_seen: T + 9 });
  });
});
