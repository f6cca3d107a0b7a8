/**
 * `outpost-agent enroll`: pin the platform CA, make the device key, send the CSR with the token,
 * store what the platform answers. The token is sent only over a connection verified against
 * the pinned CA (or over plain http with --insecure).
 */
import { X509Certificate, createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { OutpostError, validateEnrollmentAnswer } from '@outpost/protocol';
import type { EnrollmentAnswer } from '@outpost/protocol';
import { readTextIfExists, writeFileAtomic } from './atomic-file.js';
import { certificatesOf, fingerprintOfDer, parseFingerprint, pinnedChain } from './ca-pin.js';
import { createCsr, generateDeviceKey } from './device-key.js';
import { answerError, presentedChain, requestJson } from './device-https.js';
import { saveAnswer, saveTrustSet } from './state-dir.js';
import type { StatePaths } from './state-dir.js';

export interface EnrollOptions {
  readonly server: string;
  readonly token: string;
  readonly paths: StatePaths;
  /** A CA bundle file to trust; default: ca.pem of the state dir when present. */
  readonly caFile?: string;
  readonly caFingerprint?: string;
  /** Allow plain http:// (the token then travels in clear). */
  readonly insecure?: boolean;
  /** Ask for this device id (the CSR's CN); default: the platform assigns one. */
  readonly deviceId?: string;
  readonly hardware?: string;
  readonly agentVersion: string;
  readonly now?: () => number;
  readonly timeoutMs?: number;
}

export interface EnrollResult {
  readonly answer: EnrollmentAnswer;
  readonly caFingerprints: readonly string[];
}

export function parseServerUrl(server: string, insecure: boolean): URL {
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new OutpostError('AGENT_SERVER_URL_INVALID', `--server must be a URL such as https://platform.example:8443, not ${JSON.stringify(server.slice(0, 80))}`);
  }
  if (url.protocol === 'http:' && !insecure) {
    throw new OutpostError('AGENT_INSECURE_REFUSED', `refusing plain ${url.origin}: the token would travel in clear; use https:// or pass --insecure`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new OutpostError('AGENT_SERVER_URL_INVALID', `--server must be an https:// URL, not ${url.protocol}`);
  }
  return url;
}

/** The CA chain to trust for `url`, pinned by file or fingerprint; undefined only for http. */
export async function resolvePinnedCa(url: URL, options: Pick<EnrollOptions, 'caFile' | 'caFingerprint' | 'paths' | 'timeoutMs'>): Promise<string | undefined> {
  if (url.protocol === 'http:') return undefined;
  const fingerprint = options.caFingerprint === undefined ? undefined : parseFingerprint(options.caFingerprint);
  const bundle = options.caFile !== undefined ? await readCaFile(options.caFile) : await readTextIfExists(options.paths.ca);
  if (bundle !== undefined) {
    certificatesOf(bundle);
    return fingerprint === undefined ? bundle : pinnedChain(bundle, fingerprint);
  }
  if (fingerprint === undefined) {
    throw new OutpostError('AGENT_CA_UNPINNED', 'cannot trust the server yet: pass --ca-fingerprint sha256:HEX (shown with the enrollment token) or --ca FILE');
  }
  // The handshake's chain first (nothing sent), then the listener's full chain over a connection verified with it.
  const presented = pinnedChain(await presentedChain(url, options.timeoutMs), fingerprint);
  const answer = await requestJson(new URL('/device/v1/ca', url), 'GET', undefined, { ca: presented, timeoutMs: options.timeoutMs });
  if (answer.status !== 200) throw answerError('GET /device/v1/ca', answer);
  return pinnedChain(answer.text, fingerprint);
}

async function readCaFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new OutpostError('AGENT_CA_INVALID', `cannot read the CA bundle ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** The device key of the state dir, made (0600) when absent; a retried enrollment reuses it. */
export async function ensureDeviceKey(paths: StatePaths): Promise<string> {
  const existing = await readTextIfExists(paths.key);
  if (existing !== undefined) return existing;
  const key = await generateDeviceKey();
  await writeFileAtomic(paths.key, key, 0o600);
  return key;
}

/** Checks an answer: schema, the certificate is for our key and issued by the answered chain, which holds a pinned CA. */
export function checkAnswer(raw: unknown, keyPem: string, pinnedCa: string | undefined): EnrollmentAnswer {
  const checked = validateEnrollmentAnswer(raw);
  if (!checked.ok) throw new OutpostError('AGENT_ANSWER_INVALID', `the platform's answer is malformed: ${checked.reason}`);
  const answer = checked.value;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(answer.certificate);
  } catch (err) {
    throw new OutpostError('AGENT_ANSWER_INVALID', 'the answered certificate cannot be read', { cause: err });
  }
  const ours = createPublicKey(keyPem).export({ type: 'spki', format: 'der' });
  if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(ours)) {
    throw new OutpostError('AGENT_ANSWER_INVALID', 'the answered certificate is not for the device key');
  }
  const chain = certificatesOf(answer.caChain);
  if (!chain.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))) {
    throw new OutpostError('AGENT_ANSWER_INVALID', 'the answered certificate is not issued by the answered CA chain');
  }
  if (pinnedCa !== undefined) {
    const pinned = new Set(certificatesOf(pinnedCa).map((c) => fingerprintOfDer(c.raw)));
    if (!chain.some((c) => pinned.has(fingerprintOfDer(c.raw)))) {
      throw new OutpostError('AGENT_ANSWER_INVALID', 'the answered CA chain does not hold the pinned CA');
    }
  }
  return answer;
}

export async function enrollDevice(options: EnrollOptions): Promise<EnrollResult> {
  const now = options.now ?? Date.now;
  const url = parseServerUrl(options.server, options.insecure === true);
  const ca = await resolvePinnedCa(url, options);
  const keyPem = await ensureDeviceKey(options.paths);
  const csr = await createCsr(keyPem, options.deviceId);
  const body = { v: 1, token: options.token, csr, agentVersion: options.agentVersion, hardware: options.hardware, deviceId: options.deviceId };
  const reply = await requestJson(new URL('/device/v1/enroll', url), 'POST', body, { ca, timeoutMs: options.timeoutMs });
  if (reply.status !== 200 && reply.status !== 201) throw answerError('enrollment', reply);
  const answer = checkAnswer(reply.body, keyPem, ca);
  await saveAnswer(options.paths, answer, now());
  await saveTrustSet(options.paths, answer.trust);
  return { answer, caFingerprints: certificatesOf(answer.caChain).map((c) => fingerprintOfDer(c.raw)) };
}
