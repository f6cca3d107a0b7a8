/**
 * Issue 11, D7, on real `outpost server` processes: a secret key file other users can read
 * stops the start (unless OUTPOST_ALLOW_INSECURE_KEY_MODE=true); a data dir and files in it
 * open to group/other are set to 0700/0600 at start with a warning naming path and mode, or
 * refused with OUTPOST_STRICT_FILE_MODES=true.
 */
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runServerUntilExit, startServerProcess, type ServerProcess } from '../src/index.js';

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

interface LogLine {
  level: number;
  msg: string;
  path?: string;
  mode?: string;
  fixedTo?: string;
}

function logLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as LogLine);
}

describe.runIf(process.platform !== 'win32')('outpost server: modes at rest', () => {
  let dir: string;
  let server: ServerProcess | undefined;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-modes-'));
  });
  afterEach(async () => {
    await server?.stop();
    server = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses to start with a 0644 secret key file, naming the file and the chmod that fixes it; starts when told to allow it', async () => {
    const keyFile = join(dir, 'outpost-secret.key');
    await writeFile(keyFile, `${'ab'.repeat(32)}\n`);
    await chmod(keyFile, 0o644);
    const refused = await runServerUntilExit(dir, {});
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain(`outpost server: could not start: secret key file ${keyFile} is accessible by other users (mode 0644); run: chmod 600 ${keyFile}`);
    expect(refused.output).toContain('OUTPOST_ALLOW_INSECURE_KEY_MODE=true');

    server = await startServerProcess(dir, { OUTPOST_ALLOW_INSECURE_KEY_MODE: 'true' });
    expect(logLines(server.output()).some((l) => l.level === 40 && l.msg.includes(`secret key file ${keyFile} is accessible by other users (mode 0644)`))).toBe(true);
  });

  it('sets a 0755 data dir and 0644 state.db, telemetry.sqlite and spool files to 0700/0600 at start, with a warning per path', async () => {
    const dataDir = join(dir, 'outpost-data');
    server = await startServerProcess(dir, {});
    // What this start created is private already.
    expect(await modeOf(dataDir)).toBe(0o700);
    expect(await modeOf(join(dataDir, 'state.db'))).toBe(0o600);
    expect(await modeOf(join(dataDir, 'telemetry.sqlite'))).toBe(0o600);
    await server.stop();
    server = undefined;

    const spoolFile = (await readdir(join(dataDir, 'spool'), { withFileTypes: true })).find((e) => e.isFile());
    expect(spoolFile).toBeDefined();
    const loose: [string, number, number][] = [
      [dataDir, 0o755, 0o700],
      [join(dataDir, 'state.db'), 0o644, 0o600],
      [join(dataDir, 'telemetry.sqlite'), 0o644, 0o600],
      [join(dataDir, 'spool'), 0o755, 0o700],
      [join(dataDir, 'spool', spoolFile?.name ?? ''), 0o644, 0o600],
    ];
    for (const [path, mode] of loose) await chmod(path, mode);
    server = await startServerProcess(dir, {});
    const warnings = logLines(server.output()).filter((l) => l.level === 40 && l.fixedTo !== undefined);
    for (const [path, mode, fixed] of loose) {
      expect(await modeOf(path), path).toBe(fixed);
      expect(warnings, path).toContainEqual(expect.objectContaining({ path, mode: `0${mode.toString(8)}`, fixedTo: `0${fixed.toString(8)}` }));
    }
  });

  it('refuses to start on a loose state.db when OUTPOST_STRICT_FILE_MODES=true, listing the path', async () => {
    server = await startServerProcess(dir, {});
    await server.stop();
    server = undefined;
    const stateDb = join(dir, 'outpost-data', 'state.db');
    await chmod(stateDb, 0o644);
    const refused = await runServerUntilExit(dir, { OUTPOST_STRICT_FILE_MODES: 'true' });
    expect(refused.code).not.toBe(0);
    expect(refused.output).toContain(`${stateDb} is 0644 (must be 0600)`);
    expect(refused.output).toContain(`chmod -R go-rwx ${join(dir, 'outpost-data')}`);
    expect(await modeOf(stateDb)).toBe(0o644);
  });
});
