/**
 * `outpost agent sdcard`: puts an install bundle and a first-boot hook onto a mounted Raspberry Pi
 * OS boot partition, so that a stock image installs and enrolls the agent on its first boot without
 * any change to its root file system beforehand (docs/raspberry-pi.md: what bookworm honours, the
 * stages, what was tested). Everything is checked before the first byte is written.
 */
import { copyFile, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, posix, resolve } from 'node:path';
import { CliError } from '../cli-error.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { printable } from '../terminal-text.js';
import { checkBundleFile } from './sdcard/bundle-check.js';
import { chainOf, checkHostname, checkUserconf, checkWifi, renderConf } from './sdcard/boot-settings.js';
import type { BootSettings } from './sdcard/boot-settings.js';
import { addFirstrunHook } from './sdcard/cmdline.js';
import { BOOT_BUNDLE_NAME, FIRSTRUN_CONF_NAME, FIRSTRUN_SCRIPT, FIRSTRUN_SCRIPT_NAME } from './sdcard/firstrun-script.js';

const DEFAULT_BOOT_MOUNT = '/boot/firmware';

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() === true;
}

async function readSmallFile(ctx: CommandContext, flag: string): Promise<string> {
  const path = resolve(ctx.string(flag) ?? '');
  const info = await stat(path).catch(() => undefined);
  if (info?.isFile() !== true) throw ctx.usageError(`--${flag} ${path} is not a file`);
  if (info.size > 4096) throw ctx.usageError(`--${flag} ${path} is ${info.size} bytes; it should hold one line`);
  return readFile(path, 'utf8');
}

/** Writes next to the target, then renames: a card pulled out half-way never holds half a file. */
async function writeAtomic(path: string, data: string | Buffer, mode: number): Promise<void> {
  const tmp = `${path}.outpost-tmp`;
  await rm(tmp, { force: true });
  await writeFile(tmp, data, { mode });
  await rename(tmp, path);
}

async function copyAtomic(from: string, to: string): Promise<void> {
  const tmp = `${to}.outpost-tmp`;
  await rm(tmp, { force: true });
  await copyFile(from, tmp);
  await rename(tmp, to);
}

function failed(message: string, err: unknown): CliError {
  return new CliError('CLI_FAILED', `${message}: ${printable((err as Error).message)}`, { cause: err });
}

export const sdcardCommand: CommandSpec = {
  name: 'sdcard',
  summary: 'Put a bundle on a Raspberry Pi OS SD card so the device installs and enrolls on its first boot',
  description:
    'Writes onto a mounted Raspberry Pi OS (bookworm or later) boot partition: the bundle, outpost-firstrun.sh, its settings ' +
    '(outpost-firstrun.conf) and a systemd.run= hook in cmdline.txt, the mechanism Raspberry Pi Imager uses. ' +
    'On the first boot the script moves the bundle into the root file system, applies hostname and Wi-Fi, enables ' +
    'outpost-firstboot.service, removes the bundle, the settings and the hook from the boot partition and reboots; ' +
    'once the network is up the unit runs the bundle\'s install.sh (install, enroll, start) and deletes the bundle. ' +
    'An Imager customisation already on the card (its firstrun.sh) is kept and runs first. The root file system is not touched here. ' +
    'The bundle must carry a Node.js runtime for the Pi (outpost agent bundle --arch arm64|armv7l): stock Raspberry Pi OS has no Node.js 20.',
  flags: {
    bundle: { type: 'string', required: true, valueName: 'FILE', description: "the device's bundle (outpost agent bundle --out FILE)" },
    boot: { type: 'string', required: true, valueName: 'DIR', description: 'the mounted boot partition (it holds cmdline.txt and config.txt), e.g. /media/$USER/bootfs' },
    hostname: { type: 'string', valueName: 'NAME', description: "the device's host name" },
    'wifi-ssid': { type: 'string', valueName: 'SSID', description: 'a Wi-Fi network to join (with --wifi-psk-file)' },
    'wifi-psk-file': { type: 'string', valueName: 'FILE', description: "a file holding the Wi-Fi network's passphrase (never on the command line)" },
    'wifi-country': { type: 'string', valueName: 'CC', description: 'the Wi-Fi country, e.g. GB (Raspberry Pi OS keeps Wi-Fi off until it is set)' },
    user: { type: 'string', valueName: 'NAME', description: "the first user's name, written to userconf.txt (with --password-hash-file)" },
    'password-hash-file': { type: 'string', valueName: 'FILE', description: "a file holding the user's password hash: openssl passwd -6 > FILE" },
    ssh: { type: 'boolean', description: 'enable the SSH server on first boot (an empty ssh file)' },
    'boot-mount': { type: 'string', valueName: 'PATH', description: 'where the device mounts its boot partition', default: DEFAULT_BOOT_MOUNT },
    force: { type: 'boolean', description: 'replace an Outpost first boot (or userconf.txt) already on the card' },
  },
  examples: [
    'outpost agent sdcard --bundle pi-07.tar.gz --boot /media/$USER/bootfs --hostname pi-07',
    'outpost agent sdcard --bundle pi-07.tar.gz --boot /media/$USER/bootfs --wifi-ssid barn --wifi-psk-file barn.psk --wifi-country GB',
  ],
  async run(ctx) {
    const boot = resolve(ctx.string('boot') ?? '');
    const bootInfo = await stat(boot).catch(() => undefined);
    if (bootInfo?.isDirectory() !== true) throw ctx.usageError(`--boot ${boot} is not a directory`);
    for (const name of ['cmdline.txt', 'config.txt']) {
      if (!(await isFile(join(boot, name)))) throw ctx.usageError(`--boot ${boot} does not look like a Raspberry Pi boot partition: it has no ${name}`);
    }
    const bundle = resolve(ctx.string('bundle') ?? '');
    if (!(await isFile(bundle))) throw ctx.usageError(`--bundle ${bundle} is not a file`);
    const bundleCheck = await checkBundleFile(bundle);
    if (!bundleCheck.ok) throw ctx.usageError(`--bundle ${bundle}: ${bundleCheck.reason}`);

    const bootMount = ctx.string('boot-mount') ?? DEFAULT_BOOT_MOUNT;
    if (!posix.isAbsolute(bootMount) || /\s|"/.test(bootMount)) throw ctx.usageError(`invalid --boot-mount "${bootMount}": an absolute path without spaces or quotes`);
    const scriptPath = posix.join(bootMount, FIRSTRUN_SCRIPT_NAME);

    let settings: BootSettings = {};
    const hostname = ctx.string('hostname');
    if (hostname !== undefined) {
      const checked = checkHostname(hostname);
      if (!checked.ok) throw ctx.usageError(checked.reason);
      settings = { ...settings, hostname: checked.value };
    }
    const ssid = ctx.string('wifi-ssid');
    if ((ssid === undefined) !== (ctx.string('wifi-psk-file') === undefined)) throw ctx.usageError('--wifi-ssid and --wifi-psk-file go together');
    if (ssid === undefined && ctx.string('wifi-country') !== undefined) throw ctx.usageError('--wifi-country needs --wifi-ssid');
    if (ssid !== undefined) {
      const checked = checkWifi(ssid, await readSmallFile(ctx, 'wifi-psk-file'), ctx.string('wifi-country'));
      if (!checked.ok) throw ctx.usageError(checked.reason);
      settings = { ...settings, wifi: checked.value };
    }
    const user = ctx.string('user');
    if ((user === undefined) !== (ctx.string('password-hash-file') === undefined)) throw ctx.usageError('--user and --password-hash-file go together');
    let userconf: string | undefined;
    if (user !== undefined) {
      const checked = checkUserconf(user, await readSmallFile(ctx, 'password-hash-file'));
      if (!checked.ok) throw ctx.usageError(checked.reason);
      userconf = checked.value;
    }

    const cmdlinePath = join(boot, 'cmdline.txt');
    const cmdlineText = await readFile(cmdlinePath, 'utf8');
    const hook = addFirstrunHook(cmdlineText, scriptPath);
    if (!hook.ok) throw ctx.usageError(`--boot ${boot}: ${hook.reason}`);
    const confPath = join(boot, FIRSTRUN_CONF_NAME);
    const existing: string[] = [];
    for (const name of [FIRSTRUN_SCRIPT_NAME, FIRSTRUN_CONF_NAME, BOOT_BUNDLE_NAME]) if (await isFile(join(boot, name))) existing.push(name);
    if (hook.edit.alreadyOurs) existing.push(`the systemd.run hook in cmdline.txt`);
    if (existing.length > 0 && !ctx.boolean('force')) {
      throw ctx.usageError(`${boot} already holds an Outpost first boot (${existing.join(', ')}); pass --force to replace it`);
    }
    if (userconf !== undefined && (await isFile(join(boot, 'userconf.txt'))) && !ctx.boolean('force')) {
      throw ctx.usageError(`${boot} already holds userconf.txt (a first user from Raspberry Pi Imager?); pass --force to replace it`);
    }
    // A second run keeps the chained hook the first one replaced.
    const previousChain = hook.edit.alreadyOurs ? chainOf(await readFile(confPath, 'utf8').catch(() => '')) : undefined;
    const chain = hook.edit.chained ?? previousChain;
    if (chain !== undefined) settings = { ...settings, chain };

    const written: string[] = [];
    try {
      await copyAtomic(bundle, join(boot, BOOT_BUNDLE_NAME));
      written.push(BOOT_BUNDLE_NAME);
      await writeAtomic(join(boot, FIRSTRUN_SCRIPT_NAME), FIRSTRUN_SCRIPT, 0o755);
      written.push(FIRSTRUN_SCRIPT_NAME);
      await writeAtomic(confPath, renderConf(settings), 0o600);
      written.push(FIRSTRUN_CONF_NAME);
      if (userconf !== undefined) {
        await writeAtomic(join(boot, 'userconf.txt'), userconf, 0o600);
        written.push('userconf.txt');
      }
      if (ctx.boolean('ssh')) {
        await writeAtomic(join(boot, 'ssh'), '', 0o644);
        written.push('ssh');
      }
      // Last: until cmdline.txt names the script, the card boots as it did.
      if (hook.edit.changed) {
        const mode = (await stat(cmdlinePath)).mode & 0o777;
        await writeAtomic(cmdlinePath, hook.edit.text, mode);
      }
      written.push('cmdline.txt');
    } catch (err) {
      throw failed(`could not write to ${boot} (written so far: ${written.join(', ') || 'nothing'})`, err);
    }

    ctx.print(`Wrote ${written.join(', ')} to ${boot}.`);
    if (chain !== undefined) ctx.note(`The card's own first-boot script (${printable(chain)}) runs first, then Outpost's.`);
    if (!bundleCheck.hasRuntime) {
      ctx.note('Note: the bundle carries no Node.js runtime, so the Pi needs Node.js 20 or newer of its own (stock Raspberry Pi OS has none); make it with --arch arm64 or armv7l otherwise.');
    }
    ctx.note('On the first boot the device moves the bundle off the boot partition, reboots, and enrolls once its network is up.');
    ctx.note(`Eject the card safely (sync; umount ${boot}) before you take it out.`);
    return undefined;
  },
};
