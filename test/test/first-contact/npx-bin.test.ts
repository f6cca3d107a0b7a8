/**
 * What a new user types after cloning: `npm install`, then `npx outpost …`. npm links a bin only
 * when its file exists at install time, and dist/ appears only after `tsc -b`, so the bins must
 * be committed files. This clones the repository's HEAD, installs it as `npm ci` does (scripts
 * skipped: only the bins are under test, and the native addon would compile for minutes), and runs
 * `npx outpost` before and after a build. Uses the npm cache and, when it lacks a tarball, the registry.
 * The install and the build run under `nice`: they must not starve the timing-sensitive tests beside them.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const INSTALL_TIMEOUT_MS = Number(process.env['OUTPOST_TEST_INSTALL_TIMEOUT_MS'] ?? 360_000);
const NOT_BUILT = /^outpost: not built yet — run `npm run build` \(or `npm start`\) first\n$/;

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The environment of a user's shell: no npm_package_*, npm_lifecycle_* or prefix from the `npm test` running this. */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    const lower = key.toLowerCase();
    if (lower === 'init_cwd' || (lower.startsWith('npm_') && !lower.startsWith('npm_config_'))) continue;
    if (['npm_config_prefix', 'npm_config_local_prefix', 'npm_config_global_prefix', 'npm_config_workspace', 'npm_config_workspaces'].includes(lower)) continue;
    env[key] = value;
  }
  return env;
}

function run(command: string, args: readonly string[], cwd: string, timeoutMs = 60_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env: userEnv(), timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('npx outpost in a fresh clone', () => {
  let dir: string;
  let clone: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-clone-'));
    clone = join(dir, 'outpost');
    const cloned = await run('git', ['clone', '--quiet', ROOT, clone], dir);
    if (cloned.code !== 0) throw new Error(`git clone ${ROOT} failed:\n${cloned.stderr}`);
    const installed = await run('nice', ['-n', '10', 'npm', 'ci', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], clone, INSTALL_TIMEOUT_MS);
    if (installed.code !== 0) throw new Error(`npm ci in the clone failed (${installed.code}):\n${installed.stderr.slice(-4000)}`);
  }, INSTALL_TIMEOUT_MS + 60_000);
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('exists before the build and says to build first', async () => {
    const outpost = await run('npx', ['--no-install', 'outpost', '--version'], clone);
    expect(outpost.stderr).toMatch(NOT_BUILT);
    expect(outpost.code).toBe(1);
    const agent = await run('npx', ['--no-install', 'outpost-agent', '--version'], clone);
    expect(agent.stderr).toMatch(/^outpost-agent: not built yet — run `npm run build` \(or `npm start`\) first\n$/);
    expect(agent.code).toBe(1);
  });

  it('runs the built CLI after tsc -b', async () => {
    const built = await run('nice', ['-n', '10', 'npx', '--no-install', 'tsc', '-b', 'platform', 'edge-agent'], clone, INSTALL_TIMEOUT_MS);
    expect(built, built.stdout).toMatchObject({ code: 0 });
    const outpost = await run('npx', ['--no-install', 'outpost', '--version'], clone);
    expect(outpost).toMatchObject({ code: 0, stderr: '' });
    expect(outpost.stdout).toMatch(/^outpost \d+\.\d+\.\d+/);
    const agent = await run('npx', ['--no-install', 'outpost-agent', '--version'], clone);
    expect(agent).toMatchObject({ code: 0, stderr: '' });
    expect(agent.stdout).toMatch(/^\d+\.\d+\.\d+/);
  }, INSTALL_TIMEOUT_MS + 30_000);
});
