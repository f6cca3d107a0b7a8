/**
 * `npm test` first runs `scripts/install-test-deps.sh --if-possible`. The real script runs here
 * against stand-ins for the system's package tools (dpkg, apt-get, id, sudo) placed first on PATH:
 * the test must not install or remove Debian packages on the machine that runs it.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../scripts/install-test-deps.sh', import.meta.url));
const ROOT_PACKAGE = fileURLToPath(new URL('../../../package.json', import.meta.url));
// Scale-out, emulated devices and the second client (issue 15, 17) need more; the cases below keep them installed.
const LATER = [
  'postgresql', 'redis-server', 'haproxy', 'qemu-user-static', 'python3-paho-mqtt',
  'libc6-arm64-cross', 'libstdc++6-arm64-cross', 'libgcc-s1-arm64-cross',
  'libc6-armhf-cross', 'libstdc++6-armhf-cross', 'libgcc-s1-armhf-cross', 'libatomic1-armhf-cross',
];
const ALL = ['influxdb', 'chromium', 'mosquitto', 'mosquitto-clients', 'openssl', 'python3', 'make', 'g++', ...LATER];
const present = (names: readonly string[]): string => `${[...names, ...LATER].join('\n')}\n`;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

describe('scripts/install-test-deps.sh', () => {
  let dir: string;
  let installed: string;
  let aptLog: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'install-test-deps-'));
    installed = join(dir, 'installed');
    aptLog = join(dir, 'apt.log');
    await writeFile(installed, '');
    await writeFile(aptLog, '');
    const tool = async (name: string, body: string): Promise<void> => {
      await writeFile(join(dir, name), `#!/bin/sh\n${body}\n`);
      await chmod(join(dir, name), 0o755);
    };
    // dpkg -s PKG: "install ok installed" when PKG is listed in the state file.
    await tool('dpkg', `grep -qx "$2" "${installed}" && echo 'Status: install ok installed' && exit 0; exit 1`);
    // apt-get … install -y … PKGS: records the call and "installs" every argument that is not an option.
    await tool(
      'apt-get',
      `echo "$*" >> "${aptLog}"; seen=0; for a in "$@"; do [ "$a" = install ] && seen=1 && continue; ` +
        `[ $seen = 1 ] && case "$a" in -*) ;; *) echo "$a" >> "${installed}" ;; esac; done; exit 0`,
    );
    await tool('id', 'echo "$FAKE_UID"');
    await tool('sudo', 'exit 1'); // sudo that asks for a password
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const run = (args: readonly string[], uid: number): Promise<Run> =>
    new Promise((resolve) => {
      execFile('bash', [SCRIPT, ...args], { env: { PATH: `${dir}:${process.env['PATH'] ?? ''}`, FAKE_UID: String(uid), TMPDIR: dir } }, (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      });
    });

  it('is what npm test runs first, before the build', async () => {
    const pkg = JSON.parse(await readFile(ROOT_PACKAGE, 'utf8')) as { scripts: Record<string, string> };
    // The installer comes first; the build after it (tsc -b, or npm run build, which runs tsc -b and more).
    expect(pkg.scripts['pretest']).toMatch(/^bash scripts\/install-test-deps\.sh --if-possible && (tsc -b|npm run build)$/);
    if (pkg.scripts['pretest']?.endsWith('npm run build')) expect(pkg.scripts['build']).toMatch(/^tsc -b\b/);
  });

  it('says everything is present in one line and installs nothing when nothing is missing', async () => {
    await writeFile(installed, `${ALL.join('\n')}\n`);
    const result = await run(['--if-possible'], 1000);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stdout).toMatch(/all present/);
    expect(await readFile(aptLog, 'utf8')).toBe('');
  });

  it('installs what is missing when it runs as root', async () => {
    await writeFile(installed, present(['openssl', 'python3', 'make', 'g++']));
    const result = await run(['--if-possible'], 0);
    expect(result.code).toBe(0);
    const apt = await readFile(aptLog, 'utf8');
    expect(apt).toMatch(/update/);
    expect(apt).toMatch(/install -y --no-install-recommends influxdb chromium mosquitto mosquitto-clients$/m);
    expect(result.stdout).toMatch(/installed influxdb chromium mosquitto mosquitto-clients/);
  });

  it('with --if-possible, names the missing packages in one line and lets the tests run when it may not install', async () => {
    await writeFile(installed, present(['openssl', 'python3', 'make', 'g++', 'mosquitto', 'mosquitto-clients']));
    const result = await run(['--if-possible'], 1000);
    expect(result.code).toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/missing packages: influxdb chromium; install them as root with: bash scripts\/install-test-deps\.sh/);
    expect(lines[0]).toMatch(/the tests that need them fail until then/);
    expect(await readFile(aptLog, 'utf8')).toBe('');
  });

  it('without --if-possible, refuses with exit 1 when it may not install', async () => {
    const result = await run([], 1000);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/missing packages: influxdb chromium mosquitto mosquitto-clients openssl python3 make g\+\+/);
  });

  it('refuses an unknown option', async () => {
    const result = await run(['--yes'], 0);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option --yes/);
  });
});
