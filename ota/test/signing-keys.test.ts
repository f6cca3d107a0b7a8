import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceCredentials } from '@outpost/e2e';
import { buildTrustSet, createSigningKeyPem, readSigningKeyPem, signTrustSet, type SigningKey } from '@outpost/ota/signing';
import type { TrustSet } from '@outpost/protocol';
import { startOtaPlatform, type OtaPlatform } from './helpers/ota-platform.js';
import { listenTrust } from './helpers/trust-mqtt.js';

function newKey(): SigningKey {
  const { pem } = createSigningKeyPem(undefined);
  return readSigningKeyPem(pem, undefined);
}

interface KeysView {
  version: number;
  keys: { keyId: string; addedInVersion: number }[];
  trustSet: TrustSet;
}

describe('signing keys and the TrustSet', () => {
  let p: OtaPlatform;
  const a = newKey();
  const b = newKey();
  const stranger = newKey();

  beforeAll(async () => {
    p = await startOtaPlatform();
  });
  afterAll(async () => {
    await p.close();
  });

  it('starts with an empty set (version 0)', async () => {
    const res = await p.api('GET', '/api/v1/signing-keys');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ version: 0, keys: [] });
  });

  it('refuses a first set whose key id does not match its public key', async () => {
    const set = buildTrustSet(1, [{ ...a, keyId: 'sha256:00000000000000000000000000000000' }]);
    const res = await p.api('POST', '/api/v1/signing-keys', { trustSet: set });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'OTA_TRUST_SET_INVALID' });
  });

  it('takes the first set, and publishes it retained to a connected device', async () => {
    const device = await p.enroll('trust-dev-1');
    const listener = await listenTrust(p.mqttUrl, device);
    try {
      const res = await p.api('POST', '/api/v1/signing-keys', { trustSet: signTrustSet(buildTrustSet(1, [a]), [a]) });
      expect(res.status).toBe(201);
      expect((res.body as KeysView).keys.map((k) => k.keyId)).toEqual([a.keyId]);
      const received = await listener.version(1);
      expect(received.keys.map((k) => k.keyId)).toEqual([a.keyId]);
    } finally {
      await listener.close();
    }
  });

  it.each([
    ['unsigned', () => buildTrustSet(2, [a, b]), 400, 'OTA_TRUST_SIGNATURE_INVALID'],
    ['signed by a key the current set does not hold', () => signTrustSet(buildTrustSet(2, [a, b]), [stranger]), 400, 'OTA_TRUST_SIGNATURE_INVALID'],
    ['signed only by the key it adds', () => signTrustSet(buildTrustSet(2, [a, b]), [b]), 400, 'OTA_TRUST_SIGNATURE_INVALID'],
    ['not newer than the current set', () => signTrustSet(buildTrustSet(1, [a, b]), [a]), 409, 'OTA_TRUST_VERSION_CONFLICT'],
    ['skipping a version', () => signTrustSet(buildTrustSet(3, [a, b]), [a]), 409, 'OTA_TRUST_VERSION_CONFLICT'],
    ['with a forged signature', () => {
      const set = signTrustSet(buildTrustSet(2, [a, b]), [a]);
      return { ...set, keys: [...set.keys].reverse() };
    }, 400, 'OTA_TRUST_SIGNATURE_INVALID'],
  ] as const)('refuses a next set %s', async (_name, make, status, code) => {
    const res = await p.api('POST', '/api/v1/signing-keys', { trustSet: make() });
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ code });
    expect(((await p.api('GET', '/api/v1/signing-keys')).body as KeysView).version).toBe(1);
  });

  it('rotates: a second key signed by the first, then the first removed with a set signed by the second', async () => {
    const device = await p.enroll('trust-dev-2');
    const listener = await listenTrust(p.mqttUrl, device);
    try {
      await listener.version(1);
      const added = await p.api('POST', '/api/v1/signing-keys', { trustSet: signTrustSet(buildTrustSet(2, [a, b]), [a]) });
      expect(added.status).toBe(201);
      expect((added.body as KeysView).keys).toEqual([expect.objectContaining({ keyId: a.keyId, addedInVersion: 1 }), expect.objectContaining({ keyId: b.keyId, addedInVersion: 2 })]);
      expect((await listener.version(2)).keys).toHaveLength(2);

      const wrongRemoval = await p.api('DELETE', `/api/v1/signing-keys/${encodeURIComponent(a.keyId)}`, { trustSet: signTrustSet(buildTrustSet(3, [a]), [b]) });
      expect(wrongRemoval.status).toBe(400);
      expect(wrongRemoval.body).toMatchObject({ code: 'OTA_TRUST_SET_INVALID' });

      const removed = await p.api('DELETE', `/api/v1/signing-keys/${encodeURIComponent(a.keyId)}`, { trustSet: signTrustSet(buildTrustSet(3, [b]), [b]) });
      expect(removed.status).toBe(200);
      expect((removed.body as KeysView).keys.map((k) => k.keyId)).toEqual([b.keyId]);
      expect((await listener.version(3)).keys.map((k) => k.keyId)).toEqual([b.keyId]);
    } finally {
      await listener.close();
    }
  });

  it('never removes the last key, and says which keys are unknown', async () => {
    const last = await p.api('DELETE', `/api/v1/signing-keys/${encodeURIComponent(b.keyId)}`, { trustSet: signTrustSet(buildTrustSet(4, []), [b]) });
    expect(last.status).toBe(409);
    expect(last.body).toMatchObject({ code: 'OTA_TRUST_LAST_KEY' });
    const unknown = await p.api('DELETE', `/api/v1/signing-keys/${encodeURIComponent(a.keyId)}`, { trustSet: signTrustSet(buildTrustSet(4, [b]), [b]) });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ code: 'OTA_SIGNING_KEY_NOT_FOUND' });
  });

  it('keeps the history and audits every change', async () => {
    const history = await p.api('GET', '/api/v1/signing-keys/history?limit=2');
    expect(history.status).toBe(200);
    const body = history.body as { items: { version: number; actor: string }[]; nextCursor?: string };
    expect(body.items.map((i) => i.version)).toEqual([3, 2]);
    expect(body.items[0]?.actor).toBe('admin');
    const next = await p.api('GET', `/api/v1/signing-keys/history?limit=2&cursor=${body.nextCursor ?? ''}`);
    expect((next.body as { items: { version: number }[] }).items.map((i) => i.version)).toEqual([1]);

    const audit = await p.api('GET', '/api/v1/audit?action=signing-keys.create');
    const entries = (audit.body as { items: { action: string; outcome: string; target: string | null }[] }).items;
    expect(entries.filter((e) => e.outcome === 'success').map((e) => e.target)).toEqual(expect.arrayContaining([`${a.keyId}@v1`, `${b.keyId}@v2`]));
    expect(entries.some((e) => e.outcome === 'failure')).toBe(true);
    const removals = await p.api('GET', '/api/v1/audit?action=signing-keys.delete');
    expect((removals.body as { items: { target: string | null; outcome: string }[] }).items).toEqual(expect.arrayContaining([expect.objectContaining({ outcome: 'success', target: `${a.keyId}@v3` })]));
  });
});

describe('the TrustSet after a platform restart', () => {
  it('is delivered again from the database to a device that comes online (the broker keeps retained messages in memory only)', async () => {
    const key = newKey();
    const dataDir = await mkdtemp(join(tmpdir(), 'outpost-ota-restart-'));
    try {
      const first = await startOtaPlatform({ dataDir });
      let device: DeviceCredentials;
      try {
        device = await first.enroll('trust-dev-restart');
        const res = await first.api('POST', '/api/v1/signing-keys', { trustSet: signTrustSet(buildTrustSet(1, [key]), [key]) });
        expect(res.status).toBe(201);
        await first.ota.idle();
      } finally {
        await first.close();
      }
      const second = await startOtaPlatform({ dataDir });
      try {
        const listener = await listenTrust(second.mqttUrl, device);
        try {
          const received = await listener.version(1);
          expect(received.keys.map((k) => k.keyId)).toEqual([key.keyId]);
        } finally {
          await listener.close();
        }
      } finally {
        await second.close();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
