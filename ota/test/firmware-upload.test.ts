import { request as httpRequest } from 'node:http';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@outpost/e2e';
import { signManifest } from '@outpost/ota/signing';
import { artifactBytes, newKey, sessionToken, signedFor, trustFirstKey, upload } from './helpers/firmware.js';
import { startOtaPlatform, type OtaPlatform } from './helpers/ota-platform.js';

const MAX_BYTES = 4 * 1024 * 1024;

describe('firmware upload, list, show and delete', () => {
  let p: OtaPlatform;
  const key = newKey();
  const stranger = newKey();
  const firmwareDir = (): string => join(p.dataDir, 'data', 'firmware');

  beforeAll(async () => {
    p = await startOtaPlatform({ ota: { firmwareMaxBytes: MAX_BYTES } });
    await trustFirstKey(p, key);
  });
  afterAll(async () => {
    await p.close();
  });

  it('stores a signed artifact content-addressed, lists and shows it; the same upload again is idempotent', async () => {
    const bytes = artifactBytes(2 * 1024 * 1024 + 12_345);
    const signed = await signedFor(bytes, key, { name: 'freezer-app', version: '1.2.0' });
    const first = await upload(p, { ...signed, artifact: bytes });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ id: signed.manifest.id, name: 'freezer-app', version: '1.2.0', size: bytes.length, sha256: signed.manifest.sha256, keyId: key.keyId, uploadedBy: 'admin' });
    const blob = join(firmwareDir(), 'sha256', signed.manifest.sha256);
    expect((await stat(blob)).size).toBe(bytes.length);
    expect((await stat(blob)).mode & 0o077).toBe(0);
    expect(signed.manifest.chunks).toHaveLength(3);

    const again = await upload(p, { ...signed, artifact: bytes });
    expect(again.status).toBe(200);
    expect(again.body['id']).toBe(signed.manifest.id);

    const list = await p.api('GET', '/api/v1/firmware');
    expect(list.status).toBe(200);
    expect((list.body as { items: { id: string }[] }).items.map((i) => i.id)).toContain(signed.manifest.id);
    const shown = await p.api('GET', `/api/v1/firmware/${signed.manifest.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ manifest: signed.manifest, signature: signed.signature });
    expect(await readdir(join(firmwareDir(), 'tmp'))).toEqual([]);

    const audit = await p.api('GET', '/api/v1/audit?action=firmware.create');
    expect((audit.body as { items: { target: string | null }[] }).items.some((e) => e.target?.startsWith(signed.manifest.id) === true)).toBe(true);
  });

  it('pages the list with a cursor', async () => {
    const key2Bytes = [artifactBytes(1000), artifactBytes(2000)];
    for (const bytes of key2Bytes) expect((await upload(p, { ...(await signedFor(bytes, key)), artifact: bytes })).status).toBe(201);
    const first = (await p.api('GET', '/api/v1/firmware?limit=2')).body as { items: { id: string }[]; nextCursor?: string };
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).toBeDefined();
    const second = (await p.api('GET', `/api/v1/firmware?limit=2&cursor=${first.nextCursor ?? ''}`)).body as { items: { id: string }[] };
    expect(second.items.length).toBeGreaterThanOrEqual(1);
    expect(second.items.map((i) => i.id)).not.toContain(first.items[0]?.id);
  });

  describe('refusals leave nothing stored', () => {
    const refusals: [string, () => Promise<{ status: number; body: Record<string, unknown> }>, number, string][] = [
      ['a tampered byte', async () => {
        const bytes = artifactBytes(1024 * 1024 + 100);
        const signed = await signedFor(bytes, key);
        const tampered = Buffer.from(bytes);
        tampered[1024 * 1024 + 5] = (tampered[1024 * 1024 + 5] ?? 0) ^ 0xff;
        return upload(p, { ...signed, artifact: tampered });
      }, 400, 'OTA_ARTIFACT_DIGEST_MISMATCH'],
      ['a manifest signed by an unknown key', async () => {
        const bytes = artifactBytes(5000);
        return upload(p, { ...(await signedFor(bytes, stranger)), artifact: bytes });
      }, 400, 'OTA_KEY_UNKNOWN'],
      ['a signature that does not verify', async () => {
        const bytes = artifactBytes(5000);
        const signed = await signedFor(bytes, key);
        const other = signManifest({ ...signed.manifest, version: '9.9.9' }, key);
        return upload(p, { manifest: signed.manifest, signature: other.signature, artifact: bytes });
      }, 400, 'OTA_SIGNATURE_INVALID'],
      ['an unsigned upload', async () => {
        const bytes = artifactBytes(5000);
        return upload(p, { manifest: (await signedFor(bytes, key)).manifest, artifact: bytes });
      }, 400, 'OTA_SIGNATURE_MISSING'],
      ['an artifact over the size bound', async () => {
        const bytes = artifactBytes(MAX_BYTES + 1);
        return upload(p, { ...(await signedFor(bytes, key)), artifact: bytes });
      }, 413, 'OTA_ARTIFACT_TOO_LARGE'],
      ['an artifact longer than its manifest says', async () => {
        const bytes = artifactBytes(5000);
        return upload(p, { ...(await signedFor(bytes, key)), artifact: Buffer.concat([bytes, Buffer.from('x')]) });
      }, 400, 'OTA_ARTIFACT_SIZE_MISMATCH'],
      ['an invalid manifest', async () => {
        const bytes = artifactBytes(5000);
        const signed = await signedFor(bytes, key);
        return upload(p, { manifest: { ...signed.manifest, version: 'latest' }, signature: signed.signature, artifact: bytes });
      }, 400, 'OTA_MANIFEST_INVALID'],
      ['a manifest that is not JSON', async () => upload(p, { manifest: '{not json', signature: { keyId: key.keyId, sig: 'AAAA' }, artifact: Buffer.from('x') }), 400, 'OTA_MANIFEST_INVALID'],
      ['an upload without an artifact', async () => {
        const signed = await signedFor(artifactBytes(10), key);
        return upload(p, { ...signed });
      }, 400, 'OTA_UPLOAD_INVALID'],
    ];

    it.each(refusals)('refuses %s', async (_name, send, status, code) => {
      const before = ((await p.api('GET', '/api/v1/firmware?limit=1000')).body as { items: unknown[] }).items.length;
      const blobsBefore = (await readdir(join(firmwareDir(), 'sha256'))).length;
      const res = await send();
      expect(res.status).toBe(status);
      expect(res.body['code']).toBe(code);
      expect(((await p.api('GET', '/api/v1/firmware?limit=1000')).body as { items: unknown[] }).items.length).toBe(before);
      expect((await readdir(join(firmwareDir(), 'sha256'))).length).toBe(blobsBefore);
      await waitFor(async () => (await readdir(join(firmwareDir(), 'tmp'))).length === 0, { timeoutMs: 5_000, description: 'no temporary upload file left' });
    });
  });

  it('refuses the same id with another manifest (409) and keeps the first', async () => {
    const bytes = artifactBytes(3000);
    const signed = await signedFor(bytes, key);
    expect((await upload(p, { ...signed, artifact: bytes })).status).toBe(201);
    const other = artifactBytes(3000);
    const conflicting = await signedFor(other, key, { id: signed.manifest.id });
    const res = await upload(p, { ...conflicting, artifact: other });
    expect(res.status).toBe(409);
    expect(res.body['code']).toBe('OTA_ARTIFACT_EXISTS');
    expect(((await p.api('GET', `/api/v1/firmware/${signed.manifest.id}`)).body as { sha256: string }).sha256).toBe(signed.manifest.sha256);
  });

  it('removes the temporary file of an upload cut short mid-stream', async () => {
    const bytes = artifactBytes(3 * 1024 * 1024);
    const signed = await signedFor(bytes, key);
    const boundary = 'cut-short-boundary-42';
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="manifest"\r\n\r\n${JSON.stringify(signed.manifest)}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="signature"\r\n\r\n${JSON.stringify(signed.signature)}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="artifact"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    );
    const token = await sessionToken(p);
    const url = new URL('/api/v1/firmware', p.operatorUrl);
    const req = httpRequest(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + bytes.length + 100) } });
    req.on('error', () => undefined);
    req.write(head);
    req.write(bytes.subarray(0, 1024 * 1024 + 10));
    const tmp = join(firmwareDir(), 'tmp');
    await waitFor(async () => (await readdir(tmp)).length === 1, { timeoutMs: 5_000, description: 'the upload to be streaming into a temporary file' });
    req.destroy();
    await waitFor(async () => (await readdir(tmp)).length === 0, { timeoutMs: 5_000, description: 'the temporary file to be removed' });
    expect((await p.api('GET', `/api/v1/firmware/${signed.manifest.id}`)).status).toBe(404);
    await waitFor(async () => (await p.metric('outpost_ota_uploads_total', { outcome: 'refused' })) > 0, { timeoutMs: 5_000, description: 'the cut upload counted' });
  });

  it('deletes an artifact and its blob; an unknown id is 404', async () => {
    const bytes = artifactBytes(4000);
    const signed = await signedFor(bytes, key);
    expect((await upload(p, { ...signed, artifact: bytes })).status).toBe(201);
    const blob = join(firmwareDir(), 'sha256', signed.manifest.sha256);
    expect((await stat(blob)).size).toBe(4000);
    expect((await p.api('DELETE', `/api/v1/firmware/${signed.manifest.id}`)).status).toBe(204);
    await expect(stat(blob)).rejects.toMatchObject({ code: 'ENOENT' });
    const gone = await p.api('DELETE', `/api/v1/firmware/${signed.manifest.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ code: 'OTA_ARTIFACT_NOT_FOUND' });
  });
});
