/** Test artifacts: bytes written to a file, a signed manifest made by the operator-side helpers, and uploads through the real API. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildManifest, buildTrustSet, createSigningKeyPem, readSigningKeyPem, signManifest, signTrustSet, type SignedManifest, type SigningKey } from '@outpost/ota/signing';
import type { Manifest } from '@outpost/protocol';
import type { OtaPlatform } from './ota-platform.js';

export function newKey(): SigningKey {
  const { pem } = createSigningKeyPem(undefined);
  return readSigningKeyPem(pem, undefined);
}

/** Registers `key` as the first trusted key. */
export async function trustFirstKey(p: OtaPlatform, key: SigningKey): Promise<void> {
  const res = await p.api('POST', '/api/v1/signing-keys', { trustSet: signTrustSet(buildTrustSet(1, [key]), [key]) });
  if (res.status !== 201) throw new Error(`register key: ${res.status} ${JSON.stringify(res.body)}`);
}

/** A signed manifest of `bytes` (chunks of `chunkSize`, default 1 MiB). */
export async function signedFor(bytes: Buffer, key: SigningKey, fields: Partial<Pick<Manifest, 'name' | 'version' | 'id'>> = {}, chunkSize?: number): Promise<SignedManifest> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-ota-artifact-'));
  try {
    const path = join(dir, 'artifact.bin');
    await writeFile(path, bytes);
    const manifest = await buildManifest(
      path,
      { name: fields.name ?? 'demo-app', version: fields.version ?? '1.0.0', type: 'archive', hardware: ['test-hw'], createdAt: 1_700_000_000_000, ...(fields.id === undefined ? {} : { id: fields.id }) },
      chunkSize,
    );
    return signManifest(manifest, key);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function artifactBytes(size: number): Buffer {
  return randomBytes(size);
}

export interface UploadParts {
  readonly manifest?: unknown;
  readonly signature?: unknown;
  readonly artifact?: Buffer;
}

/** POST /api/v1/firmware as multipart/form-data (fetch's own encoder), parts in the order given. */
export async function upload(p: OtaPlatform, parts: UploadParts, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new FormData();
  if (parts.manifest !== undefined) form.append('manifest', typeof parts.manifest === 'string' ? parts.manifest : JSON.stringify(parts.manifest));
  if (parts.signature !== undefined) form.append('signature', JSON.stringify(parts.signature));
  if (parts.artifact !== undefined) form.append('artifact', new Blob([parts.artifact]), 'artifact.bin');
  const auth = token ?? (await sessionToken(p));
  const res = await fetch(`${p.operatorUrl}/api/v1/firmware`, { method: 'POST', headers: { authorization: `Bearer ${auth}` }, body: form });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const tokens = new WeakMap<OtaPlatform, string>();

export async function sessionToken(p: OtaPlatform): Promise<string> {
  const known = tokens.get(p);
  if (known !== undefined) return known;
  const res = await fetch(`${p.operatorUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: 'correct-horse-battery-staple' }) });
  const token = ((await res.json()) as { token: string }).token;
  tokens.set(p, token);
  return token;
}
