/**
 * Manifests (SPEC "Manifest"): what an artifact is, with its size, SHA-256 and the SHA-256 of
 * each chunk (1 MiB by default) so a device verifies every chunk before writing it; signed
 * with Ed25519 over protocol's `manifestSigningBytes`. `outpost firmware sign` writes one JSON
 * file `{manifest, signature}` (a "signed manifest"); upload sends both parts.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { manifestSigningBytes, OutpostError, validatePayload, type Manifest, type Signature } from '@outpost/protocol';
import { signBytes, type SigningKey } from './signing-keys.js';

export const DEFAULT_CHUNK_SIZE = 1024 * 1024;

export interface SignedManifest {
  readonly manifest: Manifest;
  readonly signature: Signature;
}

/** Size, SHA-256 and per-chunk SHA-256 of a byte stream, computed as it flows. */
export class ArtifactDigest {
  readonly chunkSize: number;
  readonly chunks: string[] = [];
  #whole = createHash('sha256');
  #chunk = createHash('sha256');
  #inChunk = 0;
  #size = 0;

  constructor(chunkSize: number = DEFAULT_CHUNK_SIZE) {
    this.chunkSize = chunkSize;
  }

  get size(): number {
    return this.#size;
  }

  /** Feeds bytes; returns the index of each chunk completed by them (to check as they complete). */
  update(bytes: Uint8Array): number[] {
    const completed: number[] = [];
    this.#whole.update(bytes);
    this.#size += bytes.length;
    let offset = 0;
    while (offset < bytes.length) {
      const take = Math.min(this.chunkSize - this.#inChunk, bytes.length - offset);
      this.#chunk.update(bytes.subarray(offset, offset + take));
      this.#inChunk += take;
      offset += take;
      if (this.#inChunk === this.chunkSize) {
        this.chunks.push(this.#chunk.digest('hex'));
        completed.push(this.chunks.length - 1);
        this.#chunk = createHash('sha256');
        this.#inChunk = 0;
      }
    }
    return completed;
  }

  /** Ends the stream: the last partial chunk is hashed; returns the whole SHA-256 (hex). */
  finish(): { sha256: string; size: number; chunks: readonly string[]; lastChunk?: number } {
    let lastChunk: number | undefined;
    if (this.#inChunk > 0) {
      this.chunks.push(this.#chunk.digest('hex'));
      lastChunk = this.chunks.length - 1;
      this.#inChunk = 0;
    }
    const result = { sha256: this.#whole.digest('hex'), size: this.#size, chunks: this.chunks };
    return lastChunk === undefined ? result : { ...result, lastChunk };
  }
}

/** Digest of a file, read as a stream. */
export async function digestFile(path: string, chunkSize: number = DEFAULT_CHUNK_SIZE): Promise<{ sha256: string; size: number; chunks: readonly string[] }> {
  const digest = new ArtifactDigest(chunkSize);
  for await (const bytes of createReadStream(path)) digest.update(bytes as Buffer);
  const { sha256, size, chunks } = digest.finish();
  return { sha256, size, chunks };
}

export interface ManifestFields {
  readonly name: string;
  readonly version: string;
  readonly type: Manifest['type'];
  readonly hardware: readonly string[];
  readonly securityVersion?: number;
  readonly activate?: Manifest['activate'];
  readonly healthCheck?: Manifest['healthCheck'];
  readonly minAgentVersion?: string;
  /** Default: a random UUID. */
  readonly id?: string;
  readonly createdAt: number;
}

/** A manifest checked against protocol's schema; OTA_MANIFEST_INVALID says which field is wrong. */
export function checkManifest(value: unknown): Manifest {
  const decoded = validatePayload('Manifest', value);
  if (!decoded.ok) throw new OutpostError('OTA_MANIFEST_INVALID', `the manifest is invalid: ${decoded.reason}`);
  const manifest = decoded.value;
  const { chunkSize, chunks } = manifest;
  if ((chunkSize === undefined) !== (chunks === undefined)) throw new OutpostError('OTA_MANIFEST_INVALID', 'the manifest is invalid: chunkSize and chunks go together');
  if (chunkSize !== undefined && chunks !== undefined) {
    const expected = manifest.size === 0 ? 0 : Math.ceil(manifest.size / chunkSize);
    if (chunks.length !== expected) throw new OutpostError('OTA_MANIFEST_INVALID', `the manifest is invalid: ${manifest.size} bytes in chunks of ${chunkSize} make ${expected} chunks, not ${chunks.length}`);
  }
  return manifest;
}

/** The manifest of an artifact file (size, SHA-256, per-chunk SHA-256), checked against the schema. */
export async function buildManifest(artifactPath: string, fields: ManifestFields, chunkSize: number = DEFAULT_CHUNK_SIZE): Promise<Manifest> {
  const digest = await digestFile(artifactPath, chunkSize);
  const candidate: Record<string, unknown> = {
    v: 1,
    id: fields.id ?? randomUUID(),
    name: fields.name,
    version: fields.version,
    type: fields.type,
    hardware: [...fields.hardware],
    size: digest.size,
    sha256: digest.sha256,
    createdAt: fields.createdAt,
    chunkSize,
    chunks: [...digest.chunks],
    ...(fields.activate === undefined ? {} : { activate: fields.activate }),
    ...(fields.healthCheck === undefined ? {} : { healthCheck: fields.healthCheck }),
    ...(fields.minAgentVersion === undefined ? {} : { minAgentVersion: fields.minAgentVersion }),
    ...(fields.securityVersion === undefined ? {} : { securityVersion: fields.securityVersion }),
  };
  return checkManifest(candidate);
}

export function signManifest(manifest: Manifest, key: SigningKey): SignedManifest {
  return { manifest, signature: { keyId: key.keyId, sig: signBytes(key, manifestSigningBytes(manifest)) } };
}
