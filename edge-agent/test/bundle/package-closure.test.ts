import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../bundle/loopback-host.js';
import { packageClosure } from '../../bundle/package-closure.js';
import { isShipped, packageFiles } from '../../bundle/package-files.js';

async function pkg(dir: string, manifest: Record<string, unknown>, files: Record<string, string> = {}): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify(manifest));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), text);
  }
}

describe('the production dependency closure', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-closure-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('hoists the first version of a name, nests another under its dependent, follows workspace links and skips a missing optional', async () => {
    // A workspace layout: the agent and a sibling workspace linked from the root node_modules.
    const nm = join(dir, 'node_modules');
    await pkg(join(dir, 'agent'), { name: 'agent', version: '1.0.0', files: ['dist'], dependencies: { lib: '*', shared: '*' }, optionalDependencies: { nothere: '*' } }, {
      'dist/main.js': 'main',
      'dist/main.js.map': 'map',
      'dist/main.d.ts': 'types',
      'src/main.ts': 'not packed',
    });
    await pkg(join(dir, 'shared'), { name: 'shared', version: '1.0.0', files: ['dist'], dependencies: { util: '^2' } }, { 'dist/index.js': 'shared' });
    await mkdir(nm, { recursive: true });
    await symlink('../shared', join(nm, 'shared'));
    await pkg(join(nm, 'lib'), { name: 'lib', version: '1.0.0', dependencies: { util: '^1' } }, { 'index.js': 'lib', 'README.md': 'docs', LICENSE: 'MIT' });
    await pkg(join(nm, 'lib', 'node_modules', 'util'), { name: 'util', version: '1.0.0' }, { 'index.js': 'util 1' });
    await pkg(join(nm, 'util'), { name: 'util', version: '2.0.0' }, { 'index.js': 'util 2' });
    await pkg(join(nm, 'dev-only'), { name: 'dev-only', version: '1.0.0' });

    const placed = await packageClosure(join(dir, 'agent'));
    expect(placed.map((p) => [p.placement, p.manifest.version, p.linked])).toEqual([
      ['', '1.0.0', true],
      ['node_modules/lib', '1.0.0', false],
      ['node_modules/shared', '1.0.0', true],
      // First come, hoisted: lib's util 1 takes the top; shared's util 2 nests under shared.
      ['node_modules/util', '1.0.0', false],
      ['node_modules/shared/node_modules/util', '2.0.0', false],
    ]);
    const files = (await Promise.all(placed.map((p) => packageFiles(p)))).flat().map((f) => f.path);
    expect(files.sort()).toEqual(
      [
        'package.json',
        'dist/main.js',
        'node_modules/lib/LICENSE',
        'node_modules/lib/index.js',
        'node_modules/lib/package.json',
        'node_modules/shared/node_modules/util/index.js',
        'node_modules/shared/node_modules/util/package.json',
        'node_modules/shared/dist/index.js',
        'node_modules/shared/package.json',
        'node_modules/util/index.js',
        'node_modules/util/package.json',
      ].sort(),
    );
  });

  it('names the missing dependency when a required one is not installed', async () => {
    await pkg(join(dir, 'agent'), { name: 'agent', version: '1.0.0', dependencies: { absent: '*' } });
    await expect(packageClosure(join(dir, 'agent'))).rejects.toThrow(/agent needs absent, which is not installed/);
  });

  it.each([
    ['app.js', true],
    ['app.js.map', false],
    ['index.d.ts', false],
    ['index.d.mts', false],
    ['main.ts', false],
    ['README.md', false],
    ['LICENSE.md', true],
    ['LICENSE', true],
    ['data.json', true],
  ])('ships %s: %s', (name, shipped) => {
    expect(isShipped(name)).toBe(shipped);
  });
});

describe('loopback hosts', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['localhost', true],
    ['LOCALHOST.', true],
    ['pi.localhost', true],
    ['::1', true],
    ['[::1]', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.5', false],
    ['192.168.1.10', false],
    ['outpost.example.org', false],
    ['fe80::1', false],
    ['localhost.example.org', false],
  ])('%s → %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});
