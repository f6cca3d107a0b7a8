/** Operator-side OTA signing (offline, no server): `@outpost/ota/signing`, used by `outpost keys` and `outpost firmware`. */
export { createSigningKeyPem, readSigningKeyPem, isEncryptedPem, keyIdOf, publicKeyOf, importPublicKey, signBytes, verifyBytes, type PublicSigningKey, type SigningKey } from './signing-keys.js';
export { EMPTY_TRUST_SET, buildTrustSet, signTrustSet, checkTrustSet, checkSuccessor, validSigners } from './trust-sets.js';
export { DEFAULT_CHUNK_SIZE, ArtifactDigest, digestFile, buildManifest, checkManifest, signManifest, type ManifestFields, type SignedManifest } from './manifests.js';
