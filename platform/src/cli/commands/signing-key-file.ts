/**
 * The operator's OTA signing key files, as `outpost keys` and `outpost firmware` read and
 * write them: `FILE` holds the Ed25519 private key (PKCS#8 PEM, passphrase-encrypted unless
 * created with --no-passphrase; mode 0600), `FILE.pub` its public key (SPKI PEM). The
 * passphrase comes from OUTPOST_KEY_PASSPHRASE, else a prompt on a terminal, else the first
 * line of stdin.
 */
import { createPublicKey } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { OutpostError } from '@outpost/protocol';
import { createSigningKeyPem, isEncryptedPem, publicKeyOf, readSigningKeyPem, type PublicSigningKey, type SigningKey } from '@outpost/ota/signing';
import { CliError } from '../cli-error.js';
import type { CommandContext } from '../command.js';
import { readSecret } from '../read-secret.js';
import { printable } from '../terminal-text.js';

export const PASSPHRASE_ENV = 'OUTPOST_KEY_PASSPHRASE';

/** An OutpostError of the signing helpers as the CLI's one-line failure. */
export function cliFailure(err: unknown): never {
  if (err instanceof OutpostError) throw new CliError('CLI_FAILED', `${err.message} (${err.code})`, { cause: err });
  throw err;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError('CLI_FAILED', `cannot read ${what} ${printable(path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
}

async function passphrase(ctx: CommandContext, prompt: string, confirm: boolean): Promise<string | undefined> {
  const fromEnv = ctx.io.env[PASSPHRASE_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  return readSecret(ctx.io.stdin, ctx.io.stderr, prompt, { confirm });
}

/** Writes a new key pair to `path` (0600, never over an existing file) and `path.pub`. */
export async function createKeyFiles(ctx: CommandContext, path: string, encrypt: boolean): Promise<PublicSigningKey> {
  let secret: string | undefined;
  if (encrypt) {
    secret = await passphrase(ctx, 'Passphrase for the new signing key: ', true);
    if (secret === undefined) throw ctx.usageError(`no passphrase: set ${PASSPHRASE_ENV}, pipe it on stdin, run in a terminal to be prompted, or pass --no-passphrase`);
  }
  const { pem, key } = createSigningKeyPem(secret);
  const publicPem = createPublicKey({ key: Buffer.from(key.publicKey, 'base64'), format: 'der', type: 'spki' }).export({ type: 'spki', format: 'pem' }).toString();
  try {
    await writeFile(path, pem, { flag: 'wx', mode: 0o600 });
    await writeFile(`${path}.pub`, publicPem, { flag: 'wx', mode: 0o644 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError('CLI_FAILED', code === 'EEXIST' ? `${printable(path)} or ${printable(path)}.pub exists: choose another --out (a key file is never overwritten)` : `cannot write ${printable(path)}: ${code ?? String(err)}`, { cause: err });
  }
  return key;
}

/** The private signing key in `path`, asking for its passphrase when it is encrypted. */
export async function readPrivateKey(ctx: CommandContext, path: string): Promise<SigningKey> {
  const pem = await readText(path, 'the signing key');
  let secret: string | undefined;
  if (isEncryptedPem(pem)) {
    secret = await passphrase(ctx, `Passphrase of ${printable(path)}: `, false);
    if (secret === undefined) throw ctx.usageError(`${printable(path)} is encrypted: set ${PASSPHRASE_ENV}, pipe the passphrase on stdin, or run in a terminal to be prompted`);
  }
  try {
    return readSigningKeyPem(pem, secret);
  } catch (err) {
    return cliFailure(err);
  }
}

/** The public key in `path`: a public key PEM (`FILE.pub`), or a private key file (then its passphrase may be asked). */
export async function readPublicKey(ctx: CommandContext, path: string): Promise<PublicSigningKey> {
  const pem = await readText(path, 'the key');
  if (pem.includes('-----BEGIN PUBLIC KEY-----')) {
    let key;
    try {
      key = createPublicKey({ key: pem, format: 'pem' });
    } catch (err) {
      throw new CliError('CLI_FAILED', `${printable(path)} is not a PEM public key`, { cause: err });
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new CliError('CLI_FAILED', `${printable(path)} is a ${key.asymmetricKeyType ?? 'unknown'} key, not Ed25519`);
    return publicKeyOf(key);
  }
  const { keyId, alg, publicKey } = await readPrivateKey(ctx, path);
  return { keyId, alg, publicKey };
}
