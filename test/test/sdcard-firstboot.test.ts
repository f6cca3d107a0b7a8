/*
 * The SD-card first boot (outpost agent sdcard, docs/raspberry-pi.md) as far as this machine can
 * take it: a real `outpost server`, a real bundle from its API, the real CLI writing onto a
 * directory that stands in for the mounted boot partition, then outpost-firstrun.sh run as the
 * device would run it — stage 1 (systemd.run=) and stage 2 (outpost-firstboot.service) — against a
 * directory tree standing in for the root file system (OUTPOST_FIRSTRUN_ROOT, tests only); stage 2
 * runs the bundle's install.sh --root there, which enrolls against the server.
 * Not exercised here: a real Raspberry Pi OS image, loop devices, the firmware reading cmdline.txt,
 * systemd running the hook and the unit, the reboot between the stages, NetworkManager (see the doc).
 */
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceTimeoutMs } from '../src/index.js';
import { Api, startOutpostServer, type OutpostServer } from './agent-harness.js';

const OUTPOST = fileURLToPath(new URL('../../platform/dist/src/cli/main.js', import.meta.url));
const PATH = `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`;
const TIMEOUT_MS = serviceTimeoutMs(60_000);
const STOCK_CMDLINE = 'console=serial0,115200 console=tty1 root=PARTUUID=2d1e4f3a-02 rootfstype=ext4 fsck.repair=yes rootwait quiet\n';
// What Raspberry Pi Imager's customisation leaves: its hook in cmdline.txt and a firstrun.sh that
// removes itself and every systemd.run argument. This stand-in marks that it ran, in the root tree.
const IMAGER_HOOK = 'systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot systemd.unit=kernel-command-line.target';
const IMAGER_FIRSTRUN = `#!/bin/sh
set -e
touch "$OUTPOST_FIRSTRUN_ROOT/imager-firstrun-ran"
rm -f "$(dirname "$0")/firstrun.sh"
sed -i 's| systemd.run.*||g' "$(dirname "$0")/cmdline.txt"
exit 0
`;

function run(command: string, args: readonly string[], env: Record<string, string>): { code: number | null; out: string } {
  const result = spawnSync(command, args, { encoding: 'utf8', env: { PATH, ...env }, timeout: TIMEOUT_MS });
  return { code: result.status, out: `${result.stdout}${result.stderr}` };
}

describe('an SD card prepared with outpost agent sdcard installs and enrolls on first boot', { timeout: 3 * TIMEOUT_MS }, () => {
  let server: OutpostServer;
  let api: Api;
  let work: string;
  let boot: string;
  let root: string;
  let token: string;

  beforeAll(async () => {
    server = await startOutpostServer({ OUTPOST_PUBLIC_HOST: '127.0.0.1' });
    api = await Api.login(server.info.url);
    work = await mkdtemp(join(tmpdir(), 'outpost-sdcard-'));
    boot = join(work, 'bootfs');
    root = join(work, 'rootfs');
    await mkdir(boot);
    await mkdir(join(root, 'etc'), { recursive: true });
    await writeFile(join(root, 'etc', 'hostname'), 'raspberrypi\n');
    await writeFile(join(root, 'etc', 'hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n');
    await writeFile(join(boot, 'cmdline.txt'), `${STOCK_CMDLINE.trimEnd()} ${IMAGER_HOOK}\n`);
    await writeFile(join(boot, 'config.txt'), '[all]\n');
    await writeFile(join(boot, 'firstrun.sh'), IMAGER_FIRSTRUN, { mode: 0o755 });
  }, TIMEOUT_MS);

  afterAll(async () => {
    await server?.stop();
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('writes the card with the CLI', async () => {
    const res = await fetch(`${server.info.url}/api/v1/agent-bundles`, {
      method: 'POST',
      headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ group: 'pis', ttlSeconds: 3600, allowLoopback: true }),
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const bundle = join(work, 'pi.tar.gz');
    await writeFile(bundle, Buffer.from(await res.arrayBuffer()), { mode: 0o600 });
    const untar = run('tar', ['-xzOf', bundle, 'outpost-bundle/bundle.json'], {});
    token = (JSON.parse(untar.out) as { token: string }).token;
    expect(token.length).toBeGreaterThan(10);
    await writeFile(join(work, 'psk'), 'correct horse battery\n');

    const cli = run(process.execPath, [OUTPOST, 'agent', 'sdcard', '--bundle', bundle, '--boot', boot, '--hostname', 'pi-07', '--wifi-ssid', 'barn', '--wifi-psk-file', join(work, 'psk')], { HOME: work });
    expect(cli.code, cli.out).toBe(0);
    expect((await readdir(boot)).sort()).toEqual(['cmdline.txt', 'config.txt', 'firstrun.sh', 'outpost-bundle.tar.gz', 'outpost-firstrun.conf', 'outpost-firstrun.sh']);
    expect(await readFile(join(boot, 'cmdline.txt'), 'utf8')).toBe(
      `${STOCK_CMDLINE.trimEnd()} systemd.run=/boot/firmware/outpost-firstrun.sh systemd.run_success_action=reboot systemd.run_failure_action=reboot systemd.unit=kernel-command-line.target\n`,
    );
  });

  it('stage 1 (systemd.run): runs Imager\'s script, moves the bundle into the root file system, applies the settings and leaves nothing secret on the boot partition', async () => {
    const stage1 = run(join(boot, 'outpost-firstrun.sh'), [], { OUTPOST_FIRSTRUN_ROOT: root });
    expect(stage1.code, stage1.out).toBe(0);
    expect(stage1.out).toContain('running the chained first-boot script /boot/firstrun.sh');
    await expect(stat(join(root, 'imager-firstrun-ran'))).resolves.toBeDefined();
    // The boot partition: the hook gone, cmdline.txt as the stock image had it, no bundle, no settings, no script.
    expect(await readFile(join(boot, 'cmdline.txt'), 'utf8')).toBe(STOCK_CMDLINE);
    expect((await readdir(boot)).sort()).toEqual(['cmdline.txt', 'config.txt', 'outpost-firstrun.log']);
    const log = await readFile(join(boot, 'outpost-firstrun.log'), 'utf8');
    expect(log).toContain('enabled outpost-firstboot.service for the next boot');
    expect(log).not.toContain(token);
    expect(log).not.toContain('correct horse');
    // The root file system: the bundle and the script for stage 2, root only; the unit enabled.
    const state = join(root, 'var/lib/outpost-firstboot');
    expect((await stat(state)).mode & 0o777).toBe(0o700);
    expect((await stat(join(state, 'outpost-bundle.tar.gz'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(state, 'outpost-firstrun.sh'))).mode & 0o777).toBe(0o700);
    const unit = await readFile(join(root, 'etc/systemd/system/outpost-firstboot.service'), 'utf8');
    expect(unit).toContain('ExecStart=/bin/sh /var/lib/outpost-firstboot/outpost-firstrun.sh install');
    expect(unit).toContain('After=network-online.target');
    expect(await readlink(join(root, 'etc/systemd/system/multi-user.target.wants/outpost-firstboot.service'))).toBe('/etc/systemd/system/outpost-firstboot.service');
    expect(await readFile(join(root, 'etc/hostname'), 'utf8')).toBe('pi-07\n');
    expect(await readFile(join(root, 'etc/hosts'), 'utf8')).toBe('127.0.0.1\tlocalhost\n127.0.1.1\tpi-07\n');
    const wifi = join(root, 'etc/NetworkManager/system-connections/outpost-wifi.nmconnection');
    expect((await stat(wifi)).mode & 0o777).toBe(0o600);
    expect(await readFile(wifi, 'utf8')).toMatch(/\[wifi\]\nmode=infrastructure\nssid=barn\n[\s\S]*\npsk=correct horse battery\n/);
  });

  it('stage 2 with the server unreachable fails and keeps the bundle and the unit, so systemd retries it', async () => {
    await server.kill();
    try {
      const env = { OUTPOST_FIRSTRUN_ROOT: root, OUTPOST_FIRSTRUN_INSTALL_ARGS: '--no-systemd' };
      const failed = run('sh', [join(root, 'var/lib/outpost-firstboot/outpost-firstrun.sh'), 'install'], env);
      expect(failed.code, failed.out).toBe(1);
      expect(failed.out).toContain('install.sh failed (exit 1); the bundle stays in /var/lib/outpost-firstboot and systemd retries in 30 s');
      expect((await stat(join(root, 'var/lib/outpost-firstboot/outpost-bundle.tar.gz'))).isFile()).toBe(true);
      expect(await readlink(join(root, 'etc/systemd/system/multi-user.target.wants/outpost-firstboot.service'))).toBe('/etc/systemd/system/outpost-firstboot.service');
    } finally {
      await server.restart();
    }
  });

  it('stage 2 (outpost-firstboot.service): install.sh installs and enrolls against the server, then the token is deleted and the unit disabled', async () => {
    const env = { OUTPOST_FIRSTRUN_ROOT: root, OUTPOST_FIRSTRUN_INSTALL_ARGS: '--no-systemd' };
    const stage2 = run('sh', [join(root, 'var/lib/outpost-firstboot/outpost-firstrun.sh'), 'install'], env);
    expect(stage2.code, stage2.out).toBe(0);
    expect(stage2.out).toMatch(/enrolling with https:\/\/127\.0\.0\.1:\d+ into group pis/);
    const identity = JSON.parse(await readFile(join(root, 'var/lib/outpost-agent/identity.json'), 'utf8')) as { deviceId: string };
    const devices = await api.ok<{ items: { id: string; group: string; status: string }[] }>('GET', '/devices?group=pis');
    expect(devices.items.map((d) => [d.id, d.group, d.status])).toEqual([[identity.deviceId, 'pis', 'active']]);
    expect(await readlink(join(root, 'opt/outpost-agent/current'))).toBe('a');
    await expect(lstat(join(root, 'var/lib/outpost-firstboot/outpost-bundle.tar.gz'))).rejects.toThrow(/ENOENT/);
    await expect(lstat(join(root, 'etc/systemd/system/multi-user.target.wants/outpost-firstboot.service'))).rejects.toThrow(/ENOENT/);
    // A start after that (the unit's condition would skip it) changes nothing.
    const again = run('sh', [join(root, 'var/lib/outpost-firstboot/outpost-firstrun.sh'), 'install'], env);
    expect(again.code, again.out).toBe(0);
    expect(again.out).toContain('nothing to do');
  });

  it('stage 1 without a bundle fails, and still restores cmdline.txt so the next boot is a normal one', async () => {
    const card = join(work, 'bootfs-2');
    await mkdir(card);
    await writeFile(join(card, 'cmdline.txt'), STOCK_CMDLINE);
    await writeFile(join(card, 'config.txt'), '');
    const cli = run(process.execPath, [OUTPOST, 'agent', 'sdcard', '--bundle', join(work, 'pi.tar.gz'), '--boot', card], { HOME: work });
    expect(cli.code, cli.out).toBe(0);
    await rm(join(card, 'outpost-bundle.tar.gz'));
    const failed = run(join(card, 'outpost-firstrun.sh'), [], { OUTPOST_FIRSTRUN_ROOT: join(work, 'rootfs-2') });
    expect(failed.code).toBe(1);
    expect(failed.out).toContain('error: no outpost-bundle.tar.gz next to this script');
    expect(await readFile(join(card, 'cmdline.txt'), 'utf8')).toBe(STOCK_CMDLINE);
  });
});
