/**
 * Enrolls the cluster bench's fleet (setup, not measured): thousands of devices through one
 * front door (HAProxy's device port, or one `outpost server`), `concurrency` at a time, each
 * request retried on a transient failure until a deadline.
 *
 * Keys come from a small pool (generating 10,000 RSA keys would take longer than the bench), and
 * a key enrolls once per token: with T = ceil(devices / pool) tokens, device i enrolls under token
 * i mod T with key floor(i / T), so no (token, key) pair repeats. Devices taken one after the other
 * (the `concurrency` in flight) hold different tokens: each enrollment's transaction takes its
 * token's row lock (one more use), and with the former mapping (token floor(i / pool)) every
 * request in flight waited on the same row — 7 enrollments/s through PostgreSQL on this machine.
 * A retry sends the same CSR with the same token, which the server answers with the same device.
 *
 * Kept here until test/src/cluster/enroll-fleet.ts (retry, bounded concurrency) is exported with
 * a key-pool option; it generates one key per device.
 */
import { createPrivateKey, generateKeyPair, sign, type KeyObject } from 'node:crypto';
import { request } from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { adminApi, type DeviceIdentity } from '@outpost/e2e';
import forge from 'node-forge';

const generate = promisify(generateKeyPair);
const TRANSIENT_STATUS = new Set([429, 502, 503, 504]);

export interface FleetOptions {
  readonly concurrency: number;
  readonly keyPool: number;
  readonly deadlineMs: number;
  readonly progress?: (done: number, total: number) => void;
}

export async function enrollBenchFleet(door: { operatorUrl: string; deviceUrl: string }, ids: readonly string[], options: FleetOptions): Promise<{ identities: DeviceIdentity[]; retries: number; seconds: number }> {
  const t0 = performance.now();
  const deadline = Date.now() + options.deadlineMs;
  let retries = 0;
  const retrying = async <T>(what: string, attempt: () => Promise<T>): Promise<T> => {
    for (let tries = 1; ; tries += 1) {
      try {
        return await attempt();
      } catch (err) {
        if (!isTransient(err) || Date.now() > deadline) throw new Error(`${what}: ${(err as Error).message} (try ${String(tries)})`, { cause: err });
        retries += 1;
        await delay(Math.min(2_000, 100 * 2 ** Math.min(tries, 4)));
      }
    }
  };
  const api = await retrying('admin login', () => adminApi(door.operatorUrl));
  const { chainPem } = (await retrying('GET /api/v1/ca', () => api('GET', '/api/v1/ca'))) as { chainPem: string };
  const pool = Math.max(1, Math.min(options.keyPool, ids.length));
  const keys = await Promise.all(
    Array.from({ length: pool }, async (): Promise<PoolKey> => {
      const { publicKey, privateKey } = await generate('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
      return { publicKey, privateKey, forgePublicKey: forge.pki.publicKeyFromPem(publicKey), nodePrivateKey: createPrivateKey(privateKey) };
    }),
  );
  const tokenCount = Math.ceil(ids.length / pool);
  const tokens = new Array<string>(tokenCount);
  let nextToken = 0;
  await Promise.all(
    Array.from({ length: Math.min(4, tokenCount) }, async () => {
      for (let t = nextToken++; t < tokenCount; t = nextToken++) {
        const answer = (await retrying('POST /api/v1/enrollment-tokens', () => api('POST', '/api/v1/enrollment-tokens', { group: 'bench', maxUses: pool, ttlSeconds: 3600 }))) as { token: string };
        tokens[t] = answer.token;
      }
    }),
  );
  const identities = new Array<DeviceIdentity>(ids.length);
  let next = 0;
  let done = 0;
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency, ids.length) }, async () => {
      for (let i = next++; i < ids.length; i = next++) {
        const deviceId = ids[i] as string;
        const key = keys[Math.floor(i / tokenCount)] as PoolKey;
        const body = JSON.stringify({ v: 1, token: tokens[i % tokenCount], csr: csrPem(deviceId, key), deviceId });
        const answer = await retrying(`enrolling ${deviceId}`, () => postEnroll(door.deviceUrl, chainPem, body));
        identities[i] = { deviceId, keyPem: key.privateKey, certPem: answer.certificate, caPem: answer.caChain };
        done += 1;
        if (done % 500 === 0) options.progress?.(done, ids.length);
      }
    }),
  );
  return { identities, retries, seconds: (performance.now() - t0) / 1000 };
}

interface PoolKey {
  readonly publicKey: string;
  readonly privateKey: string;
  /** Parsed once per key, not once per device. */
  readonly forgePublicKey: forge.pki.PublicKey;
  readonly nodePrivateKey: KeyObject;
}

/**
 * A CSR for `deviceId`, built with node-forge and signed by Node's crypto: forge's JavaScript RSA
 * signature held the event loop ~30–50 ms per device, which made enrolling 10,000 devices take
 * 7–10 minutes on this machine (the requests waited on the bench, not on the server).
 */
function csrPem(deviceId: string, key: PoolKey): string {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = key.forgePublicKey;
  csr.setSubject([{ name: 'commonName', value: deviceId }]);
  csr.signatureOid = csr.siginfo.algorithmOid = forge.pki.oids['sha256WithRSAEncryption'] ?? '1.2.840.113549.1.1.11';
  // getCertificationRequestInfo is what csr.sign uses; node-forge's type definitions leave it out.
  const info = (forge.pki as unknown as { getCertificationRequestInfo(c: forge.pki.CertificateSigningRequest): forge.asn1.Asn1 }).getCertificationRequestInfo(csr);
  csr.certificationRequestInfo = info;
  csr.signature = sign('sha256', Buffer.from(forge.asn1.toDer(info).getBytes(), 'binary'), key.nodePrivateKey).toString('binary');
  return forge.pki.certificationRequestToPem(csr);
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function isTransient(err: unknown): boolean {
  if (err instanceof HttpStatusError) return TRANSIENT_STATUS.has(err.status);
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code ?? (err.cause as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes(code)) return true;
  return err.message.includes('socket hang up') || err.message === 'fetch failed' || /: (429|502|503|504) /.test(err.message);
}

function postEnroll(deviceUrl: string, caPem: string, body: string): Promise<{ certificate: string; caChain: string }> {
  return new Promise((resolve, reject) => {
    // A connection per request: a kept-alive socket closed under a POST is a "socket hang up" that cannot be told apart.
    const req = request(`${deviceUrl}/device/v1/enroll`, { method: 'POST', ca: caPem, agent: false, timeout: 30_000, headers: { 'content-type': 'application/json', connection: 'close' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status === 200 || status === 201) resolve(JSON.parse(text) as { certificate: string; caChain: string });
        else reject(new HttpStatusError(status, `enroll: ${String(status)} ${text.slice(0, 200)}`));
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('enroll: no answer within 30 s'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}
