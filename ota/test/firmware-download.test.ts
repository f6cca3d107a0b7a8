import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foreignClientCertificate, waitFor, type DeviceCredentials } from '@outpost/e2e';
import type { SignedManifest } from '@outpost/ota/signing';
import { artifactBytes, newKey, signedFor, trustFirstKey, upload } from './helpers/firmware.js';
import { deviceGet, jsonOf } from './helpers/device-https.js';
import { startOtaPlatform, type OtaPlatform } from './helpers/ota-platform.js';

/** A real rollout of `artifactId` to `deviceId`: its job is what authorises the download. */
async function rollOut(p: OtaPlatform, artifactId: string, deviceId: string, caPem: string, device: DeviceCredentials): Promise<void> {
  const res = await p.api('POST', '/api/v1/rollouts', { artifactId, target: { devices: [deviceId] }, waves: [{ percent: 100 }] });
  if (res.status !== 201 && res.status !== 200) throw new Error(`rollout: ${res.status} ${JSON.stringify(res.body)}`);
  await waitFor(async () => (await deviceGet(`${p.deviceUrl()}/device/v1/firmware/${artifactId}`, caPem, device, { range: 'bytes=0-0' })).status === 206, {
    timeoutMs: 15_000,
    description: `the rollout to give ${deviceId} a job for ${artifactId}`,
  });
}

describe('device firmware download', () => {
  let p: OtaPlatform;
  let device: DeviceCredentials;
  let other: DeviceCredentials;
  let signed: SignedManifest;
  let bytes: Buffer;
  let url: string;
  let etag: string;

  beforeAll(async () => {
    p = await startOtaPlatform();
    const key = newKey();
    await trustFirstKey(p, key);
    bytes = artifactBytes(3 * 1024 * 1024 + 777);
    signed = await signedFor(bytes, key);
    expect((await upload(p, { ...signed, artifact: bytes })).status).toBe(201);
    device = await p.enroll('dl-device-1');
    other = await p.enroll('dl-device-2');
    url = `${p.deviceUrl()}/device/v1/firmware/${signed.manifest.id}`;
    etag = `"${signed.manifest.sha256}"`;
    await rollOut(p, signed.manifest.id, device.deviceId, device.caPem, device);
  });
  afterAll(async () => {
    await p.close();
  });

  it('refuses a request without a client certificate (401)', async () => {
    const res = await deviceGet(url, device.caPem, undefined);
    expect(res.status).toBe(401);
    expect(jsonOf(res)['code']).toBe('OTA_DOWNLOAD_UNAUTHENTICATED');
  });

  it('refuses a certificate of another CA (401)', async () => {
    const foreign = foreignClientCertificate({ CN: device.deviceId });
    const res = await deviceGet(url, device.caPem, { keyPem: foreign.keyPem, certPem: foreign.certPem });
    expect(res.status).toBe(401);
    expect(jsonOf(res)['code']).toBe('OTA_DOWNLOAD_UNAUTHENTICATED');
  });

  it('refuses a device without a job for the artifact (403)', async () => {
    const res = await deviceGet(url, device.caPem, other);
    expect(res.status).toBe(403);
    expect(jsonOf(res)['code']).toBe('OTA_DOWNLOAD_FORBIDDEN');
  });

  it('serves the whole artifact with its ETag to the device with the job', async () => {
    const res = await deviceGet(url, device.caPem, device);
    expect(res.status).toBe(200);
    expect(res.headers['etag']).toBe(etag);
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers['content-length']).toBe(String(bytes.length));
    expect(res.body.equals(bytes)).toBe(true);
  });

  it('answers HEAD with the size and the ETag, and no body', async () => {
    const res = await new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; length: number }>((resolve, reject) => {
      const req = httpsRequest(url, { method: 'HEAD', ca: device.caPem, key: device.keyPem, cert: device.certPem, agent: false }, (r) => {
        let length = 0;
        r.on('data', (c: Buffer) => (length += c.length));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, length }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(200);
    expect(res.headers['etag']).toBe(etag);
    expect(res.headers['content-length']).toBe(String(bytes.length));
    expect(res.length).toBe(0);
  });

  it.each([
    ['bytes=100-199', 100, 199],
    ['bytes=1048576-', 1_048_576, 3 * 1024 * 1024 + 776],
    ['bytes=-10', 3 * 1024 * 1024 + 767, 3 * 1024 * 1024 + 776],
    ['bytes=3145000-99999999', 3_145_000, 3 * 1024 * 1024 + 776],
  ])('serves %s as 206 with Content-Range', async (range, start, end) => {
    const res = await deviceGet(url, device.caPem, device, { range });
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${bytes.length}`);
    expect(res.body.equals(bytes.subarray(start, end + 1))).toBe(true);
  });

  it('answers 416 with the size for a range past the end', async () => {
    const res = await deviceGet(url, device.caPem, device, { range: `bytes=${bytes.length}-` });
    expect(res.status).toBe(416);
    expect(res.headers['content-range']).toBe(`bytes */${bytes.length}`);
    expect(jsonOf(res)['code']).toBe('OTA_RANGE_NOT_SATISFIABLE');
  });

  it('honours If-Range: the same ETag resumes (206), another one restarts from zero (200)', async () => {
    const same = await deviceGet(url, device.caPem, device, { range: 'bytes=10-19', 'if-range': etag });
    expect(same.status).toBe(206);
    expect(same.body.equals(bytes.subarray(10, 20))).toBe(true);
    const changed = await deviceGet(url, device.caPem, device, { range: 'bytes=10-19', 'if-range': '"0000"' });
    expect(changed.status).toBe(200);
    expect(changed.body.length).toBe(bytes.length);
  });

  it('answers 404 for an artifact that does not exist, and counts bytes served', async () => {
    const res = await deviceGet(`${p.deviceUrl()}/device/v1/firmware/no-such-artifact`, device.caPem, device);
    expect([403, 404]).toContain(res.status);
    expect(await p.metric('outpost_ota_download_bytes_total')).toBeGreaterThanOrEqual(bytes.length * 2);
  });

  it('refuses to delete the artifact while its rollout is not finished', async () => {
    const res = await p.api('DELETE', `/api/v1/firmware/${signed.manifest.id}`);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'OTA_ARTIFACT_IN_USE' });
    expect((await p.api('GET', `/api/v1/firmware/${signed.manifest.id}`)).status).toBe(200);
  });

  it('refuses a suspended device (403)', async () => {
    expect((await p.api('POST', `/api/v1/devices/${device.deviceId}/suspend`)).status).toBe(200);
    try {
      const res = await deviceGet(url, device.caPem, device, { range: 'bytes=0-0' });
      expect(res.status).toBe(403);
      expect(jsonOf(res)['code']).toBe('OTA_DOWNLOAD_FORBIDDEN');
    } finally {
      await p.api('POST', `/api/v1/devices/${device.deviceId}/resume`);
    }
  });
});

describe('bounded downloads', () => {
  it('answers 503 with Retry-After when every download slot is taken, and frees the slot when the device goes away', async () => {
    const p = await startOtaPlatform({ ota: { maxDownloads: 1, downloadBytesPerS: 64 * 1024 } });
    try {
      const key = newKey();
      await trustFirstKey(p, key);
      const bytes = artifactBytes(1024 * 1024);
      const signed = await signedFor(bytes, key);
      expect((await upload(p, { ...signed, artifact: bytes })).status).toBe(201);
      const device = await p.enroll('busy-device-1');
      const url = `${p.deviceUrl()}/device/v1/firmware/${signed.manifest.id}`;
      await p.api('POST', '/api/v1/rollouts', { artifactId: signed.manifest.id, target: { devices: [device.deviceId] }, waves: [{ percent: 100 }] });
      // The probe itself must not hold the only slot: a HEAD-less 1-byte range finishes at once.
      await waitFor(async () => (await deviceGet(url, device.caPem, device, { range: 'bytes=0-0' })).status === 206, { timeoutMs: 15_000, description: 'the job' });

      // A paced whole download (about 16 s at 64 KiB/s) holds the one slot.
      const slow = httpsRequest(url, { ca: device.caPem, key: device.keyPem, cert: device.certPem, agent: false });
      let received = 0;
      const started = new Promise<void>((resolve, reject) => {
        slow.on('response', (res) => {
          res.on('data', (c: Buffer) => {
            received += c.length;
            resolve();
          });
          res.on('error', () => undefined);
        });
        slow.on('error', reject);
      });
      slow.end();
      await started;
      const busy = await deviceGet(url, device.caPem, device, { range: 'bytes=0-0' });
      expect(busy.status).toBe(503);
      expect(busy.headers['retry-after']).toBe('5');
      expect(jsonOf(busy)['code']).toBe('OTA_DOWNLOAD_BUSY');
      expect(received).toBeLessThan(bytes.length);

      slow.destroy();
      await waitFor(async () => (await deviceGet(url, device.caPem, device, { range: 'bytes=0-0' })).status === 206, { timeoutMs: 5_000, description: 'the slot to be free again' });
      expect(await p.metric('outpost_ota_download_refusals_total', { reason: 'busy' })).toBeGreaterThanOrEqual(1);
    } finally {
      await p.close();
    }
  });
});
