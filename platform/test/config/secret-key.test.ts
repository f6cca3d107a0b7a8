import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, decodeSecretKey, resolveSecretKey, type SecretKeyFs } from '../../src/config/index.js';

const posix = process.platform !== 'win32';

describe('resolveSecretKey', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-secret-key-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('generates a missing key file (mode 0600, parent created) and reads the same key back', async () => {
    const path = join(dir, 'nested', 'outpost-secret.key');
    const first = await resolveSecretKey({ secretKeyFile: path });
    expect(first).toMatchObject({ source: 'file', path, generated: true, warnings: [] });
    expect(first.key).toHaveLength(32);
    expect((await readFile(path, 'utf8')).trim()).toBe(first.key.toString('hex'));
    if (posix) expect((await stat(path)).mode & 0o777).toBe(0o600);

    const second = await resolveSecretKey({ secretKeyFile: path });
    expect(second).toMatchObject({ generated: false, warnings: [] });
    expect(second.key.equals(first.key)).toBe(true);
  });

  it('uses injected randomness for a new key', async () => {
    const path = join(dir, 'k');
    const result = await resolveSecretKey({ secretKeyFile: path }, { randomBytes: (size) => Buffer.alloc(size, 0xab) });
    expect(result.key.toString('hex')).toBe('ab'.repeat(32));
  });

  it('prefers the key given as a value, in hex or base64, without touching the file', async () => {
    const key = Buffer.alloc(32, 3);
    const path = join(dir, 'never-created.key');
    for (const text of [key.toString('hex'), key.toString('base64')]) {
      const result = await resolveSecretKey({ secretKey: text, secretKeyFile: path });
      expect(result).toMatchObject({ source: 'value', generated: false });
      expect(result.key.equals(key)).toBe(true);
    }
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reads a base64 key file', async () => {
    const path = join(dir, 'b64.key');
    await writeFile(path, `${Buffer.alloc(32, 5).toString('base64')}\n`, { mode: 0o600 });
    expect((await resolveSecretKey({ secretKeyFile: path })).key.equals(Buffer.alloc(32, 5))).toBe(true);
  });

  it.runIf(posix)('refuses a key file readable by other users, naming the file and the chmod that fixes it', async () => {
    const path = join(dir, 'loose.key');
    await writeFile(path, 'cd'.repeat(32));
    await chmod(path, 0o644);
    await expect(resolveSecretKey({ secretKeyFile: path })).rejects.toMatchObject({
      code: 'CONFIG_SECRET_KEY_INSECURE',
      message: `secret key file ${path} is accessible by other users (mode 0644); run: chmod 600 ${path} (or set OUTPOST_ALLOW_INSECURE_KEY_MODE=true to start anyway)`,
    });
  });

  it.runIf(posix)('only warns about a loose key file when OUTPOST_ALLOW_INSECURE_KEY_MODE is set', async () => {
    const path = join(dir, 'loose.key');
    await writeFile(path, 'cd'.repeat(32));
    await chmod(path, 0o640);
    const result = await resolveSecretKey({ secretKeyFile: path, allowInsecureKeyMode: true });
    expect(result.warnings).toEqual([`secret key file ${path} is accessible by other users (mode 0640); run: chmod 600 ${path} (starting anyway: OUTPOST_ALLOW_INSECURE_KEY_MODE=true)`]);
  });

  it('refuses a key file with bad content and never overwrites it', async () => {
    const path = join(dir, 'bad.key');
    await writeFile(path, 'not-a-key-at-all', { mode: 0o600 });
    const error = await resolveSecretKey({ secretKeyFile: path }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'CONFIG_SECRET_KEY_INVALID' });
    expect(String((error as Error).message)).toContain(path);
    expect(String((error as Error).message)).not.toContain('not-a-key-at-all');
    expect(await readFile(path, 'utf8')).toBe('not-a-key-at-all');
  });

  it('refuses an invalid key value without printing it', async () => {
    await expect(resolveSecretKey({ secretKey: 'tooshort', secretKeyFile: join(dir, 'k') })).rejects.toSatisfy(
      (error: unknown) => error instanceof ConfigError && error.code === 'CONFIG_SECRET_KEY_INVALID' && !error.message.includes('tooshort'),
    );
  });

  it('reports a key file it cannot read or write, with the cause', async () => {
    await expect(resolveSecretKey({ secretKeyFile: dir })).rejects.toMatchObject({ code: 'CONFIG_SECRET_KEY_UNREADABLE' });
    const fs: SecretKeyFs = {
      readFile: () => Promise.reject(Object.assign(new Error('missing'), { code: 'ENOENT' })),
      writeFile: () => Promise.reject(Object.assign(new Error('read-only'), { code: 'EROFS' })),
      mkdir: () => Promise.resolve(undefined),
      stat: () => Promise.resolve({ mode: 0o600 }),
    };
    const error = await resolveSecretKey({ secretKeyFile: '/ro/key' }, { fs }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'CONFIG_SECRET_KEY_WRITE_FAILED' });
    expect((error as Error).cause).toMatchObject({ code: 'EROFS' });
  });

  it('uses the key another process wrote between its read and its write', async () => {
    const theirs = 'ef'.repeat(32);
    let reads = 0;
    const fs: SecretKeyFs = {
      readFile: () => (reads++ === 0 ? Promise.reject(Object.assign(new Error('missing'), { code: 'ENOENT' })) : Promise.resolve(theirs)),
      writeFile: () => Promise.reject(Object.assign(new Error('exists'), { code: 'EEXIST' })),
      mkdir: () => Promise.resolve(undefined),
      stat: () => Promise.resolve({ mode: 0o100600 }),
    };
    const result = await resolveSecretKey({ secretKeyFile: '/k' }, { fs });
    expect(result).toMatchObject({ generated: false, warnings: [] });
    expect(result.key.toString('hex')).toBe(theirs);
  });
});

describe('decodeSecretKey', () => {
  it('accepts 64 hex or 44 base64 characters and nothing else', () => {
    expect(decodeSecretKey(` ${'AB'.repeat(32)}\n`)).toHaveLength(32);
    expect(decodeSecretKey(Buffer.alloc(32, 1).toString('base64'))).toHaveLength(32);
    for (const bad of ['', 'ab'.repeat(31), 'ab'.repeat(33), 'zz'.repeat(32), Buffer.alloc(31).toString('base64'), Buffer.alloc(33).toString('base64')]) {
      expect(decodeSecretKey(bad)).toBeUndefined();
    }
  });
});
