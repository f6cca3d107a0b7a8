import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentity, renewCertificate, statePaths } from '@outpost/edge-agent';
import { Api, runAgent, startAgent, startOutpostServer, until } from './agent-harness.js';
import type { OutpostServer } from './agent-harness.js';

describe('agent certificate renewal against a real outpost server', () => {
  let server: OutpostServer;
  let api: Api;
  let dir: string;

  beforeAll(async () => {
    // The agent renews 2/3 into a certificate's life; here at once, so the platform must allow that.
    server = await startOutpostServer({ OUTPOST_RENEW_FROM_PERCENT: '0' });
    api = await Api.login(server.info.url);
    dir = await mkdtemp(join(tmpdir(), 'outpost-agent-renew-'));
  });
  afterAll(async () => {
    await server?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('renews over mTLS, then signed by the device key, keeping the key, and runs with the new certificate', async () => {
    const stateDir = join(dir, 'state');
    const created = await api.ok<{ token: string; caFingerprint: string }>('POST', '/enrollment-tokens', { group: 'renew', maxUses: 1, ttlSeconds: 600 });
    const enrolled = await runAgent(['enroll', '--server', server.info.deviceUrl, '--token', created.token, '--ca-fingerprint', created.caFingerprint, '--state-dir', stateDir, '--device-id', 'pi-renewal']);
    expect(enrolled.code, enrolled.output).toBe(0);
    const paths = statePaths(stateDir);
    const first = await loadIdentity(paths);
    const key = await readFile(paths.key, 'utf8');

    const second = await renewCertificate(paths, first, 'mtls', Date.now());
    expect(second.serial).not.toBe(first.serial);
    expect(second.deviceId).toBe('pi-renewal');
    expect(await readFile(paths.cert, 'utf8')).toBe(second.certPem);

    const third = await renewCertificate(paths, second, 'signed', Date.now());
    expect(third.serial).not.toBe(second.serial);
    expect(await readFile(paths.key, 'utf8')).toBe(key);

    // A signature by another key is refused by the platform, and the stored certificate stays.
    const { generateKeyPairSync } = await import('node:crypto');
    const foreignKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await expect(renewCertificate(paths, { ...third, keyPem: foreignKey }, 'signed', Date.now())).rejects.toMatchObject({ code: 'RENEW_UNAUTHENTICATED' });
    expect((await loadIdentity(paths)).serial).toBe(third.serial);

    const certs = await api.ok<unknown[] | { items: unknown[] }>('GET', '/devices/pi-renewal/certificates');
    expect(Array.isArray(certs) ? certs.length : certs.items.length).toBe(3);

    const agent = startAgent(['run', '--state-dir', stateDir, '--status-interval', '300ms', '--reconnect-min', '100ms', '--reconnect-max', '500ms']);
    try {
      await until('online with the renewed certificate', async () => {
        const d = await api.ok<{ online: boolean }>('GET', '/devices/pi-renewal');
        return d.online;
      });
      const status = await runAgent(['status', '--state-dir', stateDir]);
      expect(status.output).toContain(third.serial);
    } finally {
      expect(await agent.stop()).toBe(0);
    }
  });
});
