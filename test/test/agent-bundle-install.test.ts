/*
 * install.sh and the launcher (edge-agent/install/), run as real `sh` processes against a
 * --root directory instead of / and without systemd. The bundle here is laid out like the
 * real one, with a stand-in agent whose main.js records how it was started; the real bundle
 * and the real agent are exercised in agent-bundle.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { chmod, cp, lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const HAS_SYSTEMCTL = spawnSync('systemctl', ['--version']).status === 0;

const INSTALL_DIR = fileURLToPath(new URL('../../edge-agent/install/', import.meta.url));
const NODE_DIR = dirname(process.execPath);
const BASE_PATH = `${NODE_DIR}:/usr/local/bin:/usr/bin:/bin`;

/** A stand-in agent: records argv and OUTPOST_AGENT_SLOT, then behaves as `behaviour` says. */
function fakeMain(name: string, behaviour: { exitCode?: number; enrollAs?: string } = {}): string {
  return `
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
const state = args[args.indexOf('--state-dir') + 1];
fs.appendFileSync(process.env.OUTPOST_TEST_LOG, JSON.stringify({ agent: ${JSON.stringify(name)}, args, slot: process.env.OUTPOST_AGENT_SLOT ?? null }) + '\\n');
if (args[0] === 'enroll' && ${JSON.stringify(behaviour.enrollAs ?? null)} !== null) {
  fs.writeFileSync(path.join(state, 'cert.pem'), 'CERT');
  fs.writeFileSync(path.join(state, 'identity.json'), JSON.stringify({ v: 1, deviceId: ${JSON.stringify(behaviour.enrollAs ?? '')} }));
}
if (args[0] === 'enroll' && ${JSON.stringify(behaviour.enrollAs ?? null)} === null) { console.error('enroll: token used up'); process.exit(1); }
process.exit(${behaviour.exitCode ?? 0});
`;
}

interface Bundle {
  readonly dir: string;
}

async function makeBundle(at: string, version: string, main: string): Promise<Bundle> {
  const dir = join(at, 'outpost-bundle');
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'agent', 'dist', 'src'), { recursive: true });
  for (const name of ['install.sh', 'launcher.sh', 'outpost-agent.service', 'outpost-agent-firstboot.service']) await cp(join(INSTALL_DIR, name), join(dir, name));
  await writeFile(join(dir, 'agent', 'package.json'), JSON.stringify({ name: '@outpost/edge-agent', version, type: 'commonjs' }));
  await writeFile(join(dir, 'agent', 'dist', 'src', 'main.js'), main);
  await writeFile(
    join(dir, 'bundle.json'),
    JSON.stringify({ v: 1, server: 'https://platform.example:8443', token: 'oet_test', tokenId: 'et_1', group: 'lab', tags: {}, caFingerprint: `sha256:${'ab'.repeat(32)}`, agentVersion: version }),
  );
  await writeFile(join(dir, 'ca.pem'), '-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n');
  await writeFile(join(dir, 'agent.json'), '{"v":1,"collectors":[{"type":"system","intervalMs":10000}]}\n');
  return { dir };
}

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function sh(script: string, args: readonly string[], env: Record<string, string>): Run {
  const result = spawnSync('sh', [script, ...args], { encoding: 'utf8', env: { PATH: BASE_PATH, ...env }, timeout: 20_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Every path under `root` with its type, mode, size and mtime (a symlink: its target). */
async function snapshot(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      const info = await lstat(path);
      const rel = path.slice(root.length);
      if (info.isSymbolicLink()) out.push(`${rel} -> ${await readlink(path)}`);
      else out.push(`${rel} ${(info.mode & 0o7777).toString(8)} ${info.isDirectory() ? 'dir' : info.size} ${info.mtimeMs}`);
      if (info.isDirectory()) await walk(path);
    }
  };
  await walk(root);
  return out;
}

describe('install.sh', () => {
  let work: string;
  let root: string;
  let log: string;
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'outpost-install-'));
    root = join(work, 'root');
    await mkdir(root);
    log = join(work, 'calls.log');
    await writeFile(log, '');
  });
  afterEach(async () => rm(work, { recursive: true, force: true }));

  const calls = async (): Promise<{ agent: string; args: string[]; slot: string | null }[]> =>
    (await readFile(log, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { agent: string; args: string[]; slot: string | null });

  it('installs into slot a, and a second run changes nothing and says so', async () => {
    const bundle = await makeBundle(work, '1.0.0', fakeMain('v1'));
    const first = sh(join(bundle.dir, 'install.sh'), ['--root', root, '--no-systemd', '--no-enroll'], { OUTPOST_TEST_LOG: log });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('installed agent 1.0.0 into slot a; current -> a');
    expect(first.stdout).toContain('not enrolling (--no-enroll)');
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('a');
    expect(await readFile(join(root, 'opt/outpost-agent/a/dist/src/main.js'), 'utf8')).toBe(fakeMain('v1'));
    expect((await lstat(join(root, 'opt/outpost-agent/launcher'))).mode & 0o777).toBe(0o755);
    expect((await lstat(join(root, 'var/lib/outpost-agent'))).mode & 0o777).toBe(0o700);
    expect(await readFile(join(root, 'var/lib/outpost-agent/bundle-ca.pem'), 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(await readFile(join(root, 'var/lib/outpost-agent/agent.json'), 'utf8')).toContain('"system"');
    expect(await readFile(join(root, 'var/lib/outpost-agent/boot-attempts'), 'utf8')).toBe('0\n');
    await expect(lstat(join(root, 'etc'))).rejects.toThrow(); // --no-systemd: no units
    expect(await calls()).toEqual([]); // --no-enroll: the agent was not run

    const before = await snapshot(root);
    const second = sh(join(bundle.dir, 'install.sh'), ['--root', root, '--no-systemd', '--no-enroll'], { OUTPOST_TEST_LOG: log });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('agent 1.0.0 is already installed (slot a)');
    expect(second.stdout).toMatch(/nothing to do: agent 1\.0\.0 is installed and up to date\n$/);
    expect(await snapshot(root)).toEqual(before);
  });

  it('keeps an existing agent.json', async () => {
    const bundle = await makeBundle(work, '1.0.0', fakeMain('v1'));
    await mkdir(join(root, 'var/lib/outpost-agent'), { recursive: true });
    await writeFile(join(root, 'var/lib/outpost-agent/agent.json'), '{"collectors":[]}');
    const run = sh(join(bundle.dir, 'install.sh'), ['--root', root, '--no-systemd', '--no-enroll'], { OUTPOST_TEST_LOG: log });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('keeping the existing');
    expect(await readFile(join(root, 'var/lib/outpost-agent/agent.json'), 'utf8')).toBe('{"collectors":[]}');
  });

  it('puts a different agent into the other slot and switches current, keeping the old one for rollback', async () => {
    const v1 = await makeBundle(work, '1.0.0', fakeMain('v1'));
    expect(sh(join(v1.dir, 'install.sh'), ['--root', root, '--no-systemd', '--no-enroll'], { OUTPOST_TEST_LOG: log }).code).toBe(0);
    await writeFile(join(root, 'var/lib/outpost-agent/boot-attempts'), '2\n');
    await writeFile(join(root, 'var/lib/outpost-agent/rollback'), 'b a 1\n');

    const v2 = await makeBundle(work, '2.0.0', fakeMain('v2'));
    const run = sh(join(v2.dir, 'install.sh'), ['--root', root, '--no-systemd', '--no-enroll'], { OUTPOST_TEST_LOG: log });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('installed agent 2.0.0 into slot b; current -> b (slot a kept for rollback)');
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('b');
    expect(await readFile(join(root, 'opt/outpost-agent/a/dist/src/main.js'), 'utf8')).toBe(fakeMain('v1'));
    expect(await readFile(join(root, 'opt/outpost-agent/b/dist/src/main.js'), 'utf8')).toBe(fakeMain('v2'));
    // A fresh activation: clean boot count, no stale rollback report.
    expect(await readFile(join(root, 'var/lib/outpost-agent/boot-attempts'), 'utf8')).toBe('0\n');
    await expect(lstat(join(root, 'var/lib/outpost-agent/rollback'))).rejects.toThrow();

    const v3 = await makeBundle(work, '3.0.0', fakeMain('v3'));
    expect(sh(join(v3.dir, 'install.sh'), ['--root', root, '--no-systemd', '--no-enroll'], { OUTPOST_TEST_LOG: log }).code).toBe(0);
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('a');
    expect(await readFile(join(root, 'opt/outpost-agent/b/dist/src/main.js'), 'utf8')).toBe(fakeMain('v2'));
    expect(await readdir(join(root, 'opt/outpost-agent'))).toEqual(['a', 'b', 'current', 'launcher']);
  });

  it('enrolls with the bundle token, CA and state dir, and not again once enrolled', async () => {
    const bundle = await makeBundle(work, '1.0.0', fakeMain('v1', { enrollAs: 'lab-0001' }));
    const first = sh(join(bundle.dir, 'install.sh'), ['--root', root, '--no-systemd'], { OUTPOST_TEST_LOG: log });
    expect(first.code, first.stderr).toBe(0);
    const state = join(root, 'var/lib/outpost-agent');
    expect(await calls()).toEqual([
      {
        agent: 'v1',
        args: ['enroll', '--server', 'https://platform.example:8443', '--token', 'oet_test', '--ca', join(state, 'bundle-ca.pem'), '--ca-fingerprint', `sha256:${'ab'.repeat(32)}`, '--state-dir', state],
        slot: null,
      },
    ]);
    const second = sh(join(bundle.dir, 'install.sh'), ['--root', root, '--no-systemd'], { OUTPOST_TEST_LOG: log });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('already enrolled as lab-0001');
    expect(second.stdout).toContain('nothing to do');
    expect((await calls()).length).toBe(1);
  });

  it('fails with a clear message when enrollment fails', async () => {
    const bundle = await makeBundle(work, '1.0.0', fakeMain('v1'));
    const run = sh(join(bundle.dir, 'install.sh'), ['--root', root, '--no-systemd'], { OUTPOST_TEST_LOG: log });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('enroll: token used up');
    expect(run.stderr).toContain("enrollment failed (see above). If the token was used or has expired, make a new bundle with 'outpost agent bundle --group lab'");
  });

  it('refuses a Node.js older than 20, and a missing node, before touching anything', async () => {
    const bundle = await makeBundle(work, '1.0.0', fakeMain('v1'));
    const fakeBin = join(work, 'old-node');
    await mkdir(fakeBin);
    await writeFile(join(fakeBin, 'node'), '#!/bin/sh\necho v18.20.4\n');
    await chmod(join(fakeBin, 'node'), 0o755);
    const old = spawnSync('sh', [join(bundle.dir, 'install.sh'), '--root', root, '--no-systemd'], { encoding: 'utf8', env: { PATH: `${fakeBin}:/usr/bin:/bin` } });
    expect(old.status).toBe(1);
    expect(old.stderr).toBe(`outpost-agent install: error: Node.js v18.20.4 at ${join(fakeBin, 'node')} is too old: the agent needs Node.js 20 or newer\n`);
    expect(await readdir(root)).toEqual([]);

    const emptyBin = join(work, 'no-node');
    await mkdir(emptyBin);
    for (const tool of ['dirname']) await symlink(`/usr/bin/${tool}`, join(emptyBin, tool)).catch(() => symlink(`/bin/${tool}`, join(emptyBin, tool)));
    const none = spawnSync('/bin/sh', [join(bundle.dir, 'install.sh'), '--root', root], { encoding: 'utf8', env: { PATH: emptyBin } });
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/node was not found on PATH: install Node\.js 20 or newer/);
    expect(await readdir(root)).toEqual([]);
  });

  it.skipIf(!HAS_SYSTEMCTL)('with systemd under --root: installs the units, enables the agent and records which node to run', async () => {
    const bundle = await makeBundle(work, '1.0.0', fakeMain('v1'));
    const first = sh(join(bundle.dir, 'install.sh'), ['--root', root, '--no-enroll'], { OUTPOST_TEST_LOG: log });
    expect(first.code, first.stderr).toBe(0);
    const units = join(root, 'etc/systemd/system');
    expect(await readFile(join(units, 'outpost-agent.service'), 'utf8')).toBe(await readFile(join(INSTALL_DIR, 'outpost-agent.service'), 'utf8'));
    expect(await readFile(join(units, 'outpost-agent-firstboot.service'), 'utf8')).toBe(await readFile(join(INSTALL_DIR, 'outpost-agent-firstboot.service'), 'utf8'));
    expect(await readFile(join(units, 'outpost-agent.service.d/node.conf'), 'utf8')).toBe(`[Service]\nEnvironment=OUTPOST_AGENT_NODE=${process.execPath}\n`);
    expect(await readlink(join(units, 'multi-user.target.wants/outpost-agent.service'))).toBe('/etc/systemd/system/outpost-agent.service');
    // The firstboot unit is only enabled by whoever prepares an SD card image.
    await expect(lstat(join(units, 'multi-user.target.wants/outpost-agent-firstboot.service'))).rejects.toThrow();

    const before = await snapshot(root);
    const second = sh(join(bundle.dir, 'install.sh'), ['--root', root, '--no-enroll'], { OUTPOST_TEST_LOG: log });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('nothing to do');
    expect(await snapshot(root)).toEqual(before);
  });

  it('first boot: the unit extracts the bundle from the boot partition, installs it and renames it so it runs once', async () => {
    await makeBundle(work, '1.0.0', fakeMain('v1'));
    const boot = join(root, 'boot/firmware');
    await mkdir(boot, { recursive: true });
    const tarred = spawnSync('tar', ['-czf', join(boot, 'outpost-bundle.tar.gz'), '-C', work, 'outpost-bundle']);
    expect(tarred.status).toBe(0);
    // The unit's command as systemd runs it ($$ is a literal $), pointed at the test root.
    const unit = (await readFile(join(INSTALL_DIR, 'outpost-agent-firstboot.service'), 'utf8')).replace(/\\\n/g, ' ');
    const execStart = /^ExecStart=\/bin\/sh -c '(.*)'$/m.exec(unit)?.[1];
    expect(execStart).toBeDefined();
    const installCall = 'sh "$d/outpost-bundle/install.sh";';
    let script = (execStart ?? '').replace(/\$\$/g, () => '$');
    expect(script).toContain(installCall);
    script = script.replaceAll('/boot/', `${root}/boot/`).replace(installCall, () => `sh "$d/outpost-bundle/install.sh" --root ${root} --no-systemd --no-enroll;`);
    const run = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', env: { PATH: BASE_PATH } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain('installed agent 1.0.0 into slot a');
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('a');
    expect(await readdir(boot)).toEqual(['outpost-bundle.tar.gz.installed']);
    expect(unit).toMatch(/ConditionPathExists=\|\/boot\/firmware\/outpost-bundle\.tar\.gz/);
    expect(unit).toMatch(/ConditionPathExists=\|\/boot\/outpost-bundle\.tar\.gz/);
  });

  it('refuses unknown options and a directory that is not a bundle', async () => {
    const bundle = await makeBundle(work, '1.0.0', fakeMain('v1'));
    const unknown = sh(join(bundle.dir, 'install.sh'), ['--rooot', root], {});
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown option '--rooot'");
    const help = sh(join(bundle.dir, 'install.sh'), ['--help'], {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--no-systemd');
    await rm(join(bundle.dir, 'bundle.json'));
    const notBundle = sh(join(bundle.dir, 'install.sh'), ['--root', root, '--no-systemd'], {});
    expect(notBundle.code).toBe(1);
    expect(notBundle.stderr).toContain('is not an extracted Outpost bundle');
  });
});

describe('the launcher', () => {
  let work: string;
  let root: string;
  let log: string;
  let state: string;
  const launcher = join(INSTALL_DIR, 'launcher.sh');
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'outpost-launcher-'));
    root = join(work, 'root');
    state = join(root, 'var/lib/outpost-agent');
    log = join(work, 'calls.log');
    await writeFile(log, '');
  });
  afterEach(async () => rm(work, { recursive: true, force: true }));

  async function slot(name: 'a' | 'b', exitCode: number): Promise<void> {
    await mkdir(join(root, 'opt/outpost-agent', name, 'dist/src'), { recursive: true });
    await writeFile(join(root, 'opt/outpost-agent', name, 'dist/src/main.js'), fakeMain(`slot-${name}`, { exitCode }));
  }
  const point = async (to: 'a' | 'b'): Promise<void> => {
    await rm(join(root, 'opt/outpost-agent/current'), { force: true });
    await symlink(to, join(root, 'opt/outpost-agent/current'));
  };
  const start = (...extra: string[]): Run => sh(launcher, ['--root', root, '--max-attempts', '2', ...extra], { OUTPOST_TEST_LOG: log });
  const attempts = async (): Promise<string> => (await readFile(join(state, 'boot-attempts'), 'utf8')).trim();
  const lastCall = async (): Promise<{ agent: string; args: string[]; slot: string | null } | undefined> => {
    const all = (await readFile(log, 'utf8')).split('\n').filter((l) => l !== '');
    const last = all.at(-1);
    return last === undefined ? undefined : (JSON.parse(last) as { agent: string; args: string[]; slot: string | null });
  };

  it('counts a boot attempt before every start and runs the current slot with run --state-dir', async () => {
    await slot('a', 0);
    await point('a');
    expect(start('--', '--log-level', 'debug').code).toBe(0);
    expect(await attempts()).toBe('1');
    expect(await lastCall()).toEqual({ agent: 'slot-a', args: ['run', '--state-dir', state, '--log-level', 'debug'], slot: 'a' });
    expect(start().code).toBe(0);
    expect(await attempts()).toBe('2');
    // The agent writes 0 once healthy: the count starts again.
    await writeFile(join(state, 'boot-attempts'), '0\n');
    expect(start().code).toBe(0);
    expect(await attempts()).toBe('1');
  });

  it('rolls back to the previous slot when the current one keeps failing', async () => {
    await slot('a', 0);
    await slot('b', 3);
    await point('b');
    expect(start().code).toBe(3);
    expect(start().code).toBe(3);
    expect(await attempts()).toBe('2');
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('b');

    const third = start();
    expect(third.code).toBe(0);
    expect(third.stderr).toContain('slot b started 2 times without becoming healthy: rolling back to slot a');
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('a');
    expect(await lastCall()).toMatchObject({ agent: 'slot-a', slot: 'a' });
    expect(await attempts()).toBe('1');
    expect(await readFile(join(state, 'rollback'), 'utf8')).toMatch(/^b a \d+\n$/);
  });

  it('does not flip-flop when the slot it rolled back to fails too', async () => {
    await slot('a', 4);
    await slot('b', 3);
    await point('b');
    for (let i = 0; i < 3; i += 1) start();
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('a');
    start();
    const again = start();
    expect(again.code).toBe(4);
    expect(again.stderr).toContain('slot a started 2 times without becoming healthy; no other slot to roll back to');
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('a');
    expect(await attempts()).toBe('3');
  });

  it('keeps starting the only slot there is', async () => {
    await slot('a', 5);
    await point('a');
    for (let i = 0; i < 3; i += 1) expect(start().code).toBe(5);
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('a');
    expect(await attempts()).toBe('3');
  });

  it('says clearly when no agent is installed', async () => {
    const run = start();
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`outpost-agent launcher: error: no agent installed: ${join(root, 'opt/outpost-agent')}/current is missing (run install.sh from a bundle)\n`);
  });
});
