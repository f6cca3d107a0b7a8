/** The sealed private key format shared by sealPrivateKey and openPrivateKey. */
export const SEALED_KEY_VERSION = 'v1';
/** Additional authenticated data: binds the ciphertext to this format and purpose. */
export const SEALED_KEY_AAD = Buffer.from('outpost-key-v1', 'utf8');
export const SEALED_KEY_CIPHER = 'aes-256-gcm';
export const SEALED_KEY_IV_BYTES = 12;
export const SEALED_KEY_TAG_BYTES = 16;
export const SEALED_KEY_SECRET_BYTES = 32;
