/**
 * Certificate renewal (SPEC "Identity"): over mTLS once 2/3 of the lifetime has passed; after
 * expiry (offline too long) within the grace period by a request signed with the device key.
 * The key stays the same, so the platform's latest certificate always matches a key we hold.
 */
import { OutpostError, renewalSigningBytes } from '@outpost/protocol';
import { createCsr, signWithDeviceKey } from './device-key.js';
import { answerError, requestJson } from './device-https.js';
import { checkAnswer } from './enroll.js';
import { loadIdentity, saveAnswer } from './state-dir.js';
import type { DeviceIdentity, StatePaths } from './state-dir.js';

export const DEFAULT_RENEW_GRACE_MS = 365 * 86_400_000;

export type RenewalMode = 'none' | 'mtls' | 'signed' | 'too-late';

/** When renewal is due: 2/3 into the certificate's lifetime. */
export function renewAt(identity: Pick<DeviceIdentity, 'notBefore' | 'notAfter'>): number {
  return identity.notBefore + Math.floor(((identity.notAfter - identity.notBefore) * 2) / 3);
}

/** What to do now: nothing, renew with the certificate, renew signed (expired), or give up (past grace). */
export function renewalMode(identity: Pick<DeviceIdentity, 'notBefore' | 'notAfter'>, now: number, graceMs = DEFAULT_RENEW_GRACE_MS): RenewalMode {
  if (now < renewAt(identity)) return 'none';
  if (now < identity.notAfter) return 'mtls';
  if (now < identity.notAfter + graceMs) return 'signed';
  return 'too-late';
}

/** The signed grace-period request `{v, deviceId, csr, ts, sig}`. */
export function signedRenewalRequest(identity: Pick<DeviceIdentity, 'deviceId' | 'keyPem'>, csr: string, ts: number): { v: 1; deviceId: string; csr: string; ts: number; sig: string } {
  const unsigned = { v: 1 as const, deviceId: identity.deviceId, csr, ts };
  return { ...unsigned, sig: signWithDeviceKey(identity.keyPem, renewalSigningBytes(unsigned)) };
}

/** Renews now with `mode`, stores the new certificate atomically and answers the new identity. */
export async function renewCertificate(paths: StatePaths, identity: DeviceIdentity, mode: 'mtls' | 'signed', now: number, timeoutMs?: number): Promise<DeviceIdentity> {
  const csr = await createCsr(identity.keyPem, identity.deviceId);
  const url = new URL('/device/v1/renew', identity.deviceApiUrl);
  const body = mode === 'mtls' ? { v: 1, csr } : signedRenewalRequest(identity, csr, now);
  const tls = mode === 'mtls' ? { ca: identity.caPem, cert: identity.certPem, key: identity.keyPem, timeoutMs } : { ca: identity.caPem, timeoutMs };
  const reply = await requestJson(url, 'POST', body, tls);
  if (reply.status !== 200) throw answerError('renewal', reply);
  const answer = checkAnswer(reply.body, identity.keyPem, identity.caPem);
  if (answer.deviceId !== identity.deviceId) {
    throw new OutpostError('AGENT_ANSWER_INVALID', `the renewal answered device ${answer.deviceId}, not ${identity.deviceId}`);
  }
  await saveAnswer(paths, answer, now);
  return loadIdentity(paths);
}
