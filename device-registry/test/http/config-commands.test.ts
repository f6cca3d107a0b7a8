import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrFor, rsaKey } from '../helpers/keys.js';
import { startRegistryPlatform, type RegistryPlatform } from '../helpers/registry-platform.js';

const CONFIG = { collectors: [{ type: 'system', intervalMs: 10_000 }] };

describe('desired config and commands', () => {
  let t: RegistryPlatform;
  beforeAll(async () => {
    t = await startRegistryPlatform();
    const { token } = await t.enrollmentToken();
    const res = await t.device('POST', '/device/v1/enroll', { body: { v: 1, token, csr: csrFor(rsaKey(), 'cfg-device') } });
    if (res.status !== 201) throw new Error(res.text);
  });
  afterAll(async () => t.close());

  it('has no config until one is set', async () => {
    const res = await t.api('GET', '/api/v1/devices/cfg-device/config', { token: t.admin });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'CONFIG_NOT_FOUND' });
  });

  it('stores configs as versions, filling v and the platform limits, and emits config-changed', async () => {
    const first = await t.api('PUT', '/api/v1/devices/cfg-device/config', { token: t.admin, body: CONFIG });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ deviceId: 'cfg-device', version: 1, createdBy: 'admin', config: { v: 1, version: 1, ...CONFIG, limits: { maxSamples: 1000 } } });
    expect(t.events.at(-1)).toMatchObject({ type: 'config-changed', deviceId: 'cfg-device' });
    const second = await t.api('PUT', '/api/v1/devices/cfg-device/config', { token: t.admin, body: { ...CONFIG, version: 2, reconnect: { minMs: 1000, maxMs: 60_000 } } });
    expect(second.body).toMatchObject({ version: 2 });
    expect(await t.port.configs.desiredConfig('cfg-device')).toMatchObject({ version: 2, reconnect: { minMs: 1000, maxMs: 60_000 } });
    await t.port.configs.recordReported('cfg-device', { v: 1, version: 2, applied: true, at: t.clock.now() });
    expect((await t.api('GET', '/api/v1/devices/cfg-device/config', { token: t.admin })).body).toMatchObject({ version: 2, reported: { version: 2, applied: true, error: null } });
  });

  it('refuses a stale version with 409 and an invalid config with 400 naming the field', async () => {
    const stale = await t.api('PUT', '/api/v1/devices/cfg-device/config', { token: t.admin, body: { ...CONFIG, version: 2 } });
    expect(stale.status).toBe(409);
    expect(stale.body).toMatchObject({ code: 'CONFIG_VERSION_CONFLICT', details: { expected: 3 } });
    const invalid = await t.api('PUT', '/api/v1/devices/cfg-device/config', { token: t.admin, body: { collectors: [{ type: 'toaster', intervalMs: 5 }] } });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toMatchObject({ code: 'CONFIG_INVALID' });
    expect((invalid.body as { message: string }).message).toContain('collectors');
    expect((await t.api('PUT', '/api/v1/devices/no-such-device/config', { token: t.admin, body: CONFIG })).status).toBe(404);
  });

  it('queues commands, lists them newest first, and moves them through delivery', async () => {
    const created = await t.api('POST', '/api/v1/devices/cfg-device/commands', { token: t.admin, body: { name: 'reboot', args: { delayS: 5, force: true } } });
    expect(created.status).toBe(201);
    const command = created.body as { id: string; state: string; expiresAt: number };
    expect(command).toMatchObject({ deviceId: 'cfg-device', name: 'reboot', args: { delayS: 5, force: true }, state: 'queued', createdBy: 'admin' });
    expect(command.expiresAt).toBe(t.clock.now() + 3_600_000);
    expect(t.events.at(-1)).toMatchObject({ type: 'command-created', deviceId: 'cfg-device' });
    t.clock.advance(1);
    const short = await t.api('POST', '/api/v1/devices/cfg-device/commands', { token: t.admin, body: { name: 'ping', ttlSeconds: 10 } });
    const shortId = (short.body as { id: string }).id;

    expect((await t.port.commands.pendingCommands('cfg-device')).map((c) => c.id)).toEqual([command.id, shortId]);
    // Another device cannot settle this device's command, even knowing its id.
    expect(await t.port.commands.markCommand('other-device', command.id, 'delivered')).toBe(false);
    expect(await t.port.commands.markCommand('cfg-device', command.id, 'delivered')).toBe(true);
    expect(await t.port.commands.markCommand('other-device', command.id, 'succeeded', { ok: true, at: t.clock.now() })).toBe(false);
    expect(await t.port.commands.markCommand('cfg-device', command.id, 'succeeded', { ok: true, output: 'bye', at: t.clock.now() })).toBe(true);
    expect(await t.port.commands.markCommand('cfg-device', command.id, 'failed')).toBe(false);
    t.clock.advance(11_000);
    expect(await t.port.commands.pendingCommands('cfg-device')).toEqual([]);

    const list = await t.api('GET', '/api/v1/devices/cfg-device/commands', { token: t.admin });
    expect((list.body as { items: { id: string; state: string; result: unknown }[] }).items.map((c) => [c.id, c.state])).toEqual([
      [shortId, 'expired'],
      [command.id, 'succeeded'],
    ]);
  });

  it('refuses commands with a bad name and commands for a revoked device', async () => {
    expect((await t.api('POST', '/api/v1/devices/cfg-device/commands', { token: t.admin, body: { name: 'no spaces allowed' } })).status).toBe(400);
    const nested = await t.api('POST', '/api/v1/devices/cfg-device/commands', { token: t.admin, body: { name: 'reboot', args: { when: { at: 5 } } } });
    expect(nested.status).toBe(400);
    expect(nested.body).toMatchObject({ code: 'COMMAND_INVALID' });
    await t.api('POST', '/api/v1/devices/cfg-device/revoke', { token: t.admin });
    const res = await t.api('POST', '/api/v1/devices/cfg-device/commands', { token: t.admin, body: { name: 'reboot' } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'DEVICE_STATE_CONFLICT' });
  });
});
