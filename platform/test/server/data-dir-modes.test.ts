import { chmod, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { enforceDataDirModes } from '../../src/server/data-dir-modes.js';

const modeOf = async (path: string): Promise<number> => (await stat(path)).mode & 0o777;

describe.runIf(process.platform !== 'win32')('enforceDataDirModes', () => {
  let dir: string;
  let dataDir: string;
  const warned: { fields: object; msg: string }[] = [];
  const log = { warn: (fields: object, msg: string) => warned.push({ fields, msg }) } as never;
  const keepUmask = { setUmask: () => undefined };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-data-modes-'));
    dataDir = join(dir, 'data');
    await mkdir(join(dataDir, 'spool'), { recursive: true });
    await writeFile(join(dataDir, 'state.db'), 'x');
    await writeFile(join(dataDir, 'spool', '00000001.seg'), 'x');
    warned.length = 0;
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it('fixes directories to 0700 and files to 0600, one warning per path with the mode found', async () => {
    await chmod(dataDir, 0o755);
    await chmod(join(dataDir, 'state.db'), 0o644);
    await chmod(join(dataDir, 'spool', '00000001.seg'), 0o640);
    await chmod(join(dataDir, 'spool'), 0o700);
    const found = await enforceDataDirModes({ dataDir, strictFileModes: false }, log, keepUmask);
    expect(found.map((f) => [f.path, f.mode, f.required]).sort()).toEqual(
      [
        [dataDir, '0755', '0700'],
        [join(dataDir, 'spool', '00000001.seg'), '0640', '0600'],
        [join(dataDir, 'state.db'), '0644', '0600'],
      ].sort(),
    );
    expect(await modeOf(dataDir)).toBe(0o700);
    expect(await modeOf(join(dataDir, 'state.db'))).toBe(0o600);
    expect(await modeOf(join(dataDir, 'spool', '00000001.seg'))).toBe(0o600);
    expect(warned.map((w) => w.fields)).toContainEqual({ path: join(dataDir, 'state.db'), mode: '0644', fixedTo: '0600' });
  });

  it('refuses when strict, changing nothing, and says how to fix it', async () => {
    await chmod(join(dataDir, 'state.db'), 0o644);
    await expect(enforceDataDirModes({ dataDir, strictFileModes: true }, log, keepUmask)).rejects.toMatchObject({
      code: 'CONFIG_FILE_MODES_INSECURE',
      message: expect.stringContaining(`${join(dataDir, 'state.db')} is 0644 (must be 0600); run: chmod -R go-rwx ${dataDir}`) as unknown,
    });
    expect(await modeOf(join(dataDir, 'state.db'))).toBe(0o644);
  });

  it('leaves private modes, symbolic links and a missing data dir alone, and sets the umask to 077', async () => {
    await chmod(dataDir, 0o700);
    await chmod(join(dataDir, 'spool'), 0o700);
    await chmod(join(dataDir, 'state.db'), 0o600);
    await chmod(join(dataDir, 'spool', '00000001.seg'), 0o600);
    await symlink('/etc/hostname', join(dataDir, 'link'));
    let umask: number | undefined;
    expect(await enforceDataDirModes({ dataDir, strictFileModes: true }, log, { setUmask: (m) => (umask = m) })).toEqual([]);
    expect(umask).toBe(0o077);
    expect(await enforceDataDirModes({ dataDir: join(dir, 'absent'), strictFileModes: true }, log, keepUmask)).toEqual([]);
    expect(warned).toEqual([]);
  });
});
