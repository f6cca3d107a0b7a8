/**
 * The agent installs alone (STYLE rule 15): pack protocol, rules and edge-agent, install only
 * those tarballs with production dependencies, run the installed bin. The install uses an empty
 * npm cache and a registry on 127.0.0.1 that serves only what the workspace itself installed
 * (`workspace-registry.ts`), so it neither reaches the public registry nor depends on what this
 * machine's npm cache happens to hold (the old `--offline` install did, and failed on a new machine).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkspaceRegistry, type WorkspaceRegistry } from './workspace-registry.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

async function sizeOf(path: string): Promise<number> {
  const info = await stat(path);
  if (!info.isDirectory()) return info.size;
  let total = 0;
  for (const entry of await readdir(path)) total += await sizeOf(join(path, entry));
  return total;
}

describe('the packed agent', () => {
  let dir: string;
  let bin: string;
  let registry: WorkspaceRegistry | undefined;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-pack-'));
    const work = await mkdtemp(join(tmpdir(), 'agent-pack-registry-'));
    registry = await startWorkspaceRegistry(ROOT, work);
    const tarballs: string[] = [];
    for (const pkg of ['protocol', 'rules', 'edge-agent']) {
      const { stdout } = await run('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: join(ROOT, pkg) });
      tarballs.push(join(dir, stdout.trim().split('\n').at(-1) ?? ''));
    }
    // mqtt 5 depends on @types/ws and @types/readable-stream, which ask for @types/node "*": pin it to
    // the version the repository's lockfile holds (the workspace registry serves that one), as the lockfile does.
    const typesNode = (JSON.parse(await readFile(join(ROOT, 'node_modules', '@types', 'node', 'package.json'), 'utf8')) as { version: string }).version;
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'agent-install', version: '1.0.0', private: true, overrides: { '@types/node': typesNode } }));
    const env: NodeJS.ProcessEnv = { ...process.env, npm_config_cache: join(work, 'npm-cache'), npm_config_registry: registry.url };
    delete env.npm_config_offline;
    delete env.npm_config_prefer_offline;
    await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--no-package-lock', '--registry', registry.url, ...tarballs], { cwd: dir, env, timeout: 180_000 })
      .catch((err: Error) => {
        throw new Error(`install from the workspace registry failed (packages it could not serve: ${registry?.misses.join(', ') || 'none'})`, { cause: err });
      });
    await rm(work, { recursive: true, force: true });
    bin = join(dir, 'node_modules', '.bin', 'outpost-agent');
  }, 240_000);
  afterAll(async () => {
    await registry?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('installs with only its declared runtime dependencies, and reports its size', async () => {
    const modules = join(dir, 'node_modules');
    const top = (await readdir(modules)).filter((n) => !n.startsWith('.'));
    expect(top).not.toContain('aedes');
    expect(top).not.toContain('fastify');
    expect(top).not.toContain('vitest');
    const bytes = await sizeOf(modules);
    console.log(`installed agent: ${(bytes / 1024 / 1024).toFixed(1)} MiB in node_modules (${top.length} top-level entries)`);
    expect(bytes).toBeLessThan(60 * 1024 * 1024);
  });

  it('runs outpost-agent --help and check-config from the install', async () => {
    const help = await run(bin, ['--help']);
    expect(help.stdout).toMatch(/Usage: outpost-agent COMMAND/);
    const enrollHelp = await run(bin, ['enroll', '--help']);
    expect(enrollHelp.stdout).toMatch(/--ca-fingerprint sha256:HEX/);
    const config = join(dir, 'agent.json');
    await writeFile(config, JSON.stringify({ collectors: [{ type: 'simulated', intervalMs: 2000, metrics: { temp: { base: 20 } } }, { type: 'system', intervalMs: '10s' }] }));
    const checked = await run(bin, ['check-config', '--config', config, '--state-dir', join(dir, 'state')]);
    expect(checked.stdout).toMatch(/valid/);
    expect(checked.stdout).toMatch(/simulated metrics temp every 2 s/);
    expect(checked.stdout).toMatch(/system metrics every 10 s/);
    await writeFile(config, JSON.stringify({ collectors: [{ type: 'simulated', intervalMs: 0, metrics: {} }] }));
    const bad = await run(bin, ['check-config', '--config', config, '--state-dir', join(dir, 'state')]).catch((err: { code: number; stderr: string }) => err);
    expect(bad).toMatchObject({ code: 1 });
    expect((bad as { stderr: string }).stderr.trim().split('\n')).toHaveLength(1);
  });
});
