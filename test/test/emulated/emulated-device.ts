/**
 * A Raspberry-Pi-class device emulated on an x86-64 machine (issue 17): the bundle's own
 * Node.js for arm64 or armv7l, run by Debian's qemu-user-static called directly (binfmt may not
 * be registered in a CI container), with a glibc sysroot made from Debian's cross packages.
 *
 * - The runtime tarball: `npm pack node-linux-ARCH@VERSION`, kept in
 *   TMPDIR/outpost-test-cache/runtimes between runs (like edge-agent's older-node test).
 * - The sysroot: the `*-cross` packages (architecture `all`, so no `dpkg --add-architecture`
 *   and never `nodejs:arm64`): libc6, libstdc++6, libgcc-s1 (and libatomic1 for armhf),
 *   fetched with `apt-get download` and unpacked with `dpkg-deb -x` into
 *   TMPDIR/outpost-test-cache/sysroot-ARCH; an installed copy (/usr/aarch64-linux-gnu) is used
 *   as it is. qemu runs with `-L` pointing at it.
 * - install.sh and the launcher put OUTPOST_AGENT_EMULATOR ('qemu-aarch64-static -L DIR')
 *   before every node they run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type EmulatedArch = 'arm64' | 'armv7l';

interface ArchInfo {
  readonly qemu: string;
  /** The triplet of Debian's cross packages and their directory under /usr. */
  readonly triplet: string;
  readonly packageArch: string;
  readonly loader: string;
  readonly packages: readonly string[];
}

const ARCHES: Readonly<Record<EmulatedArch, ArchInfo>> = {
  arm64: { qemu: 'qemu-aarch64-static', triplet: 'aarch64-linux-gnu', packageArch: 'arm64', loader: 'ld-linux-aarch64.so.1', packages: ['libc6', 'libstdc++6', 'libgcc-s1'] },
  armv7l: { qemu: 'qemu-arm-static', triplet: 'arm-linux-gnueabihf', packageArch: 'armhf', loader: 'ld-linux-armhf.so.3', packages: ['libc6', 'libstdc++6', 'libgcc-s1', 'libatomic1'] },
};

const CACHE = join(tmpdir(), 'outpost-test-cache');
const FETCH_TIMEOUT_MS = 600_000;

/** Emulation needs an x86-64 Linux host with qemu-user-static (scripts/install-test-deps.sh). */
export const CAN_EMULATE = process.platform === 'linux' && process.arch === 'x64';

/** The qemu binary for the architecture, or a clear error when qemu-user-static is missing. */
export function qemuFor(arch: EmulatedArch): string {
  const qemu = ARCHES[arch].qemu;
  if (spawnSync(qemu, ['--version']).status !== 0) throw new Error(`${qemu} is not installed: install Debian's qemu-user-static (scripts/install-test-deps.sh)`);
  return qemu;
}

/** The official Node.js tarball for the architecture from the npm registry, fetched once. */
export async function runtimeTarball(arch: EmulatedArch, version: string): Promise<string> {
  const name = `node-linux-${arch}-${version}.tgz`;
  const file = join(CACHE, 'runtimes', name);
  if (existsSync(file)) return file;
  await mkdir(join(CACHE, 'runtimes'), { recursive: true });
  const staging = await mkdtemp(join(CACHE, 'runtimes', '.fetch-'));
  try {
    execFileSync('npm', ['pack', `node-linux-${arch}@${version}`, '--pack-destination', staging, '--silent'], { cwd: staging, stdio: ['ignore', 'pipe', 'pipe'], timeout: FETCH_TIMEOUT_MS });
    await rename(join(staging, name), file).catch((err: unknown) => {
      if (!existsSync(file)) throw err; // another run got there first
    });
  } catch (err) {
    throw new Error(`could not fetch Node.js ${version} for ${arch} (npm pack node-linux-${arch}@${version}): ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return file;
}

/** A directory for qemu's -L holding lib/ with the dynamic loader, glibc, libstdc++ and libgcc. */
export async function sysroot(arch: EmulatedArch): Promise<string> {
  const info = ARCHES[arch];
  const installed = join('/usr', info.triplet);
  const complete = (dir: string): boolean => ['libc.so.6', 'libstdc++.so.6', 'libgcc_s.so.1', info.loader].every((lib) => existsSync(join(dir, 'lib', lib)));
  if (complete(installed) && (arch !== 'armv7l' || existsSync(join(installed, 'lib', 'libatomic.so.1')))) return installed;
  const root = join(CACHE, `sysroot-${arch}`);
  const dir = join(root, 'usr', info.triplet);
  if (complete(dir)) return dir;
  await mkdir(CACHE, { recursive: true });
  const staging = await mkdtemp(join(CACHE, `.sysroot-${arch}-`));
  try {
    const packages = info.packages.map((p) => `${p}-${info.packageArch}-cross`);
    const got = spawnSync('apt-get', ['download', ...packages], { cwd: staging, encoding: 'utf8', timeout: FETCH_TIMEOUT_MS });
    if (got.status !== 0) {
      throw new Error(`apt-get download ${packages.join(' ')} failed (exit ${String(got.status)}): ${got.stderr.trim()} — run apt-get update, or install them (scripts/install-test-deps.sh)`);
    }
    const unpacked = join(staging, 'root');
    for (const deb of (await readdir(staging)).filter((f) => f.endsWith('.deb'))) execFileSync('dpkg-deb', ['-x', join(staging, deb), unpacked]);
    await rm(root, { recursive: true, force: true });
    await rename(unpacked, root);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  if (!complete(dir)) throw new Error(`the sysroot ${dir} lacks the loader or a library after unpacking`);
  return dir;
}

/** OUTPOST_AGENT_EMULATOR for install.sh and the launcher. */
export async function emulatorFor(arch: EmulatedArch): Promise<string> {
  return `${qemuFor(arch)} -L ${await sysroot(arch)}`;
}
