import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverParts } from '../../src/server/parts.js';
import { ADMIN_PASSWORD, startTestPlatform, type TestPlatform } from '../helpers/test-platform.js';
import { makeHome, outpost, type CliResult } from './cli-harness.js';

const PASSPHRASE = 'a long passphrase for tests';

describe('outpost keys and outpost firmware against a running platform', () => {
  let t: TestPlatform;
  let home: { dir: string; cleanup: () => Promise<void> };
  let env: Record<string, string>;
  const run = (argv: string[], extraEnv: Record<string, string> = {}): Promise<CliResult> => outpost(argv, { home: home.dir, env: { ...env, ...extraEnv } });
  const file = (name: string): string => join(home.dir, name);
  let keyA = '';
  let keyB = '';

  beforeAll(async () => {
    t = await startTestPlatform({ parts: serverParts() });
    home = await makeHome();
    env = { OUTPOST_SERVER: t.url, OUTPOST_TOKEN: await t.login('admin', ADMIN_PASSWORD), OUTPOST_KEY_PASSPHRASE: PASSPHRASE };
  });
  afterAll(async () => {
    await t.close();
    await home.cleanup();
  });

  it('creates an encrypted key file (0600) and its public key, and prints the key id', async () => {
    const res = await run(['keys', 'create', '--out', file('a.pem')]);
    expect(res.code).toBe(0);
    keyA = res.stdout.trim();
    expect(keyA).toMatch(/^sha256:[0-9a-f]{32}$/);
    expect((await stat(file('a.pem'))).mode & 0o777).toBe(0o600);
    expect(await readFile(file('a.pem'), 'utf8')).toContain('-----BEGIN ENCRYPTED PRIVATE KEY-----');
    expect(await readFile(file('a.pem.pub'), 'utf8')).toContain('-----BEGIN PUBLIC KEY-----');
  });

  it('never overwrites a key file, and needs a passphrase unless told otherwise', async () => {
    const again = await run(['keys', 'create', '--out', file('a.pem')]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/exists/);
    const none = await outpost(['keys', 'create', '--out', file('c.pem')], { home: home.dir, env: { OUTPOST_SERVER: t.url } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no passphrase/);
    const plain = await run(['keys', 'create', '--no-passphrase', '--out', file('b.pem')]);
    expect(plain.code).toBe(0);
    keyB = plain.stdout.trim();
    expect(await readFile(file('b.pem'), 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');
  });

  it('registers the first key (signed by itself), then a second signed by the first', async () => {
    const first = await run(['keys', 'register', '--key', file('a.pem')]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Registered ${keyA}: TrustSet version 1`);

    const unsigned = await run(['keys', 'register', '--key', file('b.pem.pub')]);
    expect(unsigned.code).toBe(2);
    expect(unsigned.stderr).toMatch(/--sign-with/);

    const wrongPassphrase = await run(['keys', 'register', '--key', file('b.pem.pub'), '--sign-with', file('a.pem')], { OUTPOST_KEY_PASSPHRASE: 'not it' });
    expect(wrongPassphrase.code).toBe(1);
    expect(wrongPassphrase.stderr).toMatch(/passphrase is wrong/);

    const second = await run(['keys', 'register', '--key', file('b.pem.pub'), '--sign-with', file('a.pem')]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('TrustSet version 2 holds 2 key(s)');
    const list = await run(['keys', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(keyA);
    expect(list.stdout).toContain(keyB);
  });

  it('refuses a change signed by a key the set does not trust, with the server\'s code', async () => {
    expect((await run(['keys', 'create', '--no-passphrase', '--out', file('stranger.pem')])).code).toBe(0);
    const res = await run(['keys', 'remove', keyA, '--sign-with', file('stranger.pem')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/OTA_TRUST_SIGNATURE_INVALID/);
  });

  it('removes the first key with a set signed by the second', async () => {
    const res = await run(['keys', 'remove', keyA, '--sign-with', file('b.pem')]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('TrustSet version 3 holds 1 key(s)');
    const answer = await t.request('GET', '/api/v1/signing-keys', { token: env['OUTPOST_TOKEN'] ?? '' });
    expect((answer.body as { keys: { keyId: string }[] }).keys.map((k) => k.keyId)).toEqual([keyB]);
  });

  it('signs offline, uploads, lists and deletes firmware; a re-upload is harmless', async () => {
    const artifact = file('app.tar.gz');
    await writeFile(artifact, randomBytes(1024 * 1024 + 4096));
    const signed = await run(['firmware', 'sign', '--key', file('b.pem'), '--name', 'freezer-app', '--version', '1.4.0', '--type', 'archive', '--hardware', 'rpi4,rpi5', '--security-version', '3', '--health-cmd', 'true', artifact, '--out', file('app.json')]);
    expect(signed.stderr).toMatch(/Signed freezer-app 1\.4\.0 .*2 chunks/);
    expect(signed.code).toBe(0);
    const id = signed.stdout.trim();
    const manifest = JSON.parse(await readFile(file('app.json'), 'utf8')) as { manifest: { id: string; chunkSize: number; securityVersion: number; hardware: string[] }; signature: { keyId: string } };
    expect(manifest.manifest).toMatchObject({ id, chunkSize: 1024 * 1024, securityVersion: 3, hardware: ['rpi4', 'rpi5'] });
    expect(manifest.signature.keyId).toBe(keyB);

    const uploaded = await run(['firmware', 'upload', artifact, '--manifest', file('app.json')]);
    expect(uploaded.stderr).toBe('');
    expect(uploaded.code).toBe(0);
    expect(uploaded.stdout).toMatch(new RegExp(`^Uploaded ${id} freezer-app 1\\.4\\.0`));
    const again = await run(['firmware', 'upload', artifact, '--manifest', file('app.json')]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^Already stored:/);

    const list = await run(['firmware', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(id);
    expect(list.stdout).toContain('freezer-app');

    const deleted = await run(['firmware', 'delete', id]);
    expect(deleted.code).toBe(0);
    expect((await run(['firmware', 'list'])).stderr).toMatch(/No firmware artifacts/);
  });

  it('reports a tampered artifact with the server\'s code, and a manifest of another size before sending', async () => {
    const artifact = file('tampered.bin');
    const bytes = randomBytes(200_000);
    await writeFile(artifact, bytes);
    expect((await run(['firmware', 'sign', '--key', file('b.pem'), '--name', 'x', '--version', '1.0.0', '--type', 'script', '--hardware', 'any', artifact, '--out', file('t.json')])).code).toBe(0);
    bytes[100] = (bytes[100] ?? 0) ^ 1;
    await writeFile(artifact, bytes);
    const tampered = await run(['firmware', 'upload', artifact, '--manifest', file('t.json')]);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toMatch(/OTA_ARTIFACT_DIGEST_MISMATCH/);
    await writeFile(artifact, bytes.subarray(1));
    const shorter = await run(['firmware', 'upload', artifact, '--manifest', file('t.json')]);
    expect(shorter.code).toBe(1);
    expect(shorter.stderr).toMatch(/the manifest says 200000/);
  });

  it('documents every subcommand in --help', async () => {
    const keys = await run(['keys', '--help']);
    expect(keys.code).toBe(0);
    for (const sub of ['create', 'register', 'remove', 'list']) expect(keys.stdout).toContain(sub);
    const firmware = await run(['firmware', 'sign', '--help']);
    expect(firmware.code).toBe(0);
    expect(firmware.stdout).toContain('--security-version');
  });
});

describe('outpost firmware upload refused while it streams', () => {
  it('prints the server\'s coded refusal of an oversized artifact, not a broken connection', async () => {
    const t = await startTestPlatform({ parts: serverParts(), env: { OUTPOST_FIRMWARE_MAX_BYTES: '1 MiB' } });
    const home = await makeHome();
    try {
      const env = { OUTPOST_SERVER: t.url, OUTPOST_TOKEN: await t.login('admin', ADMIN_PASSWORD) };
      const run = (argv: string[]): Promise<CliResult> => outpost(argv, { home: home.dir, env });
      const file = (name: string): string => join(home.dir, name);
      expect((await run(['keys', 'create', '--no-passphrase', '--out', file('k.pem')])).code).toBe(0);
      expect((await run(['keys', 'register', '--key', file('k.pem')])).code).toBe(0);
      await writeFile(file('big.bin'), randomBytes(8 * 1024 * 1024));
      expect((await run(['firmware', 'sign', '--key', file('k.pem'), '--name', 'big', '--version', '1.0.0', '--type', 'archive', '--hardware', 'any', file('big.bin'), '--out', file('big.json')])).code).toBe(0);
      const res = await run(['firmware', 'upload', file('big.bin'), '--manifest', file('big.json')]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/OTA_ARTIFACT_TOO_LARGE/);
    } finally {
      await t.close();
      await home.cleanup();
    }
  });
});
