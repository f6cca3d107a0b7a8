/**
 * A real signed firmware artifact for the browser suites: the bytes, and the `{manifest,
 * signature}` file `outpost firmware sign` writes for them (made with `@outpost/ota/signing`),
 * written to a temp dir; `uploadArtifact` sends both to `POST /firmware` the way the CLI does.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildManifest, signManifest, type SignedManifest, type SigningKey } from '@outpost/ota/signing';

export interface SignedArtifactFiles {
  readonly dir: string;
  readonly artifactPath: string;
  readonly manifestPath: string;
  readonly signed: SignedManifest;
  readonly bytes: Buffer;
}

export async function signedArtifact(key: SigningKey, fields: { name: string; version: string; bytes: number }): Promise<SignedArtifactFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-web-fw-'));
  const artifactPath = join(dir, `${fields.name}-${fields.version}.tar`);
  const bytes = Buffer.alloc(fields.bytes);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + fields.version.length) & 0xff;
  await writeFile(artifactPath, bytes);
  const signed = signManifest(await buildManifest(artifactPath, { name: fields.name, version: fields.version, type: 'archive', hardware: ['pi4'], createdAt: Date.now() }), key);
  const manifestPath = join(dir, `${fields.name}-${fields.version}.json`);
  await writeFile(manifestPath, JSON.stringify(signed, null, 2));
  return { dir, artifactPath, manifestPath, signed, bytes };
}

/** Signs and uploads an artifact; resolves to the stored artifact's id. */
export async function uploadArtifact(operatorUrl: string, token: string, key: SigningKey, fields: { name: string; version: string; bytes: number }): Promise<{ id: string }> {
  const files = await signedArtifact(key, fields);
  const form = new FormData();
  form.append('manifest', JSON.stringify(files.signed.manifest));
  form.append('signature', JSON.stringify(files.signed.signature));
  form.append('artifact', new Blob([files.bytes]), 'artifact.tar');
  const res = await fetch(`${operatorUrl}/api/v1/firmware`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const body = (await res.json()) as { id?: string };
  if (res.status !== 201 || typeof body.id !== 'string') throw new Error(`upload ${fields.name}@${fields.version}: ${String(res.status)} ${JSON.stringify(body)}`);
  return { id: body.id };
}
