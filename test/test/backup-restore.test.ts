/**
 * `outpost backup create` against a running `outpost server` process with devices, a rule and a
 * firmware release, then `outpost backup restore` into an empty data dir and a new server on it:
 * the same CA (a device's existing certificate connects over MQTT), the same devices and rules,
 * and the firmware blob downloads with the same SHA-256. Refusals: one byte of the archive
 * altered, a content entry altered (archive re-compressed), a wrong secret key, a non-empty
 * target, a PostgreSQL state database — each leaves the target as it was.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_ADMIN_PASSWORD, connectDevice, enrollDevices, serviceTimeoutMs, startServerProcess, waitFor, type DeviceCredentials, type DeviceIdentity, type ServerProcess } from '@outpost/e2e';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../platform/dist/src/cli/main.js', import.meta.url));

async function outpost(args: readonly string[], cwd: string, env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env['PATH'] ?? '', ...env } });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function login(url: string): Promise<{ token: string; get: <T>(path: string) => Promise<T>; post: <T>(path: string, body: unknown) => Promise<T> }> {
  const res = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: SERVER_ADMIN_PASSWORD }) });
  expect(res.status).toBe(200);
  const { token } = (await res.json()) as { token: string };
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const answer = await fetch(`${url}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await answer.text();
    if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return { token, get: (path) => call('GET', path), post: (path, body) => call('POST', path, body) };
}

/** GET on the device listener with the device's client certificate; answers the status and the body's SHA-256. */
function deviceDownload(deviceUrl: string, path: string, device: DeviceIdentity): Promise<{ status: number; sha256: string; size: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${deviceUrl}${path}`, { key: device.keyPem, cert: device.certPem, ca: device.caPem }, (res) => {
      const hash = createHash('sha256');
      let size = 0;
      res.on('data', (b: Buffer) => {
        hash.update(b);
        size += b.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, sha256: hash.digest('hex'), size }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const RULE = {
  id: 'backup-warm',
  name: 'Too warm (backup test)',
  kind: 'threshold',
  scope: { groups: ['bench'] },
  metric: 'temperature',
  condition: '>',
  threshold: 30,
  forMs: 0,
  severity: 'warning',
  cooldownMs: 0,
  enabled: true,
};

describe('outpost backup create / restore', () => {
  let root: string;
  let source: string;
  let server: ServerProcess | undefined;
  let restored: ServerProcess | undefined;
  let devices: DeviceIdentity[];
  let archive: string;
  let artifact: { id: string; sha256: string; size: number };
  let caBefore: string;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'outpost-backup-e2e-'));
    source = join(root, 'source');
    await mkdir(source);
    server = await startServerProcess(source, { OUTPOST_OTA_TICK: '1s' }, { timeoutMs: serviceTimeoutMs(60_000) });
  }, serviceTimeoutMs(90_000));

  afterAll(async () => {
    await restored?.stop();
    await server?.stop();
    if (root !== undefined) await rm(root, { recursive: true, force: true });
  });

  it('backs up a running server with devices, a rule and a firmware release', { timeout: serviceTimeoutMs(120_000) }, async () => {
    const live = server as ServerProcess;
    devices = await enrollDevices(live, ['bk-dev-01', 'bk-dev-02']);
    const api = await login(live.operatorUrl);
    await api.post('/rules', RULE);
    caBefore = (await api.get<{ chainPem: string }>('/ca')).chainPem;
    const remote = ['--server', live.operatorUrl, '--token', api.token];
    expect((await outpost(['keys', 'create', '--out', 'release.pem', '--no-passphrase'], source)).code).toBe(0);
    expect((await outpost(['keys', 'register', '--key', 'release.pem', ...remote], source)).code).toBe(0);
    await writeFile(join(source, 'app.bin'), randomBytes(300 * 1024));
    const signed = await outpost(['firmware', 'sign', '--key', 'release.pem', '--name', 'backup-app', '--version', '1.0.0', '--type', 'archive', '--hardware', 'test-board', 'app.bin', '--out', 'app.json'], source);
    expect(signed.code, signed.out).toBe(0);
    const uploaded = await outpost(['firmware', 'upload', 'app.bin', '--manifest', 'app.json', ...remote], source);
    expect(uploaded.code, uploaded.out).toBe(0);
    const list = await api.get<{ items: { id: string; sha256: string; size: number }[] }>('/firmware');
    expect(list.items).toHaveLength(1);
    artifact = list.items[0] as { id: string; sha256: string; size: number };

    archive = join(root, 'outpost-backup.tar.gz');
    const made = await outpost(['backup', 'create', archive, ...remote], source);
    expect(made.code, made.out).toBe(0);
    expect(made.out).toContain('the state database and 1 firmware blob');
    expect(made.out).toContain('The secret key file is not in the archive');
    expect((await stat(archive)).mode & 0o777).toBe(0o600);
    // Never over an existing file.
    const again = await outpost(['backup', 'create', archive, ...remote], source);
    expect(again.code).not.toBe(0);
    expect(again.out).toContain('exists');
    // Audited like every other change.
    const audit = await api.get<{ items: { action: string; outcome: string }[] }>('/audit?action=backups');
    expect(audit.items.filter((e) => e.action === 'backups.create' && e.outcome === 'success').length).toBeGreaterThanOrEqual(1);
    await live.stop();
    server = undefined;
  });

  it('refuses a damaged or altered archive, a wrong key, a non-empty target and PostgreSQL, leaving the target empty', { timeout: serviceTimeoutMs(60_000) }, async () => {
    const key = join(source, 'outpost-secret.key');
    const bytes = await readFile(archive);
    // One byte of the compressed file flipped.
    const flipped = Buffer.from(bytes);
    const at = Math.floor(flipped.length / 2);
    flipped[at] = (flipped[at] ?? 0) ^ 0xff;
    await writeFile(join(root, 'flipped.tar.gz'), flipped);
    // One byte of the state database changed, the archive re-compressed: gzip is intact, the SHA-256 is not.
    const tar = gunzipSync(bytes);
    tar[512 + 2000] = (tar[512 + 2000] ?? 0) ^ 0x01;
    await writeFile(join(root, 'altered.tar.gz'), gzipSync(tar));
    await writeFile(join(root, 'wrong.key'), `${randomBytes(32).toString('hex')}\n`);

    const cases: [string, string[], Record<string, string>, RegExp][] = [
      ['flipped', ['backup', 'restore', join(root, 'flipped.tar.gz'), '--data-dir', join(root, 'flipped-data'), '--secret-key-file', key], {}, /BACKUP_ARCHIVE_INVALID|BACKUP_ENTRY_MISMATCH/],
      ['altered', ['backup', 'restore', join(root, 'altered.tar.gz'), '--data-dir', join(root, 'altered-data'), '--secret-key-file', key], {}, /state\.db does not match the manifest.*BACKUP_ENTRY_MISMATCH/],
      ['wrong key', ['backup', 'restore', archive, '--data-dir', join(root, 'wrong-key-data'), '--secret-key-file', join(root, 'wrong.key')], {}, /not the one this backup's CA and keys are sealed with.*BACKUP_SECRET_KEY_MISMATCH/],
      ['postgres', ['backup', 'restore', archive, '--data-dir', join(root, 'pg-data'), '--secret-key-file', key], { OUTPOST_DATABASE_URL: 'postgres://outpost@127.0.0.1/outpost' }, /use pg_dump/],
    ];
    for (const [name, args, env, reason] of cases) {
      const refused = await outpost(args, root, env);
      expect(refused.code, `${name}: ${refused.out}`).not.toBe(0);
      expect(refused.out, name).toMatch(reason);
      const target = args[args.indexOf('--data-dir') + 1] ?? '';
      expect(await readdir(target).catch(() => []), `${name}: the target stays empty`).toEqual([]);
    }
    const busy = join(root, 'busy-data');
    await mkdir(busy);
    await writeFile(join(busy, 'state.db'), 'something else');
    const notEmpty = await outpost(['backup', 'restore', archive, '--data-dir', busy, '--secret-key-file', key], root);
    expect(notEmpty.code).not.toBe(0);
    expect(notEmpty.out).toMatch(/is not empty \(it holds state\.db\).*BACKUP_TARGET_NOT_EMPTY/);
    expect(await readFile(join(busy, 'state.db'), 'utf8')).toBe('something else');
  });

  it('restores into an empty data dir: a new server has the same CA, devices, rules and firmware', { timeout: serviceTimeoutMs(120_000) }, async () => {
    const target = join(root, 'restored');
    await mkdir(target);
    await copyFile(join(source, 'outpost-secret.key'), join(target, 'outpost-secret.key'));
    const done = await outpost(['backup', 'restore', archive, '--data-dir', join(target, 'outpost-data'), '--secret-key-file', join(target, 'outpost-secret.key')], target);
    expect(done.code, done.out).toBe(0);
    expect(done.out).toMatch(/Restored .* into .*outpost-data: 2 entries/);
    restored = await startServerProcess(target, { OUTPOST_OTA_TICK: '1s' }, { timeoutMs: serviceTimeoutMs(60_000) });
    const api = await login(restored.operatorUrl);
    expect((await api.get<{ chainPem: string }>('/ca')).chainPem).toBe(caBefore);
    const listed = await api.get<{ items: { id: string }[] }>('/devices');
    expect(listed.items.map((d) => d.id).sort()).toEqual(['bk-dev-01', 'bk-dev-02']);
    expect(await api.get('/rules/backup-warm')).toMatchObject({ id: 'backup-warm', threshold: 30 });

    // A device's existing certificate (issued before the backup) connects to the new server.
    const device = devices[0] as DeviceIdentity;
    const client = await connectDevice(restored.mqttUrl, device as unknown as DeviceCredentials);
    expect(client.connected).toBe(true);
    await client.endAsync();

    // The firmware blob: a job for the device, then its download has the same size and SHA-256.
    const rollout = await api.post<{ id: string }>('/rollouts', { artifactId: artifact.id, target: { devices: [device.deviceId] }, waves: [{ percent: 100 }], gate: { soak: '1s', deviceTimeout: '5m' } });
    const url = restored.deviceUrl;
    const download = await waitFor(
      async () => {
        const answer = await deviceDownload(url, `/device/v1/firmware/${artifact.id}`, device);
        return answer.status === 200 ? answer : undefined;
      },
      { description: `the download of ${artifact.id} under rollout ${rollout.id}`, timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(download).toEqual({ status: 200, sha256: artifact.sha256, size: artifact.size });
  });
});
