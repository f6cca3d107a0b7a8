/**
 * Whether the agent may install what an OtaJob offers, decided before a byte is downloaded
 * (pure; the engine supplies what the device holds): the manifest signature by a key of the held
 * TrustSet (Ed25519 over protocol's manifestSigningBytes), the device's hardware, the version
 * against the installed one (no downgrade unless `allowDowngrade`; a lower `securityVersion`
 * never), `minAgentVersion`, and a chunk list that fits `size`.
 */
import { createPublicKey, verify } from 'node:crypto';
import { manifestSigningBytes } from '@outpost/protocol';
import type { Manifest, OtaJob, TrustSet } from '@outpost/protocol';
import { compareSemver } from './semver.js';

export interface InstalledVersion {
  readonly version: string;
  readonly securityVersion?: number;
}

export interface JobCheckContext {
  readonly trust: TrustSet | undefined;
  /** The device's hardware identifiers (a manifest must name one of them). */
  readonly hardware: readonly string[];
  /** What runs now under the manifest's name (apps) or the agent itself (`agent`); undefined: nothing yet. */
  readonly installed: InstalledVersion | undefined;
  readonly agentVersion: string;
}

export type JobVerdict =
  | { readonly ok: true; readonly sameVersion: boolean }
  | { readonly ok: false; readonly code: string; readonly message: string };

function refuse(code: string, message: string): JobVerdict {
  return { ok: false, code, message };
}

function verifies(publicKeyB64: string, data: Uint8Array, sigB64: string): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKeyB64, 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') return false;
    return verify(null, data, key, Buffer.from(sigB64, 'base64'));
  } catch {
    return false;
  }
}

/** The chunk list agrees with size and chunkSize (both or neither, one hash per chunk). */
export function chunkProblem(manifest: Manifest): string | undefined {
  const { chunks, chunkSize, size } = manifest;
  if (chunks === undefined && chunkSize === undefined) return undefined;
  if (chunks === undefined || chunkSize === undefined) return 'chunks and chunkSize come together';
  const expected = Math.ceil(size / chunkSize);
  if (chunks.length !== expected) return `${chunks.length} chunk hashes for ${size} bytes in chunks of ${chunkSize} (expected ${expected})`;
  return undefined;
}

export function checkJob(job: OtaJob, ctx: JobCheckContext): JobVerdict {
  const { manifest, signature } = job;
  const keys = ctx.trust?.keys ?? [];
  if (keys.length === 0) return refuse('OTA_TRUST_EMPTY', 'the device trusts no signing key yet (no TrustSet received): nothing can be verified');
  const key = keys.find((k) => k.keyId === signature.keyId);
  if (key === undefined) {
    return refuse('OTA_KEY_UNKNOWN', `the manifest is signed by key ${signature.keyId}, which the device does not trust (trusted: ${keys.map((k) => k.keyId).join(', ')})`);
  }
  if (!verifies(key.publicKey, manifestSigningBytes(manifest), signature.sig)) {
    return refuse('OTA_SIGNATURE_INVALID', `the manifest signature by key ${signature.keyId} does not verify: the manifest was altered or signed with another key`);
  }
  const problem = chunkProblem(manifest);
  if (problem !== undefined) return refuse('OTA_MANIFEST_INVALID', `the manifest's chunk list is inconsistent: ${problem}`);
  if (!manifest.hardware.some((h) => ctx.hardware.includes(h))) {
    return refuse('OTA_HARDWARE_MISMATCH', `the artifact is for ${manifest.hardware.join(', ')}; this device is ${ctx.hardware.join(', ')}`);
  }
  if (manifest.minAgentVersion !== undefined && compareSemver(ctx.agentVersion, manifest.minAgentVersion) < 0) {
    return refuse('OTA_AGENT_TOO_OLD', `the artifact needs agent ${manifest.minAgentVersion} or later; this agent is ${ctx.agentVersion}`);
  }
  const installed = ctx.installed;
  if (installed === undefined) return { ok: true, sameVersion: false };
  const held = installed.securityVersion ?? 0;
  if ((manifest.securityVersion ?? 0) < held) {
    return refuse('OTA_SECURITY_VERSION_LOWER', `securityVersion ${manifest.securityVersion ?? 0} is lower than the installed ${held}: never installed, even with allowDowngrade`);
  }
  const order = compareSemver(manifest.version, installed.version);
  if (order < 0 && !job.allowDowngrade) {
    return refuse('OTA_DOWNGRADE_REFUSED', `${manifest.name} ${manifest.version} is older than the installed ${installed.version}; the job does not allow a downgrade`);
  }
  return { ok: true, sameVersion: order === 0 };
}
