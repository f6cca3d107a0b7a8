/*
 * `outpost agent sdcard` against a directory standing in for a mounted boot partition: the files
 * it writes, their modes, cmdline.txt edited once however often it runs, and the refusals. The
 * first-boot script itself runs against a root file system tree in test/test/sdcard-firstboot.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { addFirstrunHook } from '../../src/cli/commands/sdcard/cmdline.js';
import { FIRSTRUN_SCRIPT } from '../../src/cli/commands/sdcard/firstrun-script.js';
import { makeHome, noFetch, outpost } from './cli-harness.js';

const STOCK_CMDLINE = 'console=serial0,115200 console=tty1 root=PARTUUID=2d1e4f3a-02 rootfstype=ext4 fsck.repair=yes rootwait quiet init=/usr/lib/raspberrypi-sys-mods/firstboot\n';
const HOOK = 'systemd.run=/boot/firmware/outpost-firstrun.sh systemd.run_success_action=reboot systemd.run_failure_action=reboot systemd.unit=kernel-command-line.target';
const IMAGER_HOOK = 'systemd.run=/boot/firstrun.sh systemd.run_success_action=reboot systemd.unit=kernel-command-line.target';
const HASH = '$6$salt1234$R3tq0aVn3m6oFqz2vE6x8qkJ0uX1k3Xw8x1c9m3b2c1vJbq0s5a7d9f0g1h2j3k4l5m6n7o8p9q0r1s2t3u4v5';

describe('outpost agent sdcard', () => {
  let home: { dir: string; cleanup: () => Promise<void> };
  let boot: string;
  let bundle: string;
  const run = (args: readonly string[]) => outpost(['agent', 'sdcard', '--bundle', bundle, '--boot', boot, ...args], { home: home.dir, fetch: noFetch });

  beforeEach(async () => {
    home = await makeHome();
    boot = join(home.dir, 'bootfs');
    await mkdir(boot);
    await writeFile(join(boot, 'cmdline.txt'), STOCK_CMDLINE);
    await writeFile(join(boot, 'config.txt'), '[all]\ndtparam=audio=on\n');
    const src = join(home.dir, 'src');
    await mkdir(join(src, 'outpost-bundle'), { recursive: true });
    await writeFile(join(src, 'outpost-bundle', 'install.sh'), '#!/bin/sh\nexit 0\n');
    await writeFile(join(src, 'outpost-bundle', 'bundle.json'), '{"v":1,"token":"oet_secret"}\n');
    bundle = join(home.dir, 'pi.tar.gz');
    const tar = spawnSync('tar', ['-czf', bundle, '-C', src, 'outpost-bundle'], { encoding: 'utf8' });
    expect(tar.status, tar.stderr).toBe(0);
  });
  afterEach(async () => home.cleanup());

  it('writes the bundle, the script, its settings and the cmdline.txt hook; nothing else', async () => {
    const result = await run(['--hostname', 'pi-07']);
    expect(result.stderr).toContain('enrolls once its network is up');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`Wrote outpost-bundle.tar.gz, outpost-firstrun.sh, outpost-firstrun.conf, cmdline.txt to ${boot}.\n`);
    expect((await readdir(boot)).sort()).toEqual(['cmdline.txt', 'config.txt', 'outpost-bundle.tar.gz', 'outpost-firstrun.conf', 'outpost-firstrun.sh']);
    expect(await readFile(join(boot, 'cmdline.txt'), 'utf8')).toBe(`${STOCK_CMDLINE.trimEnd()} ${HOOK}\n`);
    expect(await readFile(join(boot, 'outpost-bundle.tar.gz'))).toEqual(await readFile(bundle));
    expect(await readFile(join(boot, 'outpost-firstrun.sh'), 'utf8')).toBe(FIRSTRUN_SCRIPT);
    expect((await stat(join(boot, 'outpost-firstrun.sh'))).mode & 0o777).toBe(0o755);
    expect((await stat(join(boot, 'outpost-firstrun.conf'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(boot, 'outpost-firstrun.conf'), 'utf8')).toMatch(/\nOUTPOST_HOSTNAME='pi-07'\n$/);
    const syntax = spawnSync('sh', ['-n', join(boot, 'outpost-firstrun.sh')], { encoding: 'utf8' });
    expect(syntax.status, syntax.stderr).toBe(0);
  });

  it('edits cmdline.txt once however often it runs (with --force), and keeps it one line', async () => {
    expect((await run([])).code).toBe(0);
    const first = await readFile(join(boot, 'cmdline.txt'), 'utf8');
    const again = await run(['--force']);
    expect(again.code, again.stderr).toBe(0);
    expect(await readFile(join(boot, 'cmdline.txt'), 'utf8')).toBe(first);
    expect(first.split('\n')).toHaveLength(2);
    expect(first.match(/systemd\.run=/g)).toHaveLength(1);
  });

  it('never replaces an Outpost first boot already on the card without --force', async () => {
    expect((await run([])).code).toBe(0);
    const before = await readFile(join(boot, 'outpost-firstrun.conf'), 'utf8');
    const refused = await run(['--hostname', 'other']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${boot} already holds an Outpost first boot (outpost-firstrun.sh, outpost-firstrun.conf, outpost-bundle.tar.gz, the systemd.run hook in cmdline.txt); pass --force to replace it`);
    expect(await readFile(join(boot, 'outpost-firstrun.conf'), 'utf8')).toBe(before);
  });

  it("keeps Raspberry Pi Imager's firstrun.sh: its hook is replaced by ours, which runs it first, also after a second run", async () => {
    await writeFile(join(boot, 'cmdline.txt'), `${STOCK_CMDLINE.trimEnd()} ${IMAGER_HOOK}\n`);
    await writeFile(join(boot, 'firstrun.sh'), '#!/bin/bash\nexit 0\n');
    const result = await run([]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("The card's own first-boot script (/boot/firstrun.sh) runs first");
    expect(await readFile(join(boot, 'cmdline.txt'), 'utf8')).toBe(`${STOCK_CMDLINE.trimEnd()} ${HOOK}\n`);
    expect(await readFile(join(boot, 'outpost-firstrun.conf'), 'utf8')).toContain("\nOUTPOST_CHAIN='/boot/firstrun.sh'\n");
    expect((await run(['--force'])).code).toBe(0);
    expect(await readFile(join(boot, 'outpost-firstrun.conf'), 'utf8')).toContain("\nOUTPOST_CHAIN='/boot/firstrun.sh'\n");
  });

  it('writes Wi-Fi settings from a file (never the command line), userconf.txt and ssh', async () => {
    await writeFile(join(home.dir, 'psk'), "it's a secret\n");
    await writeFile(join(home.dir, 'hash'), `${HASH}\n`);
    const result = await run(['--wifi-ssid', 'barn', '--wifi-psk-file', join(home.dir, 'psk'), '--wifi-country', 'GB', '--user', 'farmer', '--password-hash-file', join(home.dir, 'hash'), '--ssh']);
    expect(result.code, result.stderr).toBe(0);
    const conf = await readFile(join(boot, 'outpost-firstrun.conf'), 'utf8');
    expect(conf).toContain("OUTPOST_WIFI_SSID='barn'\nOUTPOST_WIFI_PSK='it'\\''s a secret'\nOUTPOST_WIFI_COUNTRY='GB'\n");
    // The shell reads back exactly the passphrase.
    const sourced = spawnSync('sh', ['-c', `. "$1"; printf %s "$OUTPOST_WIFI_PSK"`, 'sh', join(boot, 'outpost-firstrun.conf')], { encoding: 'utf8' });
    expect(sourced.stdout).toBe("it's a secret");
    expect(await readFile(join(boot, 'userconf.txt'), 'utf8')).toBe(`farmer:${HASH}\n`);
    expect((await stat(join(boot, 'userconf.txt'))).mode & 0o777).toBe(0o600);
    expect(await readFile(join(boot, 'ssh'), 'utf8')).toBe('');
  });

  const refusals: readonly (readonly [string, () => Promise<unknown>, readonly string[], RegExp])[] = [
    ['a directory without cmdline.txt', async (): Promise<unknown> => rm(join(boot, 'cmdline.txt')), [], /does not look like a Raspberry Pi boot partition: it has no cmdline\.txt/],
    ['a directory without config.txt', async (): Promise<unknown> => rm(join(boot, 'config.txt')), [], /does not look like a Raspberry Pi boot partition: it has no config\.txt/],
    ['a cmdline.txt of two lines', async (): Promise<unknown> => writeFile(join(boot, 'cmdline.txt'), `${STOCK_CMDLINE}${STOCK_CMDLINE}`), [], /cmdline\.txt has 2 lines/],
    ['a cmdline.txt without root=', async (): Promise<unknown> => writeFile(join(boot, 'cmdline.txt'), 'console=tty1 quiet\n'), [], /names no root= file system/],
    ['a file that is not a bundle', async (): Promise<unknown> => writeFile(bundle, 'not gzip'), [], /is not a gzip'd tar archive/],
    ['a bad host name', async (): Promise<unknown> => undefined, ['--hostname', 'pi_07'], /invalid --hostname "pi_07"/],
    ['a Wi-Fi network without its passphrase file', async (): Promise<unknown> => undefined, ['--wifi-ssid', 'barn'], /--wifi-ssid and --wifi-psk-file go together/],
    ['a passphrase too short', async (): Promise<unknown> => writeFile(join(home.dir, 'psk'), 'short\n'), ['--wifi-ssid', 'barn', '--wifi-psk-file', 'PSK'], /invalid --wifi-psk-file/],
    ['a relative --boot-mount', async (): Promise<unknown> => undefined, ['--boot-mount', 'boot'], /invalid --boot-mount "boot"/],
  ];
  it.each(refusals)('refuses %s and writes nothing', async (_name, setup, args, message) => {
    await setup();
    const before = (await readdir(boot)).sort();
    const cmdline = await readFile(join(boot, 'cmdline.txt'), 'utf8').catch(() => undefined);
    const result = await run(args.map((arg) => (arg === 'PSK' ? join(home.dir, 'psk') : arg)));
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect((await readdir(boot)).sort()).toEqual(before);
    expect(await readFile(join(boot, 'cmdline.txt'), 'utf8').catch(() => undefined)).toBe(cmdline);
  });

  it('says when the bundle carries no Node.js runtime, and not when it does', async () => {
    const without = await run([]);
    expect(without.stderr).toContain('Note: the bundle carries no Node.js runtime');
    const src = join(home.dir, 'src');
    await mkdir(join(src, 'outpost-bundle', 'runtime', 'bin'), { recursive: true });
    await writeFile(join(src, 'outpost-bundle', 'runtime', 'bin', 'node'), '#!/bin/sh\n', { mode: 0o755 });
    expect(spawnSync('tar', ['-czf', bundle, '-C', src, 'outpost-bundle']).status).toBe(0);
    const withRuntime = await run(['--force']);
    expect(withRuntime.code, withRuntime.stderr).toBe(0);
    expect(withRuntime.stderr).not.toContain('no Node.js runtime');
  });

  it('refuses a bundle without install.sh', async () => {
    const src = join(home.dir, 'other');
    await mkdir(join(src, 'outpost-bundle'), { recursive: true });
    await writeFile(join(src, 'outpost-bundle', 'bundle.json'), '{}');
    spawnSync('tar', ['-czf', bundle, '-C', src, 'outpost-bundle']);
    const result = await run([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('it is not an Outpost bundle: outpost-bundle/install.sh missing');
  });
});

describe('addFirstrunHook', () => {
  it.each([
    ['a stock line', STOCK_CMDLINE, `${STOCK_CMDLINE.trimEnd()} ${HOOK}\n`, undefined],
    ['a line without a final newline', STOCK_CMDLINE.trimEnd(), `${STOCK_CMDLINE.trimEnd()} ${HOOK}\n`, undefined],
    ['our own hook (idempotent)', `${STOCK_CMDLINE.trimEnd()} ${HOOK}\n`, `${STOCK_CMDLINE.trimEnd()} ${HOOK}\n`, undefined],
    ["Imager's hook (chained)", `${STOCK_CMDLINE.trimEnd()} ${IMAGER_HOOK}\n`, `${STOCK_CMDLINE.trimEnd()} ${HOOK}\n`, '/boot/firstrun.sh'],
    ['CRLF and extra spaces', `  root=/dev/mmcblk0p2   rootwait\r\n`, `root=/dev/mmcblk0p2 rootwait ${HOOK}\n`, undefined],
  ])('%s', (_name, input, expected, chained) => {
    const result = addFirstrunHook(input, '/boot/firmware/outpost-firstrun.sh');
    if (!result.ok) throw new Error(result.reason);
    expect(result.edit.text).toBe(expected);
    expect(result.edit.chained).toBe(chained);
    const twice = addFirstrunHook(result.edit.text, '/boot/firmware/outpost-firstrun.sh');
    expect(twice.ok && twice.edit.text).toBe(expected);
    expect(twice.ok && twice.edit.changed).toBe(false);
  });
});
