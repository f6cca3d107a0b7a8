/** Route schemas of the OTA part's own routes (signing keys, firmware). */
import { EpochMs, nullable } from '@outpost/kernel';
import { Manifest, Signature, TrustSet } from '@outpost/protocol';
import { Type } from 'typebox';

export const SigningKeyView = Type.Object({
  keyId: Type.String(),
  alg: Type.Literal('ed25519'),
  publicKey: Type.String({ description: 'base64 SPKI DER' }),
  addedInVersion: Type.Integer({ description: 'the TrustSet version that first listed it' }),
  addedAt: EpochMs,
});

export const SigningKeysView = Type.Object({
  version: Type.Integer({ description: 'the current TrustSet version (0: no key registered yet)' }),
  keys: Type.Array(SigningKeyView),
  trustSet: TrustSet,
});

export const TrustSetBody = Type.Object({ trustSet: TrustSet }, { additionalProperties: false });

export const KeyIdParams = Type.Object({ keyId: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });

export const TrustSetHistoryItem = Type.Object({ version: Type.Integer(), trustSet: TrustSet, actor: Type.String(), createdAt: EpochMs });

export const ArtifactSummary = Type.Object({
  id: Type.String(),
  name: Type.String(),
  version: Type.String(),
  type: Type.String(),
  hardware: Type.Array(Type.String()),
  size: Type.Integer(),
  sha256: Type.String(),
  createdAt: EpochMs,
  securityVersion: nullable(Type.Integer()),
  keyId: Type.String(),
  uploadedBy: Type.String(),
  uploadedAt: EpochMs,
});

export const ArtifactView = Type.Object({ ...ArtifactSummary.properties, manifest: Manifest, signature: Signature });

export const ArtifactIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });

export const DownloadParams = Type.Object({ artifactId: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });
