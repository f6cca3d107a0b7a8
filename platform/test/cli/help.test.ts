import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CommandSpec } from '../../src/cli/command.js';
import { createRootCommand } from '../../src/cli/command-tree.js';
import { lines, makeHome, noFetch, outpost } from './cli-harness.js';

/** Every command and group of the tree, as paths below the root. */
function allPaths(command: CommandSpec, prefix: readonly string[] = []): string[][] {
  return (command.subcommands ?? []).flatMap((sub) => [[...prefix, sub.name], ...allPaths(sub, [...prefix, sub.name])]);
}

const root = createRootCommand();
const paths = allPaths(root);

describe('outpost help', () => {
  let home: Awaited<ReturnType<typeof makeHome>>;
  beforeEach(async () => {
    home = await makeHome();
  });
  afterEach(() => home.cleanup());

  it('covers the operator commands of this issue', () => {
    const names = paths.map((p) => p.join(' '));
    for (const expected of [
      'server',
      'login',
      'logout',
      'whoami',
      'users create',
      'users list',
      'users set-role',
      'users set-password',
      'users delete',
      'api-tokens create',
      'api-tokens list',
      'api-tokens revoke',
      'audit',
      'help',
    ]) {
      expect(names).toContain(expected);
    }
  });

  it.each(paths.map((path) => [path.join(' '), path] as const))('prints help for "%s" with --help, -h and help', async (_name, path) => {
    const long = await outpost([...path, '--help'], { home: home.dir, fetch: noFetch });
    expect(long.code).toBe(0);
    expect(long.stderr).toBe('');
    expect(long.stdout.startsWith(`Usage: outpost ${path.join(' ')} `)).toBe(true);
    expect(long.stdout).toContain('-h, --help');

    const short = await outpost([...path, '-h'], { home: home.dir, fetch: noFetch });
    expect(short).toEqual(long);

    const viaHelp = await outpost(['help', ...path], { home: home.dir, fetch: noFetch });
    expect(viaHelp).toEqual(long);
  });

  it.each(paths.map((path) => [path.join(' '), path] as const))('lists every flag and subcommand of "%s" in its help', async (_name, path) => {
    let command: CommandSpec | undefined = root;
    for (const name of path) command = command?.subcommands?.find((c) => c.name === name);
    const { stdout } = await outpost([...path, '--help'], { home: home.dir, fetch: noFetch });
    for (const flag of Object.keys(command?.flags ?? {})) expect(stdout).toContain(`--${flag}`);
    for (const sub of command?.subcommands ?? []) expect(stdout).toMatch(new RegExp(`^  ${sub.name}\\s+\\S`, 'm'));
  });

  it('prints the root help for a bare "outpost", "outpost help" and "outpost --help"', async () => {
    const bare = await outpost([], { home: home.dir, fetch: noFetch });
    expect(bare.code).toBe(0);
    expect(bare.stdout).toMatch(/^Usage: outpost <command> \[flags\]/);
    for (const name of ['server', 'login', 'users', 'api-tokens', 'audit', 'whoami']) expect(bare.stdout).toMatch(new RegExp(`^  ${name}\\s`, 'm'));
    expect(await outpost(['help'], { home: home.dir, fetch: noFetch })).toEqual(bare);
    expect(await outpost(['--help'], { home: home.dir, fetch: noFetch })).toEqual(bare);
  });

  it('shows how a command is called: arguments, required flags and placeholders', async () => {
    const { stdout } = await outpost(['users', 'create', '--help'], { home: home.dir, fetch: noFetch });
    expect(lines(stdout)[0]).toBe('Usage: outpost users create NAME --role ROLE [flags]');
    expect(stdout).toMatch(/--role ROLE\s+what the user may do \(one of admin, operator or viewer; required\)/);
    const tokens = await outpost(['api-tokens', 'create', '--help'], { home: home.dir, fetch: noFetch });
    expect(tokens.stdout).toMatch(/--ttl DURATION\s+lifetime/);
  });

  it('lists the configuration keys in "outpost server --help"', async () => {
    const { code, stdout } = await outpost(['server', '--help'], { home: home.dir, fetch: noFetch });
    expect(code).toBe(0);
    expect(stdout).toContain('--config FILE');
    expect(stdout).toContain('--role ROLE');
    expect(stdout).toContain('OUTPOST_HTTP_PORT');
    expect(stdout).toContain('OUTPOST_DATA_DIR');
  });

  it('prints the package version with --version', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const result = await outpost(['--version'], { home: home.dir, fetch: noFetch });
    expect(result).toEqual({ code: 0, stdout: `outpost ${pkg.version}\n`, stderr: '' });
  });

  it('lets a command registered in the tree appear in help and run', async () => {
    const ping: CommandSpec = {
      name: 'ping',
      summary: 'Answer pong',
      flags: { loud: { type: 'boolean', description: 'shout' } },
      run: async (ctx) => {
        ctx.print(ctx.boolean('loud') ? 'PONG' : 'pong');
      },
    };
    const custom = createRootCommand([ping]);
    expect(await outpost(['ping', '--loud'], { home: home.dir, fetch: noFetch, root: custom })).toEqual({ code: 0, stdout: 'PONG\n', stderr: '' });
    const help = await outpost(['--help'], { home: home.dir, fetch: noFetch, root: custom });
    expect(help.stdout).toMatch(/^ {2}ping\s+Answer pong$/m);
    const typo = await outpost(['pnig'], { home: home.dir, fetch: noFetch, root: custom });
    expect(typo.stderr).toContain('(did you mean "ping"?)');
  });
});
