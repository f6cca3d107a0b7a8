import { randomBytes as nodeRandomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConfigError } from './config-error.js';
import type { OutpostConfig } from '@outpost/kernel';

/** Length of the secret key in bytes. */
export const SECRET_KEY_BYTES = 32;

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^[A-Za-z0-9+/]{43}=$/;

/**
 * Decodes a secret key given as 64 hex characters or 44 base64 characters
 * (surrounding whitespace ignored); undefined when it is neither.
 */
export function decodeSecretKey(text: string): Buffer | undefined {
  const trimmed = text.trim();
  if (HEX_KEY.test(trimmed)) return Buffer.from(trimmed, 'hex');
  if (BASE64_KEY.test(trimmed)) {
    const key = Buffer.from(trimmed, 'base64');
    return key.length === SECRET_KEY_BYTES ? key : undefined;
  }
  return undefined;
}

/** The file operations `resolveSecretKey` needs; node:fs/promises by default. */
export interface SecretKeyFs {
  readFile(path: string): Promise<string>;
  /** Must fail with code EEXIST when `flag` is `wx` and the file exists. */
  writeFile(path: string, data: string, options: { mode: number; flag: 'wx' }): Promise<void>;
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<unknown>;
  stat(path: string): Promise<{ mode: number }>;
}

export interface SecretKeyDeps {
  readonly fs?: SecretKeyFs;
  readonly randomBytes?: (size: number) => Buffer;
  /** Permission bits are only checked on POSIX systems. */
  readonly platform?: NodeJS.Platform;
}

export interface ResolvedSecretKey {
  /** 32 bytes. */
  readonly key: Buffer;
  /** `value`: from OUTPOST_SECRET_KEY; `file`: read from (or generated into) the key file. */
  readonly source: 'value' | 'file';
  /** The key file read or written (absent when the key came from a value). */
  readonly path?: string;
  /** True when the key file was missing and a new key was written to it. */
  readonly generated: boolean;
  /** E.g. a key file readable by other users while OUTPOST_ALLOW_INSECURE_KEY_MODE=true. */
  readonly warnings: readonly string[];
}

const nodeFs: SecretKeyFs = {
  readFile: (path) => readFile(path, 'utf8'),
  writeFile: (path, data, options) => writeFile(path, data, options),
  mkdir: (path, options) => mkdir(path, options),
  stat: (path) => stat(path),
};

const INVALID_KEY_TEXT = 'expected 64 hex characters or 44 base64 characters (32 bytes)';

/**
 * The 32-byte key that encrypts server-held keys at rest: OUTPOST_SECRET_KEY
 * when set, else the key file. A missing file is generated (random key, hex,
 * mode 0600, parent directories created); an existing file is never
 * overwritten, since a new key could not decrypt data sealed with the old one.
 */
export async function resolveSecretKey(
  config: Pick<OutpostConfig, 'secretKey' | 'secretKeyFile'> & Partial<Pick<OutpostConfig, 'allowInsecureKeyMode'>>,
  deps: SecretKeyDeps = {},
): Promise<ResolvedSecretKey> {
  if (config.secretKey !== undefined) {
    const key = decodeSecretKey(config.secretKey);
    if (key === undefined) {
      throw new ConfigError('CONFIG_SECRET_KEY_INVALID', `OUTPOST_SECRET_KEY (value hidden): ${INVALID_KEY_TEXT}`);
    }
    return { key, source: 'value', generated: false, warnings: [] };
  }
  const fs = deps.fs ?? nodeFs;
  const path = config.secretKeyFile;
  const text = await readKeyFile(fs, path);
  if (text === undefined) {
    const generated = await generateKeyFile(fs, path, deps.randomBytes ?? nodeRandomBytes);
    if (generated !== undefined) return { key: generated, source: 'file', path, generated: true, warnings: [] };
    // Another process created it between our read and write: use theirs.
  }
  const content = text ?? (await readKeyFile(fs, path)) ?? '';
  const key = decodeSecretKey(content);
  if (key === undefined) {
    throw new ConfigError(
      'CONFIG_SECRET_KEY_INVALID',
      `secret key file ${path} does not hold a valid key: ${INVALID_KEY_TEXT}; ` +
        'restore it from your backup (a new key cannot decrypt existing data)',
    );
  }
  const warnings = await checkPermissions(fs, path, deps.platform ?? process.platform, config.allowInsecureKeyMode === true);
  return { key, source: 'file', path, generated: false, warnings };
}

/** The file's text, or undefined when it does not exist. */
async function readKeyFile(fs: SecretKeyFs, path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw new ConfigError(
      'CONFIG_SECRET_KEY_UNREADABLE',
      `cannot read secret key file ${path} (${errorCode(error) ?? 'error'}); check OUTPOST_SECRET_KEY_FILE and its permissions`,
      { cause: error },
    );
  }
}

/** Writes a new key; undefined when the file appeared meanwhile. */
async function generateKeyFile(
  fs: SecretKeyFs,
  path: string,
  randomBytes: (size: number) => Buffer,
): Promise<Buffer | undefined> {
  const key = randomBytes(SECRET_KEY_BYTES);
  try {
    await fs.mkdir(dirname(path), { recursive: true, mode: 0o700 });
    await fs.writeFile(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    if (errorCode(error) === 'EEXIST') return undefined;
    throw new ConfigError(
      'CONFIG_SECRET_KEY_WRITE_FAILED',
      `cannot create secret key file ${path} (${errorCode(error) ?? 'error'}); set OUTPOST_SECRET_KEY_FILE to a writable path or OUTPOST_SECRET_KEY`,
      { cause: error },
    );
  }
}

/**
 * A key file group or others can access is refused (issue 11, D7): whoever reads it can open
 * the CA key and every sealed secret. OUTPOST_ALLOW_INSECURE_KEY_MODE=true turns the refusal
 * into a warning.
 */
async function checkPermissions(fs: SecretKeyFs, path: string, platform: NodeJS.Platform, allowInsecure: boolean): Promise<string[]> {
  if (platform === 'win32') return [];
  const { mode } = await fs.stat(path);
  if ((mode & 0o077) === 0) return [];
  const shown = (mode & 0o777).toString(8).padStart(3, '0');
  if (!allowInsecure) {
    throw new ConfigError(
      'CONFIG_SECRET_KEY_INSECURE',
      `secret key file ${path} is accessible by other users (mode 0${shown}); run: chmod 600 ${path} ` +
        '(or set OUTPOST_ALLOW_INSECURE_KEY_MODE=true to start anyway)',
    );
  }
  return [`secret key file ${path} is accessible by other users (mode 0${shown}); run: chmod 600 ${path} (starting anyway: OUTPOST_ALLOW_INSECURE_KEY_MODE=true)`];
}

function errorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}
