import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistryPlatform } from '../helpers/registry-platform.js';

describe('platform server certificate', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'outpost-registry-restart-'));
  });
  afterAll(async () => rm(dataDir, { recursive: true, force: true }));

  const run = async (names: string) => {
    const t = await startRegistryPlatform({ dataDir, env: { OUTPOST_SERVER_NAMES: names } });
    try {
      const res = await t.device('GET', '/device/v1/ca');
      return { san: res.peerSan, serial: res.peerSerial, cn: res.peerCn, fingerprint: ((await t.api('GET', '/api/v1/ca', { token: t.admin })).body as { fingerprint: string }).fingerprint };
    } finally {
      await t.close();
    }
  };

  it('keeps the CA and the server certificate across restarts, and reissues the certificate when OUTPOST_SERVER_NAMES change', async () => {
    const first = await run('localhost,127.0.0.1');
    expect(first.cn).toBe('localhost');
    expect(first.san).toBe('DNS:localhost, IP Address:127.0.0.1');

    const same = await run('127.0.0.1,localhost');
    expect(same.serial).toBe(first.serial);
    expect(same.fingerprint).toBe(first.fingerprint);

    const changed = await run('outpost.example.net,localhost,127.0.0.1');
    expect(changed.serial).not.toBe(first.serial);
    expect(changed.cn).toBe('outpost.example.net');
    expect(changed.san).toBe('DNS:outpost.example.net, DNS:localhost, IP Address:127.0.0.1');
    expect(changed.fingerprint).toBe(first.fingerprint);
  });

  it('refuses to start with another secret key than the one the CA key was sealed with', async () => {
    await expect(startRegistryPlatform({ dataDir, secretKey: Buffer.alloc(32, 9) })).rejects.toThrow(/secret key|OUTPOST_SECRET_KEY/i);
  });
});
