/**
 * The registry's repositories on both state engines (issue 15): the same assertions against the
 * embedded SQLite file and a real PostgreSQL — devices and groups, certificates and their
 * lineage, enrollment tokens and attempts, CAs and the server certificate, configs, commands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMigrations, startStateEngine, STATE_ENGINES, type StateEngine, type TestStateDatabase } from '@outpost/e2e';
import { registryMigrations } from '../../src/adapters/migrations.js';
import type { RegistryTables } from '../../src/adapters/tables.js';
import { CaStore } from '../../src/adapters/ca-store.js';
import { CertificateStore } from '../../src/adapters/certificate-store.js';
import { CommandStore } from '../../src/adapters/command-store.js';
import { ConfigStore } from '../../src/adapters/config-store.js';
import { DeviceStore } from '../../src/adapters/device-store.js';
import { TokenStore } from '../../src/adapters/token-store.js';
import type { CertificateRecord, Device } from '../../src/domain/records.js';

/** Epoch ms past 2^31: a 4-byte integer column would overflow. */
const T = 1_765_000_000_000;

function device(id: string, patch: Partial<Device> = {}): Device {
  return {
    id, status: 'active', group: 'default', tags: {}, metadata: {}, hardware: null, agentVersion: null, firmware: null,
    online: false, lastSeen: null, enrolledWith: null, createdAt: T, updatedAt: T, ...patch,
  };
}

function cert(serial: string, patch: Partial<CertificateRecord> = {}): CertificateRecord {
  return {
    serial, kind: 'device', subject: 'd1', deviceId: 'd1', role: null, fingerprint: `fp-${serial}`, notBefore: T, notAfter: T + 86_400_000,
    revokedAt: null, caId: 'ca1', pem: 'PEM', createdAt: T, ...patch,
  };
}

describe.each(STATE_ENGINES)('registry state on %s', (name) => {
  let engine: StateEngine;
  let state: TestStateDatabase;
  beforeAll(async () => {
    engine = await startStateEngine(name);
    state = await engine.open();
    expect(await runMigrations(state.db, 'registry', registryMigrations)).toEqual(['0001-registry', '0002-certificate-lineage', '0003-device-outbox-status']);
  });
  afterAll(async () => {
    await state?.close();
    await engine?.stop();
  });
  const db = () => state.db.withTables<RegistryTables>();

  it('applies migrations once: a second run applies none', async () => {
    expect(await runMigrations(state.db, 'registry', registryMigrations)).toEqual([]);
  });

  it('stores devices with epoch-ms times, booleans, JSON maps and outbox figures, and filters them alike', async () => {
    const devices = new DeviceStore(db());
    await devices.put(device('d1', { tags: { site: 'Lyon', 'rack.no': '7' }, hardware: 'Raspberry Pi 4', group: 'edge', firmware: { name: 'fw', version: '1.2.0', slot: 'b' } }));
    await devices.put(device('d2', { tags: { site: 'Oslo' }, metadata: { owner: 'Ann' } }));
    await devices.put(device('D3', { status: 'suspended' }));
    await devices.recordStatus('d1', { online: true, at: T + 5, agentVersion: '0.9.0', outbox: { depth: 3, bytes: 1_000, dropped: 0, refused: 0 } });
    const d1 = await devices.get('d1');
    expect(d1).toMatchObject({ online: true, lastSeen: T + 5, agentVersion: '0.9.0', tags: { site: 'Lyon', 'rack.no': '7' }, firmware: { name: 'fw', version: '1.2.0', slot: 'b' } });
    expect(d1?.outbox).toEqual({ depth: 3, bytes: 1_000, dropped: 0, refused: 0, at: T + 5 });
    expect(typeof d1?.createdAt).toBe('number');
    const ids = async (query: Partial<Parameters<DeviceStore['list']>[0]>) => (await devices.list({ tags: [], limit: 50, ...query })).map((d) => d.id);
    // Byte order (C collation on PostgreSQL): upper case before lower case.
    expect(await ids({})).toEqual(['D3', 'd1', 'd2']);
    expect(await ids({ tags: [{ key: 'site', value: 'Lyon' }] })).toEqual(['d1']);
    expect(await ids({ tags: [{ key: 'rack.no' }] })).toEqual(['d1']);
    expect(await ids({ tags: [{ key: 'site' }] })).toEqual(['d1', 'd2']);
    expect(await ids({ online: true })).toEqual(['d1']);
    expect(await ids({ status: 'suspended' })).toEqual(['D3']);
    // Search ignores ASCII case on both engines; % and _ are literal.
    expect(await ids({ q: 'RASPBERRY' })).toEqual(['d1']);
    expect(await ids({ q: 'ann' })).toEqual(['d2']);
    expect(await ids({ q: '%' })).toEqual([]);
    expect(await ids({ firmware: { name: 'fw', version: '1.2.0' } })).toEqual(['d1']);
    expect(await ids({ after: 'd1' })).toEqual(['d2']);
  });

  it('re-enrols only a decommissioned device id, and counts live devices per group', async () => {
    const devices = new DeviceStore(db());
    await devices.put(device('g1', { group: 'edge', hardware: 'first' }));
    await devices.put(device('g1', { group: 'edge', hardware: 'second' }));
    expect((await devices.get('g1'))?.hardware).toBe('first');
    await devices.update('g1', { status: 'decommissioned' }, T + 1);
    await devices.put(device('g1', { group: 'edge', hardware: 'third' }));
    expect((await devices.get('g1'))?.hardware).toBe('third');
    await devices.ensureGroup('edge', T);
    await devices.ensureGroup('edge', T + 9);
    await devices.putGroup('empty', 'nothing here', T);
    const groups = await devices.listGroups({ limit: 10 });
    expect(groups.find((g) => g.name === 'edge')).toEqual({ name: 'edge', description: null, createdAt: T, devices: 2 });
    expect(groups.find((g) => g.name === 'empty')?.devices).toBe(0);
  });

  it('keeps certificates and revokes a serial with its renewals, once', async () => {
    const certs = new CertificateStore(db());
    await certs.insert(cert('aa'));
    await certs.insert(cert('bb', { renewedFrom: 'aa', createdAt: T + 1, notBefore: T + 1 }));
    await certs.insert(cert('cc', { renewedFrom: 'bb', createdAt: T + 2, notBefore: T + 2 }));
    expect((await certs.latestOfDevice('d1'))?.serial).toBe('cc');
    expect((await certs.ofDevice('d1')).map((c) => c.serial)).toEqual(['cc', 'bb', 'aa']);
    expect((await certs.revokeWithRenewals('aa', T + 10)).sort()).toEqual(['aa', 'bb', 'cc']);
    expect(await certs.revokeWithRenewals('aa', T + 11)).toEqual([]);
    expect(await certs.revokedOfCa('ca1', T + 20)).toEqual([{ serial: 'aa', revokedAt: T + 10 }, { serial: 'bb', revokedAt: T + 10 }, { serial: 'cc', revokedAt: T + 10 }]);
    expect((await certs.get('bb'))?.renewedFrom).toBe('aa');
  });

  it('uses an enrollment token up to its bound, and upserts attempts', async () => {
    const tokens = new TokenStore(db());
    const token = { id: 'tok1', group: 'edge', tags: { site: 'Lyon' }, deviceIdPrefix: null, maxUses: 2, uses: 0, expiresAt: T + 60_000, revokedAt: null, createdBy: 'admin', createdAt: T };
    await tokens.insert(token, 'hash1');
    expect(await tokens.byHash('hash1')).toEqual(token);
    expect(await tokens.consumeUse('tok1', T)).toBe(true);
    expect(await tokens.consumeUse('tok1', T)).toBe(true);
    expect(await tokens.consumeUse('tok1', T)).toBe(false);
    expect((await tokens.byId('tok1'))?.uses).toBe(2);
    expect(await tokens.revoke('tok1', T + 1)).toBe(true);
    expect(await tokens.revoke('tok1', T + 2)).toBe(false);
    await tokens.saveAttempt({ tokenId: 'tok1', keyFingerprint: 'k', deviceId: 'd1', serial: 's1' }, T);
    await tokens.saveAttempt({ tokenId: 'tok1', keyFingerprint: 'k', deviceId: 'd1', serial: 's2' }, T + 1);
    expect(await tokens.attempt('tok1', 'k')).toEqual({ tokenId: 'tok1', keyFingerprint: 'k', deviceId: 'd1', serial: 's2' });
    expect((await tokens.list({ limit: 10 })).map((t) => t.id)).toEqual(['tok1']);
  });

  it('keeps CAs (demoting in one transaction), CRL numbers and the one server certificate', async () => {
    const cas = new CaStore(db());
    const ca = { id: 'ca1', generation: 1, commonName: 'CA 1', certPem: 'P', sealedKey: 'S', fingerprint: 'F', serial: '01', status: 'active' as const, notBefore: T, notAfter: T + 1, createdAt: T, retiredAt: null, crlNumber: 0 };
    await cas.insert(ca);
    await cas.insert({ ...ca, id: 'ca2', generation: 2, createdAt: T + 5 }, 'ca1');
    expect((await cas.list()).map((c) => [c.id, c.status])).toEqual([['ca2', 'active'], ['ca1', 'previous']]);
    expect(await cas.nextCrlNumber('ca2')).toBe(1);
    expect(await cas.nextCrlNumber('ca2')).toBe(2);
    const server = { caId: 'ca2', certPem: 'C', sealedKey: 'K', names: ['localhost', '127.0.0.1'], serial: '0a', notAfter: T + 9, issuedAt: T };
    await cas.saveServerCert(server);
    await cas.saveServerCert({ ...server, serial: '0b' });
    expect(await cas.serverCert()).toEqual({ ...server, serial: '0b' });
  });

  it('versions desired configs, upserts the reported one, and moves commands through their states', async () => {
    const configs = new ConfigStore(db());
    await configs.insert({ deviceId: 'd1', version: 1, config: { v: 1, version: 1, values: {} } as never, createdBy: 'admin', createdAt: T });
    await configs.insert({ deviceId: 'd1', version: 2, config: { v: 1, version: 2, values: {} } as never, createdBy: 'admin', createdAt: T + 1 });
    expect((await configs.latest('d1'))?.version).toBe(2);
    await configs.saveReported('d1', { version: 1, applied: false, error: { code: 'X', message: 'no' }, at: T });
    await configs.saveReported('d1', { version: 2, applied: true, error: null, at: T + 2 });
    expect(await configs.reported('d1')).toEqual({ version: 2, applied: true, error: null, at: T + 2 });

    const commands = new CommandStore(db());
    await commands.insert({ id: 'c1', deviceId: 'd1', name: 'reboot', args: { delay: 1 }, state: 'queued', result: null, createdBy: 'admin', createdAt: T, expiresAt: T + 60_000, updatedAt: T });
    await commands.insert({ id: 'c2', deviceId: 'd1', name: 'ping', args: {}, state: 'queued', result: null, createdBy: 'admin', createdAt: T, expiresAt: T + 60_000, updatedAt: T });
    expect((await commands.pending('d1', T)).map((c) => c.id)).toEqual(['c1', 'c2']);
    expect(await commands.setState('d1', 'c2', ['queued'], 'delivered', null, T + 1)).toBe(true);
    expect(await commands.setState('d1', 'c2', ['queued'], 'delivered', null, T + 1)).toBe(false);
    expect(await commands.setState('d1', 'c2', ['delivered'], 'succeeded', { ok: true } as never, T + 2)).toBe(true);
    expect(await commands.get('c2')).toMatchObject({ state: 'succeeded', result: { ok: true }, updatedAt: T + 2 });
    await commands.expireOpen('d1', T + 1);
    const rows = await db().selectFrom('registry_commands').select(['state', 'updated_at']).where('id', '=', 'c1').execute();
    expect(rows).toEqual([{ state: 'expired', updated_at: T + 1 }]);
  });
});
