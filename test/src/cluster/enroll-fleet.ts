/**
 * Enrolls a fleet of simulated devices through one front door (HAProxy in a cluster, or one
 * `outpost server`), a few at a time, each retried on transient failures until a deadline.
 *
 *   const { identities } = await enrollFleet({ operatorUrl: cluster.operatorUrl, deviceUrl: cluster.haproxy.deviceUrl }, ids, { concurrency: 8 });
 *
 * Each device gets its own RSA-2048 key and a node-forge CSR. Keys come from a cache on disk
 * (KEY_CACHE_DIR, key i for the i-th device of a call, generated off the event loop the first time
 * and kept, mode 0600): a fresh RSA-2048 key costs 50–500 ms of CPU, 200 of them would be most of
 * a test's set-up on a loaded 2-core machine. They are test keys: nothing else uses them. A retry
 * sends the same CSR with the same token: the server answers the same device (200), so a request
 * whose answer was lost on the way back neither enrolls twice nor uses up the token.
 *
 * Transient: the connection failed or was cut ("socket hang up", ECONNRESET, ECONNREFUSED, EPIPE,
 * a request timeout), or the answer was 429/502/503/504 (a node starting, stopping or loaded).
 * Anything else (a 4xx refusal) fails at once with the server's answer.
 *
 * Every request opens its own TLS connection (no keep-alive): a kept-alive socket that the
 * server (or HAProxy) closes just as the next request goes out is the classic "socket hang up"
 * of a POST, which cannot be retried blindly by an HTTP client. One handshake per enrollment
 * costs little next to the key generation and the certificate signature.
 */
import { generateKeyPair, sign } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import forge from 'node-forge';
import { adminApi, type DeviceIdentity } from '../services/outpost-server.js';
import { serviceTimeoutMs } from '../services/service-timeout.js';

export interface FleetFrontDoor {
  /** Where the admin logs in and creates the enrollment token (HAProxy's operator port in a cluster). */
  readonly operatorUrl: string;
  /** The device HTTPS listener (HAProxy's device port in a cluster). */
  readonly deviceUrl: string;
}

export interface EnrollFleetOptions {
  /** Enrollments in flight at once (default 8). */
  readonly concurrency?: number;
  /** Deadline for the whole fleet, retries included (default 5 min, or OUTPOST_TEST_SERVICE_TIMEOUT_MS × 10). */
  readonly deadlineMs?: number;
  /** Deadline of one request (default 30 s). */
  readonly requestTimeoutMs?: number;
  /** The group the token puts devices in (default "fleet"). */
  readonly group?: string;
  /** Generate every key afresh instead of reading the cache (default false). */
  readonly freshKeys?: boolean;
  /** Told after each enrolled device. */
  readonly progress?: (enrolled: number, total: number) => void;
}

export interface FleetEnrollment {
  /** In the order of the ids given. */
  readonly identities: DeviceIdentity[];
  /** Requests retried after a transient failure, by reason ("socket hang up", "503", …). */
  readonly retries: Readonly<Record<string, number>>;
  readonly elapsedMs: number;
}

class TransientError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly retryAfterMs = 0,
  ) {
    super(message);
  }
}

const TRANSIENT_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ECONNABORTED', 'EAI_AGAIN']);
const TRANSIENT_STATUS = new Set([429, 502, 503, 504]);

/** Enrolls `ids` (one device each) and answers their identities; throws when one is refused or the deadline passes. */
export async function enrollFleet(door: FleetFrontDoor, ids: readonly string[], options: EnrollFleetOptions = {}): Promise<FleetEnrollment> {
  const started = Date.now();
  const deadline = started + (options.deadlineMs ?? serviceTimeoutMs(30_000) * 10);
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const retries: Record<string, number> = {};
  const retrying = async <T>(what: string, attempt: () => Promise<T>): Promise<T> => {
    for (let tries = 1; ; tries += 1) {
      try {
        return await attempt();
      } catch (err) {
        const transient = asTransient(err);
        if (transient === undefined) throw err;
        retries[transient.reason] = (retries[transient.reason] ?? 0) + 1;
        const pause = Math.max(transient.retryAfterMs, Math.min(2_000, 100 * 2 ** Math.min(tries, 5)));
        if (Date.now() + pause > deadline) throw new Error(`enrollFleet: ${what} still failing at the deadline (${tries} tries, last: ${transient.message})`, { cause: err });
        await delay(pause);
      }
    }
  };

  const api = await retrying('admin login', () => adminApi(door.operatorUrl));
  const { chainPem } = (await retrying('GET /api/v1/ca', () => api('GET', '/api/v1/ca'))) as { chainPem: string };
  // Room for retried requests whose first answer was lost (a retry of the same CSR uses no token).
  const { token } = (await retrying('POST /api/v1/enrollment-tokens', () =>
    api('POST', '/api/v1/enrollment-tokens', { group: options.group ?? 'fleet', maxUses: Math.max(1, ids.length), ttlSeconds: 3600 }),
  )) as { token: string };

  const identities: (DeviceIdentity | undefined)[] = new Array<DeviceIdentity | undefined>(ids.length);
  let next = 0;
  let enrolled = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next;
      next += 1;
      const deviceId = ids[index];
      if (deviceId === undefined) return;
      if (Date.now() > deadline) throw new Error(`enrollFleet: deadline passed with ${enrolled}/${ids.length} devices enrolled`);
      const { keyPem, csrPem } = await keyAndCsr(deviceId, options.freshKeys === true ? await newRsaKey() : await cachedRsaKey(index));
      const body = JSON.stringify({ v: 1, token, csr: csrPem, deviceId });
      const answer = await retrying(`enrolling ${deviceId}`, () => postEnroll(door.deviceUrl, chainPem, body, deviceId, requestTimeoutMs));
      identities[index] = { deviceId, keyPem, certPem: answer.certificate, caPem: answer.caChain };
      enrolled += 1;
      options.progress?.(enrolled, ids.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, () => worker()));
  return { identities: identities.filter((i): i is DeviceIdentity => i !== undefined), retries, elapsedMs: Date.now() - started };
}

/** Where enrollFleet keeps its test device keys between runs. */
export const KEY_CACHE_DIR = path.join(tmpdir(), 'outpost-test-device-keys');

interface RsaKey {
  readonly publicKey: string;
  readonly privateKey: string;
}

function newRsaKey(): Promise<RsaKey> {
  return new Promise((resolve, reject) =>
    generateKeyPair('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }, (err, publicKey, privateKey) =>
      err === null ? resolve({ publicKey, privateKey }) : reject(err),
    ),
  );
}

/** Key `index` of the cache, made (and written atomically, so parallel suites never read half a file) if missing. */
async function cachedRsaKey(index: number): Promise<RsaKey> {
  const file = path.join(KEY_CACHE_DIR, `rsa2048-${index}.json`);
  const cached = await readFile(file, 'utf8').then(
    (text) => JSON.parse(text) as Partial<RsaKey>,
    () => undefined,
  );
  if (typeof cached?.publicKey === 'string' && typeof cached.privateKey === 'string') return { publicKey: cached.publicKey, privateKey: cached.privateKey };
  const key = await newRsaKey();
  await mkdir(KEY_CACHE_DIR, { recursive: true, mode: 0o700 });
  const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  await writeFile(temp, JSON.stringify(key), { mode: 0o600 });
  await rename(temp, file);
  return key;
}

async function keyAndCsr(deviceId: string, { publicKey, privateKey }: RsaKey): Promise<{ keyPem: string; csrPem: string }> {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(publicKey);
  csr.setSubject([{ name: 'commonName', value: deviceId }]);
  // Signed by Node's crypto (forge's JavaScript RSA would hold the event loop ~50 ms per device).
  csr.signatureOid = csr.siginfo.algorithmOid = forge.pki.oids['sha256WithRSAEncryption'] ?? '1.2.840.113549.1.1.11';
  // getCertificationRequestInfo is in node-forge (what csr.sign uses) but not in its type definitions.
  const requestInfo = (forge.pki as unknown as { getCertificationRequestInfo(c: forge.pki.CertificateSigningRequest): forge.asn1.Asn1 }).getCertificationRequestInfo(csr);
  csr.certificationRequestInfo = requestInfo;
  const info = Buffer.from(forge.asn1.toDer(requestInfo).getBytes(), 'binary');
  csr.signature = sign('sha256', info, privateKey).toString('binary');
  return { keyPem: privateKey, csrPem: forge.pki.certificationRequestToPem(csr) };
}

function postEnroll(deviceUrl: string, caPem: string, body: string, deviceId: string, timeoutMs: number): Promise<{ certificate: string; caChain: string }> {
  return new Promise((resolve, reject) => {
    // agent: false — a connection of its own, closed after the answer (see the file comment).
    const req = request(`${deviceUrl}/device/v1/enroll`, { method: 'POST', ca: caPem, agent: false, timeout: timeoutMs, headers: { 'content-type': 'application/json', connection: 'close' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status === 200 || status === 201) {
          resolve(JSON.parse(text) as { certificate: string; caChain: string });
          return;
        }
        const message = `enroll ${deviceId}: ${status} ${text.slice(0, 300)}`;
        if (TRANSIENT_STATUS.has(status)) {
          const retryAfterS = Number(res.headers['retry-after'] ?? 0);
          reject(new TransientError(String(status), message, Number.isFinite(retryAfterS) ? Math.min(retryAfterS, 10) * 1000 : 0));
          return;
        }
        reject(new Error(message));
      });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error(`enroll ${deviceId}: no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

/** The failure as a transient one (with a short reason to count), or undefined when it is a refusal. */
function asTransient(err: unknown): TransientError | undefined {
  if (err instanceof TransientError) return err;
  if (!(err instanceof Error)) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return new TransientError(code, err.message);
  if (err.message.includes('socket hang up')) return new TransientError('socket hang up', err.message);
  // adminApi (fetch): "fetch failed" with the socket error as its cause, or "<METHOD> <path>: 503 …".
  if (err.message === 'fetch failed') return asTransient(err.cause) ?? new TransientError('fetch failed', err.message);
  const status = /^[A-Z]+ \S+: (\d{3}) /.exec(err.message)?.[1];
  if (status !== undefined && TRANSIENT_STATUS.has(Number(status))) return new TransientError(status, err.message);
  return undefined;
}
