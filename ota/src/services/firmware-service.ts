/**
 * Firmware artifacts (issue 13 item 2): the upload is checked *while it streams* — the
 * manifest and its signature (against the registered keys) before the first artifact byte,
 * then size, every chunk's SHA-256 as it completes and the whole SHA-256 — and stored
 * content-addressed. A refused or cut-short upload leaves no file behind. Same id with the
 * same manifest is idempotent (200, nothing new stored); same id with another manifest is a
 * conflict.
 */
import type { Log } from '@outpost/kernel';
import { canonicalJson, manifestSigningBytes, OutpostError, Signature, type Manifest, type TrustSet } from '@outpost/protocol';
import { Compile } from 'typebox/compile';
import type { ArtifactRecord, ArtifactStore } from '../adapters/artifact-store.js';
import type { BlobStore, BlobWriter } from '../adapters/blob-store.js';
import type { MultipartReader } from '../http/multipart-reader.js';
import { ArtifactDigest, checkManifest } from '../signing/manifests.js';
import { importPublicKey, verifyBytes } from '../signing/signing-keys.js';

const signatureChecker = Compile(Signature);
/** manifest and signature parts: a manifest of a 2 GiB artifact with 1 MiB chunks is ~140 KB. */
const MAX_FIELD_BYTES = 8 * 1024 * 1024;

export interface FirmwareServiceDeps {
  readonly artifacts: ArtifactStore;
  readonly blobs: BlobStore;
  trustSet(): Promise<TrustSet>;
  /** True while a rollout not yet final uses the artifact. */
  artifactInUse(artifactId: string): Promise<boolean>;
  /** Largest artifact accepted (bytes). */
  readonly maxBytes: number;
  readonly log: Log;
  now(): number;
  onUpload?(outcome: 'stored' | 'duplicate' | 'refused', bytes: number): void;
}

export interface UploadOutcome {
  readonly record: ArtifactRecord;
  /** False when the same artifact was stored before (idempotent). */
  readonly created: boolean;
}

function parseJson(text: string, what: string, code: 'OTA_MANIFEST_INVALID' | 'OTA_SIGNATURE_INVALID'): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new OutpostError(code, `the ${what} part is not JSON`, { cause: err });
  }
}

export class FirmwareService {
  readonly #deps: FirmwareServiceDeps;

  constructor(deps: FirmwareServiceDeps) {
    this.#deps = deps;
  }

  /** Reads a whole upload (parts manifest, signature, then artifact, last) and stores it. */
  async upload(reader: MultipartReader, actor: string): Promise<UploadOutcome> {
    let received = 0;
    try {
      const outcome = await this.#upload(reader, actor, (n) => {
        received += n;
      });
      this.#deps.onUpload?.(outcome.created ? 'stored' : 'duplicate', received);
      return outcome;
    } catch (err) {
      this.#deps.onUpload?.('refused', received);
      throw err;
    }
  }

  async #upload(reader: MultipartReader, actor: string, count: (bytes: number) => void): Promise<UploadOutcome> {
    let manifestText: string | undefined;
    let signatureText: string | undefined;
    for (;;) {
      const part = await reader.next();
      if (part === undefined) throw new OutpostError('OTA_UPLOAD_INVALID', 'the upload has no artifact part (send manifest, signature, then artifact)');
      if (part.name === 'manifest') manifestText = await reader.text(MAX_FIELD_BYTES, 'manifest');
      else if (part.name === 'signature') signatureText = await reader.text(MAX_FIELD_BYTES, 'signature');
      else if (part.name === 'artifact') break;
      else throw new OutpostError('OTA_UPLOAD_INVALID', `unexpected part "${part.name.slice(0, 64)}" (expected manifest, signature, artifact)`);
    }
    if (manifestText === undefined) throw new OutpostError('OTA_UPLOAD_INVALID', 'the manifest part must come before the artifact part');
    if (signatureText === undefined) throw new OutpostError('OTA_SIGNATURE_MISSING', 'the upload is unsigned: the signature part ({keyId, sig}) must come before the artifact part');
    const manifest = checkManifest(parseJson(manifestText, 'manifest', 'OTA_MANIFEST_INVALID'));
    const signature = parseJson(signatureText, 'signature', 'OTA_SIGNATURE_INVALID');
    if (!signatureChecker.Check(signature)) throw new OutpostError('OTA_SIGNATURE_INVALID', 'the signature part must be {"keyId": "...", "sig": "<base64>"}');
    await this.#checkSignature(manifest, signature);
    if (manifest.size > this.#deps.maxBytes) {
      throw new OutpostError('OTA_ARTIFACT_TOO_LARGE', `the artifact is ${manifest.size} bytes; the largest accepted is ${this.#deps.maxBytes} (OUTPOST_FIRMWARE_MAX_BYTES)`);
    }
    const existing = await this.#deps.artifacts.get(manifest.id);
    if (existing !== undefined && canonicalJson(existing.manifest) !== canonicalJson(manifest)) {
      throw new OutpostError('OTA_ARTIFACT_EXISTS', `artifact ${manifest.id} exists with another manifest (${existing.manifest.name} ${existing.manifest.version}): sign the new build with a new id`);
    }

    const writer = await this.#deps.blobs.create();
    try {
      await this.#receive(reader, manifest, writer, count);
      if ((await reader.next()) !== undefined) throw new OutpostError('OTA_UPLOAD_INVALID', 'the artifact part must be the last part');
      if (existing !== undefined) {
        await writer.discard();
        return { record: existing, created: false };
      }
      await writer.commit(manifest.sha256);
    } catch (err) {
      await writer.discard();
      throw err;
    }
    const record: ArtifactRecord = { id: manifest.id, manifest, signature, size: manifest.size, sha256: manifest.sha256, uploadedBy: actor, uploadedAt: this.#deps.now() };
    if (!(await this.#deps.artifacts.insert(record))) {
      // A concurrent upload of the same id won: same manifest → same answer; the blob is shared.
      const winner = await this.#deps.artifacts.get(manifest.id);
      if (winner !== undefined && canonicalJson(winner.manifest) === canonicalJson(manifest)) return { record: winner, created: false };
      throw new OutpostError('OTA_ARTIFACT_EXISTS', `artifact ${manifest.id} exists with another manifest`);
    }
    this.#deps.log.info({ artifactId: record.id, name: manifest.name, version: manifest.version, size: manifest.size, sha256: manifest.sha256, keyId: signature.keyId }, 'ota: firmware artifact stored');
    return { record, created: true };
  }

  async #checkSignature(manifest: Manifest, signature: Signature): Promise<void> {
    const trust = await this.#deps.trustSet();
    const key = trust.keys.find((k) => k.keyId === signature.keyId);
    if (key === undefined) {
      const known = trust.keys.length === 0 ? 'no key is registered yet (outpost keys register)' : `registered: ${trust.keys.map((k) => k.keyId).join(', ')}`;
      throw new OutpostError('OTA_KEY_UNKNOWN', `the manifest is signed by ${signature.keyId}, which is not a registered signing key (${known})`);
    }
    if (!verifyBytes(importPublicKey(key), manifestSigningBytes(manifest), signature.sig)) {
      throw new OutpostError('OTA_SIGNATURE_INVALID', `the signature by ${signature.keyId} does not verify over this manifest`);
    }
  }

  /** Streams the artifact part into `writer`, refusing at the first byte or chunk that disagrees with the manifest. */
  async #receive(reader: MultipartReader, manifest: Manifest, writer: BlobWriter, count: (bytes: number) => void): Promise<void> {
    const digest = new ArtifactDigest(manifest.chunkSize ?? manifest.size + 1);
    const checkChunk = (index: number): void => {
      const expected = manifest.chunks?.[index];
      if (expected !== undefined && digest.chunks[index] !== expected) {
        throw new OutpostError('OTA_ARTIFACT_DIGEST_MISMATCH', `chunk ${index} (bytes ${index * digest.chunkSize}…) does not match the manifest's SHA-256: the artifact was altered`, { details: { chunk: index } });
      }
    };
    for await (const bytes of reader.body()) {
      count(bytes.length);
      if (digest.size + bytes.length > manifest.size) {
        throw new OutpostError('OTA_ARTIFACT_SIZE_MISMATCH', `the artifact is larger than the manifest's ${manifest.size} bytes`);
      }
      for (const index of digest.update(bytes)) checkChunk(index);
      await writer.write(bytes);
    }
    const { sha256, size, lastChunk } = digest.finish();
    if (size !== manifest.size) throw new OutpostError('OTA_ARTIFACT_SIZE_MISMATCH', `the artifact is ${size} bytes, the manifest says ${manifest.size}`);
    if (lastChunk !== undefined) checkChunk(lastChunk);
    if (sha256 !== manifest.sha256) throw new OutpostError('OTA_ARTIFACT_DIGEST_MISMATCH', `the artifact's SHA-256 is ${sha256}, the manifest says ${manifest.sha256}: the artifact was altered`);
  }

  async get(id: string): Promise<ArtifactRecord> {
    const record = await this.#deps.artifacts.get(id);
    if (record === undefined) throw new OutpostError('OTA_ARTIFACT_NOT_FOUND', `no firmware artifact ${id}`);
    return record;
  }

  list(limit: number, after?: readonly [number, string]): Promise<ArtifactRecord[]> {
    return this.#deps.artifacts.list(limit, after);
  }

  /** Deletes an artifact no unfinished rollout uses; its blob goes when no other artifact shares it. */
  async delete(id: string): Promise<ArtifactRecord> {
    const record = await this.get(id);
    if (await this.#deps.artifactInUse(id)) throw new OutpostError('OTA_ARTIFACT_IN_USE', `artifact ${id} is used by a rollout that is not finished: abort or finish it first`);
    await this.#deps.artifacts.delete(id);
    if ((await this.#deps.artifacts.countBySha256(record.sha256)) === 0) await this.#deps.blobs.remove(record.sha256);
    this.#deps.log.info({ artifactId: id, sha256: record.sha256 }, 'ota: firmware artifact deleted');
    return record;
  }
}
