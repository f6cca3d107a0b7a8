import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { lines, makeHome, noFetch, outpost } from './cli-harness.js';
import { CREATED_AT, TOKEN, fakeDevice, startFakeRegistryApi, type FakeRegistryApi } from './fake-registry-api.js';

describe('outpost devices', () => {
  let home: Awaited<ReturnType<typeof makeHome>>;
  let api: FakeRegistryApi;
  let env: Record<string, string>;
  beforeEach(async () => {
    home = await makeHome();
    api = await startFakeRegistryApi();
    env = { OUTPOST_SERVER: api.url, OUTPOST_TOKEN: TOKEN };
    api.devices.set('pi-01', fakeDevice('pi-01', { online: true, lastSeen: CREATED_AT, tags: { site: 'north' }, agentVersion: '1.0.0', firmware: { name: 'core', version: '2.0.0', slot: 'a' }, outbox: { depth: 3, bytes: 1536, maxBytes: 4096, dropped: 2, droppedSamples: 14, refused: 0, at: CREATED_AT } }));
    api.devices.set('pi-02', fakeDevice('pi-02', { group: 'barn' }));
  });
  afterEach(async () => {
    await api.close();
    await home.cleanup();
  });

  it('lists devices as a table, sending the filters as query parameters', async () => {
    const result = await outpost(['devices', 'list', '--group', 'lab', '--tag', 'site=north', '--status', 'active', '--online', 'true', '--firmware', 'core@2.0.0', '--q', 'pi'], { home: home.dir, env });
    expect(result.code).toBe(0);
    expect(api.requests.at(-1)).toMatchObject({ method: 'GET', path: '/devices', query: { group: 'lab', tag: 'site=north', status: 'active', online: 'true', firmware: 'core@2.0.0', q: 'pi' } });
    expect(lines(result.stdout)).toEqual([
      'ID     STATUS  ONLINE  GROUP  TAGS        AGENT  FIRMWARE    LAST SEEN',
      'pi-01  active  yes     lab    site=north  1.0.0  core@2.0.0  2026-01-31T12:00:00Z',
      'pi-02  active  no      barn   -           -      -           never',
    ]);
  });

  it('refuses an unknown status without calling the server', async () => {
    const result = await outpost(['devices', 'list', '--status', 'broken'], { home: home.dir, env, fetch: noFetch });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('invalid value "broken" for --status');
  });

  it('shows a device with its certificates and its outbox figures', async () => {
    const result = await outpost(['devices', 'show', 'pi-01'], { home: home.dir, env });
    expect(result.code).toBe(0);
    expect(lines(result.stdout)).toEqual([
      'id:           pi-01',
      'status:       active',
      'online:       yes',
      'last seen:    2026-01-31T12:00:00Z',
      'group:        lab',
      'tags:         site=north',
      'metadata:     -',
      'hardware:     -',
      'agent:        1.0.0',
      'firmware:     core@2.0.0',
      'outbox:       3 batches, 1.5 KiB of 4 KiB; dropped 2 batches (14 samples); refused 0 (as of 2026-01-31T12:00:00Z)',
      'enrolled:     2026-01-31T12:00:00Z',
      'cert expires: 2026-05-01T12:00:00Z',
      '',
      'SERIAL  STATUS  NOT BEFORE            NOT AFTER',
      '0a1b    valid   2026-01-31T12:00:00Z  2026-05-01T12:00:00Z',
    ]);
    const json = await outpost(['devices', 'show', 'pi-01', '--json'], { home: home.dir, env });
    expect(JSON.parse(json.stdout)).toMatchObject({ id: 'pi-01', certificates: [{ serial: '0a1b' }] });
  });

  it('reports an unknown device in one line with exit code 1', async () => {
    const result = await outpost(['devices', 'show', 'nope'], { home: home.dir, env });
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'error: no device nope (DEVICE_NOT_FOUND)\n' });
  });

  it.each([
    ['suspend', 'Suspended device pi-01 (now suspended).'],
    ['resume', 'Resumed device pi-01 (now active).'],
    ['revoke', 'Revoked device pi-01 (now revoked).'],
  ])('%s a device', async (action, said) => {
    const result = await outpost(['devices', action, 'pi-01'], { home: home.dir, env });
    expect(result).toEqual({ code: 0, stdout: `${said}\n`, stderr: '' });
    expect(api.requests.at(-1)).toMatchObject({ method: 'POST', path: `/devices/pi-01/${action}` });
  });

  it('deletes a device', async () => {
    expect(await outpost(['devices', 'delete', 'pi-02'], { home: home.dir, env })).toEqual({ code: 0, stdout: 'Deleted device pi-02.\n', stderr: '' });
    expect(api.requests.at(-1)).toMatchObject({ method: 'DELETE', path: '/devices/pi-02' });
  });

  it('sets the desired config from a file', async () => {
    const file = join(home.dir, 'config.json');
    await writeFile(file, JSON.stringify({ collectors: [{ type: 'system', intervalMs: 10_000 }] }));
    const result = await outpost(['devices', 'config', 'set', 'pi-01', '-f', file], { home: home.dir, env });
    expect(result).toEqual({ code: 0, stdout: 'Set config version 3 of device pi-01.\n', stderr: '' });
    expect(api.requests.at(-1)).toMatchObject({ method: 'PUT', path: '/devices/pi-01/config', body: { collectors: [{ type: 'system', intervalMs: 10_000 }] } });
    const shown = await outpost(['devices', 'config', 'show', 'pi-01'], { home: home.dir, env });
    expect(JSON.parse(shown.stdout)).toEqual({ v: 1, version: 3, collectors: [] });
  });

  it('refuses a missing or invalid config file in one line', async () => {
    const missing = await outpost(['devices', 'config', 'set', 'pi-01', '-f', join(home.dir, 'nope.json')], { home: home.dir, env, fetch: noFetch });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`error: cannot read ${join(home.dir, 'nope.json')}: ENOENT\n`);
    const file = join(home.dir, 'bad.json');
    await writeFile(file, '{ not json');
    const bad = await outpost(['devices', 'config', 'set', 'pi-01', '--file', file], { home: home.dir, env, fetch: noFetch });
    expect(bad.code).toBe(1);
    expect(lines(bad.stderr)).toHaveLength(1);
    expect(bad.stderr).toContain('is not valid JSON');
    const noFile = await outpost(['devices', 'config', 'set', 'pi-01'], { home: home.dir, env, fetch: noFetch });
    expect(noFile.code).toBe(2);
  });

  it('sends a command with arguments and a ttl', async () => {
    const result = await outpost(['devices', 'command', 'pi-01', 'restart-service', '--arg', 'name=collector', '--arg', 'delay=5', '--ttl', '10m'], { home: home.dir, env });
    expect(result).toEqual({ code: 0, stdout: 'Queued command restart-service (id c1) for device pi-01, expires 2026-01-31T12:10:00Z.\n', stderr: '' });
    expect(api.requests.at(-1)).toMatchObject({ method: 'POST', path: '/devices/pi-01/commands', body: { name: 'restart-service', args: { name: 'collector', delay: '5' }, ttlSeconds: 600 } });
    const bad = await outpost(['devices', 'command', 'pi-01', 'reboot', '--arg', '=x'], { home: home.dir, env, fetch: noFetch });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('invalid --arg "=x" (expected KEY=VALUE)');
  });
});
