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
/** useradd and chown to another user need root; as anyone else install.sh says what to do by hand. */
const IS_ROOT = process.getuid?.() === 0;
const HAS_USERADD = spawnSync('sh', ['-c', 'command -v useradd']).status === 0;
/** This machine in Node's architecture names, as install.sh names it in its advice. */
const MACHINE_ARCH = ({ x64: 'x64', arm64: 'arm64', arm: 'armv7l' } as Record<string, string>)[process.arch] ?? process.arch;

const INSTALL_DIR = fileURLToPath(new URL('../../edge-agent/install/', import.meta.url));
const NODE_DIR = dirname(process.execPath);
const BASE_PATH = `${NODE_DIR}:/usr/local/bin:/usr/bin:/bin`;

/**
 * A stand-in agent: records argv, OUTPOST_AGENT_SLOT and (enroll --token-file -) the token read
 * from stdin, then behaves as `behaviour` says; an enroll without enrollAs fails with enrollExit.
 */
function fakeMain(name: string, behaviour: { exitCode?: number; enrollAs?: string; enrollExit?: number } = {}): string {
  return `
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
const state = args[args.indexOf('--state-dir') + 1];
const stdinToken = args[0] === 'enroll' && args[args.indexOf('--token-file') + 1] === '-' ? fs.readFileSync(0, 'utf8') : null;
fs.appendFileSync(process.env.OUTPOST_TEST_LOG, JSON.stringify({ agent: ${JSON.stringify(name)}, args, slot: process.env.OUTPOST_AGENT_SLOT ?? null, ...(stdinToken === null ? {} : { stdinToken }) }) + '\\n');
if (args[0] === 'enroll' && ${JSON.stringify(behaviour.enrollAs ?? null)} !== null) {
  fs.writeFileSync(path.join(state, 'cert.pem'), 'CERT');
  fs.writeFileSync(path.join(state, 'identity.json'), JSON.stringify({ v: 1, deviceId: ${JSON.stringify(behaviour.enrollAs ?? '')} }));
}
if (args[0] === 'enroll' && ${JSON.stringify(behaviour.enrollAs ?? null)} === null) { console.error('enroll: it failed'); process.exit(${behaviour.enrollExit ?? 3}); }
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
  for (const name of ['install.sh', 'launcher.sh', 'helper.sh', 'outpost-agent.service', 'outpost-agent-firstboot.service', 'outpost-agent-helper.service', 'outpost-agent-helper.path']) {
    await cp(join(INSTALL_DIR, name), join(dir, name));
  }
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

  const calls = async (): Promise<{ agent: string; args: string[]; slot: string | null; stdinToken?: string }[]> =>
    (await readFile(log, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { agent: string; args: string[]; slot: string | null; stdinToken?: string });

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
    await expect(lstat(join(root, 'etc/systemd'))).rejects.toThrow(); // --no-systemd: no units
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
    expect(await readdir(join(root, 'opt/outpost-agent'))).toEqual(['a', 'b', 'current', 'helper', 'launcher']);
  });

  it('enrolls with the bundle token (on stdin, never in argv), CA and state dir, and not again once enrolled', async () => {
    const bundle = await makeBundle(work, '1.0.0', fakeMain('v1', { enrollAs: 'lab-0001' }));
    const first = sh(join(bundle.dir, 'install.sh'), ['--root', root, '--no-systemd'], { OUTPOST_TEST_LOG: log });
    expect(first.code, first.stderr).toBe(0);
    const state = join(root, 'var/lib/outpost-agent');
    expect(await calls()).toEqual([
      {
        agent: 'v1',
        args: ['enroll', '--server', 'https://platform.example:8443', '--token-file', '-', '--ca', join(state, 'bundle-ca.pem'), '--ca-fingerprint', `sha256:${'ab'.repeat(32)}`, '--state-dir', state],
        slot: null,
        stdinToken: 'oet_test\n',
      },
    ]);
    // Nothing install.sh runs carries the token on its command line (ps would show it).
    expect(JSON.stringify((await calls()).map((c) => c.args))).not.toContain('oet_test');
    expect(await readFile(join(bundle.dir, 'install.sh'), 'utf8')).not.toMatch(/--token "/);
    const second = sh(join(bundle.dir, 'install.sh'), ['--root', root, '--no-systemd'], { OUTPOST_TEST_LOG: log });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('already enrolled as lab-0001');
    expect(second.stdout).toContain('nothing to do');
    expect((await calls()).length).toBe(1);
  });

  it('says a new bundle is needed only when the platform refused the token (exit 3)', async () => {
    const bundle = await makeBundle(work, '1.0.0', fakeMain('v1', { enrollExit: 3 }));
    const run = sh(join(bundle.dir, 'install.sh'), ['--root', root, '--no-systemd'], { OUTPOST_TEST_LOG: log });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('enroll: it failed');
    expect(run.stderr).toContain("enrollment failed: the platform refused the bundle's token (see above: used up, expired or revoked). Make a new bundle with 'outpost agent bundle --group lab'");
  });

  it('says the token is still unused when enrollment crashed or could not reach the platform', async () => {
    const mains = [fakeMain('v1', { enrollExit: 1 }), 'syntax error here (an agent too new for this Node)'];
    for (const [i, main] of mains.entries()) {
      const at = join(work, `case-${i}`);
      await mkdir(join(at, 'root'), { recursive: true });
      const bundle = await makeBundle(at, '1.0.0', main);
      const run = sh(join(bundle.dir, 'install.sh'), ['--root', join(at, 'root'), '--no-systemd'], { OUTPOST_TEST_LOG: log });
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/enrollment failed \(see above; exit 1\)\. The platform did not take the token, so it is still unused: fix the cause \(network, time, Node\.js\) and run this install\.sh again\n$/);
      expect(run.stderr).not.toContain('make a new bundle');
    }
  });

  it('refuses a Node.js older than 20, and a missing node, before touching anything', async () => {
    const bundle = await makeBundle(work, '1.0.0', fakeMain('v1'));
    const fakeBin = join(work, 'old-node');
    await mkdir(fakeBin);
    await writeFile(join(fakeBin, 'node'), '#!/bin/sh\necho v18.20.4\n');
    await chmod(join(fakeBin, 'node'), 0o755);
    const old = spawnSync('sh', [join(bundle.dir, 'install.sh'), '--root', root, '--no-systemd'], { encoding: 'utf8', env: { PATH: `${fakeBin}:/usr/bin:/bin` } });
    expect(old.status).toBe(1);
    expect(old.stderr).toBe(
      `outpost-agent install: error: Node.js v18.20.4 at ${join(fakeBin, 'node')} is too old: the agent needs Node.js 20 or newer; or use a bundle that carries Node.js (outpost agent bundle --arch ${MACHINE_ARCH})\n`,
    );
    expect(await readdir(root)).toEqual([]);

    const emptyBin = join(work, 'no-node');
    await mkdir(emptyBin);
    for (const tool of ['dirname']) await symlink(`/usr/bin/${tool}`, join(emptyBin, tool)).catch(() => symlink(`/bin/${tool}`, join(emptyBin, tool)));
    const none = spawnSync('/bin/sh', [join(bundle.dir, 'install.sh'), '--root', root], { encoding: 'utf8', env: { PATH: emptyBin } });
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/node was not found on PATH: install Node\.js 20 or newer/);
    expect(await readdir(root)).toEqual([]);
  });

  it("uses the bundle's own Node.js when the system's is too old, outside the slots, and refuses one for another architecture", async () => {
    const bundle = await makeBundle(work, '1.0.0', fakeMain('v1'));
    // The bundle's runtime (issue 17): a node for this machine (here: one that runs the test's node).
    await mkdir(join(bundle.dir, 'runtime/bin'), { recursive: true });
    await writeFile(join(bundle.dir, 'runtime/bin/node'), `#!/bin/sh\nexec ${process.execPath} "$@"\n`);
    await chmod(join(bundle.dir, 'runtime/bin/node'), 0o755);
    await writeFile(join(bundle.dir, 'runtime/LICENSE'), 'Node.js licence\n');
    const runtimeJson = (arch: string): string => `${JSON.stringify({ v: 1, arch, version: '20.11.0', nodeSha256: 'ab', source: 'test' }, null, 2)}\n`;
    await writeFile(join(bundle.dir, 'runtime/runtime.json'), runtimeJson(MACHINE_ARCH));
    const oldBin = join(work, 'old-node');
    await mkdir(oldBin);
    await writeFile(join(oldBin, 'node'), '#!/bin/sh\necho v18.20.4\n');
    await chmod(join(oldBin, 'node'), 0o755);
    const install = (args: readonly string[] = []): Run => {
      const r = spawnSync('sh', [join(bundle.dir, 'install.sh'), '--root', root, '--no-systemd', '--no-enroll', ...args], { encoding: 'utf8', env: { PATH: `${oldBin}:/usr/bin:/bin`, OUTPOST_TEST_LOG: log } });
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };

    const system = install(['--runtime', 'system']);
    expect(system.code).toBe(1);
    expect(system.stderr).toContain(`Node.js v18.20.4 at ${join(oldBin, 'node')} is too old: the agent needs Node.js 20 or newer (--runtime system)`);

    const first = install();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`installed the bundle's Node.js 20.11.0 (${MACHINE_ARCH}) into ${root}/opt/outpost-agent/runtime (Node.js v18.20.4 at ${join(oldBin, 'node')} is too old`);
    expect(first.stdout).toContain('later: /opt/outpost-agent/runtime/bin/node /opt/outpost-agent/current/dist/src/main.js enroll');
    expect((await lstat(join(root, 'opt/outpost-agent/runtime/bin/node'))).mode & 0o777).toBe(0o755);
    expect(await readFile(join(root, 'opt/outpost-agent/runtime/LICENSE'), 'utf8')).toBe('Node.js licence\n');
    const again = install();
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`using the bundle's Node.js 20.11.0 (${MACHINE_ARCH}), already in ${root}/opt/outpost-agent/runtime`);
    expect(again.stdout).toContain('nothing to do');

    const other = MACHINE_ARCH === 'arm64' ? 'x64' : 'arm64';
    await writeFile(join(bundle.dir, 'runtime/runtime.json'), runtimeJson(other));
    const wrong = install();
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(new RegExp(`the bundle's Node\\.js is for ${other}, but this machine is \\S+ \\(${MACHINE_ARCH}\\): make a bundle with --arch ${MACHINE_ARCH}`));
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
    // The root helper's units: the path unit is enabled and starts the oneshot on a request.
    for (const name of ['outpost-agent-helper.service', 'outpost-agent-helper.path']) {
      expect(await readFile(join(units, name), 'utf8')).toBe(await readFile(join(INSTALL_DIR, name), 'utf8'));
    }
    expect(await readlink(join(units, 'multi-user.target.wants/outpost-agent-helper.path'))).toBe('/etc/systemd/system/outpost-agent-helper.path');

    const before = await snapshot(root);
    const second = sh(join(bundle.dir, 'install.sh'), ['--root', root, '--no-enroll'], { OUTPOST_TEST_LOG: log });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('nothing to do');
    expect(await snapshot(root)).toEqual(before);
  });

  it('runs the agent as its own system user: the unit has User=, hardening, and root only for the launcher count', async () => {
    const unit = await readFile(join(INSTALL_DIR, 'outpost-agent.service'), 'utf8');
    const lines = unit.split('\n');
    for (const line of [
      'User=outpost-agent',
      'Group=outpost-agent',
      'ExecStartPre=+/opt/outpost-agent/launcher --count-only',
      'ExecStart=/opt/outpost-agent/launcher --no-count -- --reboot-command "/opt/outpost-agent/helper request reboot"',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ReadWritePaths=/var/lib/outpost-agent',
    ]) {
      expect(lines, line).toContain(line);
    }
    expect(unit).not.toMatch(/^User=root/m);
    expect(await readFile(join(INSTALL_DIR, 'outpost-agent-helper.service'), 'utf8')).toMatch(/^ExecStart=\/opt\/outpost-agent\/helper run-request$/m);
    expect(await readFile(join(INSTALL_DIR, 'outpost-agent-helper.path'), 'utf8')).toMatch(/^PathExists=\/var\/lib\/outpost-agent\/helper-request$/m);
  });

  it.skipIf(!IS_ROOT || !HAS_USERADD)('creates the system user outpost-agent in --root DIR/etc/passwd and hands it the state dir (0700), /opt stays root', async () => {
    const bundle = await makeBundle(work, '1.0.0', fakeMain('v1', { enrollAs: 'lab-0002' }));
    const run = sh(join(bundle.dir, 'install.sh'), ['--root', root, '--no-systemd'], { OUTPOST_TEST_LOG: log });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('created the system user outpost-agent (no login)');
    const entry = (await readFile(join(root, 'etc/passwd'), 'utf8')).split('\n').find((l) => l.startsWith('outpost-agent:'));
    expect(entry).toMatch(/^outpost-agent:[^:]*:(\d+):(\d+):[^:]*:\/var\/lib\/outpost-agent:\/(usr\/)?sbin\/nologin$/);
    const [uid, gid] = (entry ?? '').split(':').slice(2, 4).map(Number);
    expect(uid).toBeLessThan(1000); // a system account
    expect(await readFile(join(root, 'etc/group'), 'utf8')).toMatch(new RegExp(`^outpost-agent:[^:]*:${gid}:`, 'm'));
    const state = join(root, 'var/lib/outpost-agent');
    for (const path of [state, join(state, 'identity.json'), join(state, 'agent.json'), join(state, 'bundle-ca.pem')]) {
      const info = await lstat(path);
      expect([path, info.uid, info.gid]).toEqual([path, uid, gid]);
    }
    expect((await lstat(state)).mode & 0o777).toBe(0o700);
    for (const path of ['opt/outpost-agent', 'opt/outpost-agent/launcher', 'opt/outpost-agent/helper', 'opt/outpost-agent/a/dist/src/main.js']) {
      expect([path, (await lstat(join(root, path))).uid]).toEqual([path, 0]);
    }
    // Never the host's own user database.
    expect(await readFile('/etc/passwd', 'utf8')).not.toContain(`${root}`);
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

  it('runs node with small-heap flags, which OUTPOST_AGENT_NODE_FLAGS replaces or empties, and refuses anything but node options', async () => {
    await slot('a', 0);
    await writeFile(join(root, 'opt/outpost-agent/a/dist/src/main.js'), "require('node:fs').appendFileSync(process.env.OUTPOST_TEST_LOG, JSON.stringify(process.execArgv) + '\\n');\n");
    await point('a');
    const execArgv = async (): Promise<unknown> => JSON.parse((await readFile(log, 'utf8')).trim().split('\n').at(-1) ?? 'null');
    const run = (env: Record<string, string>): Run => sh(launcher, ['--root', root], { OUTPOST_TEST_LOG: log, ...env });
    expect(run({}).code).toBe(0);
    expect(await execArgv()).toEqual(['--max-semi-space-size=1', '--max-old-space-size=32', '--lite-mode', '--no-expose-wasm']);
    // Node 24 refuses --no-expose-wasm (issue 17: the arm64 runtime in bundles is 24): a node that says it is 24 runs without it.
    const node24 = join(root, 'node24');
    await writeFile(node24, `#!/bin/sh\n[ "$1" = --version ] && { echo v24.0.0; exit 0; }\nexec ${process.execPath} "$@"\n`);
    await chmod(node24, 0o755);
    expect(run({ OUTPOST_AGENT_NODE: node24 }).code).toBe(0);
    expect(await execArgv()).toEqual(['--max-semi-space-size=1', '--max-old-space-size=32', '--lite-mode']);
    expect(run({ OUTPOST_AGENT_NODE_FLAGS: '--max-old-space-size=48' }).code).toBe(0);
    expect(await execArgv()).toEqual(['--max-old-space-size=48']);
    expect(run({ OUTPOST_AGENT_NODE_FLAGS: '' }).code).toBe(0);
    expect(await execArgv()).toEqual([]);
    const refused = run({ OUTPOST_AGENT_NODE_FLAGS: '--max-old-space-size=32; touch pwned' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('OUTPOST_AGENT_NODE_FLAGS may hold only node options');
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

describe('the launcher, split as the unit runs it', () => {
  let work: string;
  let root: string;
  let log: string;
  let state: string;
  const launcher = join(INSTALL_DIR, 'launcher.sh');
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'outpost-launcher-split-'));
    root = join(work, 'root');
    state = join(root, 'var/lib/outpost-agent');
    log = join(work, 'calls.log');
    await writeFile(log, '');
    for (const name of ['a', 'b']) {
      await mkdir(join(root, 'opt/outpost-agent', name, 'dist/src'), { recursive: true });
      await writeFile(join(root, 'opt/outpost-agent', name, 'dist/src/main.js'), fakeMain(`slot-${name}`));
    }
    await symlink('b', join(root, 'opt/outpost-agent/current'));
  });
  afterEach(async () => rm(work, { recursive: true, force: true }));
  const start = (...extra: string[]): Run => sh(launcher, ['--root', root, '--max-attempts', '2', ...extra], { OUTPOST_TEST_LOG: log });

  it('--count-only counts and rolls back without starting the agent; --no-count starts it without counting', async () => {
    expect(start('--count-only').code).toBe(0);
    expect(start('--count-only').code).toBe(0);
    expect(await readFile(log, 'utf8')).toBe('');
    expect((await readFile(join(state, 'boot-attempts'), 'utf8')).trim()).toBe('2');
    const third = start('--count-only');
    expect(third.stderr).toContain('rolling back to slot a');
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('a');
    expect(await readFile(log, 'utf8')).toBe('');

    expect(start('--no-count', '--', '--log-level', 'debug').code).toBe(0);
    expect(JSON.parse((await readFile(log, 'utf8')).trim())).toEqual({ agent: 'slot-a', args: ['run', '--state-dir', state, '--log-level', 'debug'], slot: 'a' });
    expect((await readFile(join(state, 'boot-attempts'), 'utf8')).trim()).toBe('1');
  });

  it('never writes through a link the agent user planted in its state dir (the count runs as root)', async () => {
    await mkdir(state, { recursive: true });
    const victim = join(work, 'victim');
    await writeFile(victim, 'precious\n');
    for (const name of ['boot-attempts.tmp', 'rollback.tmp']) await symlink(victim, join(state, name));
    for (let i = 0; i < 3; i += 1) expect(start('--count-only').code).toBe(0);
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('a');
    expect(await readFile(victim, 'utf8')).toBe('precious\n');
    expect((await lstat(join(state, 'boot-attempts'))).isFile()).toBe(true);
  });
});

describe('the root helper', () => {
  let work: string;
  let root: string;
  let state: string;
  const helper = join(INSTALL_DIR, 'helper.sh');
  beforeEach(async () => {
    work = await mkdtemp(join(tmpdir(), 'outpost-helper-'));
    root = join(work, 'root');
    state = join(root, 'var/lib/outpost-agent');
    await mkdir(state, { recursive: true });
    await mkdir(join(root, 'opt/outpost-agent/a/dist/src'), { recursive: true });
    await writeFile(join(root, 'opt/outpost-agent/a/dist/src/main.js'), '');
    await symlink('a', join(root, 'opt/outpost-agent/current'));
  });
  afterEach(async () => rm(work, { recursive: true, force: true }));
  const helperRun = (args: readonly string[], env: Record<string, string> = {}): Run => sh(helper, ['--root', root, ...args], env);

  it('switches the slot only to one that holds an agent, with a clean boot count', async () => {
    const refused = helperRun(['switch-slot-b']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('slot b holds no agent');
    await mkdir(join(root, 'opt/outpost-agent/b/dist/src'), { recursive: true });
    await writeFile(join(root, 'opt/outpost-agent/b/dist/src/main.js'), '');
    await writeFile(join(state, 'boot-attempts'), '2\n');
    await writeFile(join(state, 'rollback'), 'b a 1\n');
    expect(helperRun(['switch-slot-b']).code).toBe(0);
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('b');
    expect(await readFile(join(state, 'boot-attempts'), 'utf8')).toBe('0\n');
    await expect(lstat(join(state, 'rollback'))).rejects.toThrow();
  });

  it('does what the agent requested, if it is a fixed verb, and removes the request', async () => {
    const rebooted = join(work, 'rebooted');
    expect(helperRun(['request', 'reboot']).code).toBe(0);
    expect(await readFile(join(state, 'helper-request'), 'utf8')).toBe('reboot\n');
    const done = helperRun(['run-request'], { OUTPOST_AGENT_REBOOT_COMMAND: `touch ${rebooted}` });
    expect(done.code, done.stderr).toBe(0);
    expect((await lstat(rebooted)).isFile()).toBe(true);
    await expect(lstat(join(state, 'helper-request'))).rejects.toThrow();
  });

  it('refuses anything else: other verbs, arguments, a forged request, a planted link', async () => {
    expect(helperRun(['request', 'reboot; rm -rf /']).stderr).toContain('request takes one of reboot, switch-slot-a, switch-slot-b');
    expect(helperRun(['request', 'switch-slot-a', 'now']).code).toBe(1);
    expect(helperRun(['sh']).stderr).toContain("unknown verb 'sh'");

    await writeFile(join(state, 'helper-request'), 'cat /etc/shadow\n');
    const forged = helperRun(['run-request'], { OUTPOST_AGENT_REBOOT_COMMAND: 'false' });
    expect(forged.code).toBe(1);
    expect(forged.stderr).toBe('outpost-agent helper: error: refused a request that is none of reboot, switch-slot-a, switch-slot-b, install-slot-a, install-slot-b\n');
    await expect(lstat(join(state, 'helper-request'))).rejects.toThrow();

    const target = join(work, 'says-reboot');
    await writeFile(target, 'reboot\n');
    await symlink(target, join(state, 'helper-request'));
    const linked = helperRun(['run-request'], { OUTPOST_AGENT_REBOOT_COMMAND: `touch ${join(work, 'must-not-exist')}` });
    expect(linked.code).toBe(1);
    expect(linked.stderr).toContain('not a plain file: nothing done');
    await expect(lstat(join(work, 'must-not-exist'))).rejects.toThrow();
    await expect(lstat(join(state, 'helper-request'))).rejects.toThrow();
    expect(await readFile(target, 'utf8')).toBe('reboot\n');
  });
});
