import { execFileSync } from 'node:child_process';
import { lstat, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BLOCK, TAR_END, splitUstarPath, tarArchive, tarEntry } from '../../bundle/tar-writer.js';

/** Extracts with the system tar, as a device would. */
function extract(dir: string, file: string): string {
  return execFileSync('tar', ['-xvzf', file, '-C', dir], { encoding: 'utf8' });
}

describe('the ustar writer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-tar-'));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  const longName = `${'deep/'.repeat(30)}${'n'.repeat(90)}.js`; // 240 bytes: needs the ustar prefix
  const veryLong = `${'x'.repeat(120)}/${'y'.repeat(120)}/${'z'.repeat(120)}.txt`; // no split fits: PAX
  const longLink = `${'t'.repeat(150)}`;

  it('writes an archive that the system tar extracts byte for byte, with modes, links and long names', async () => {
    const mtime = Date.UTC(2026, 0, 2, 3, 4, 5);
    const archive = tarArchive([
      { type: 'directory', path: 'top', mode: 0o755, mtime },
      { type: 'file', path: 'top/script.sh', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755, mtime },
      { type: 'file', path: 'top/secret.json', data: Buffer.from('{"token":"t"}\n'), mode: 0o600, mtime },
      { type: 'file', path: 'top/empty', data: Buffer.alloc(0), mtime },
      { type: 'file', path: 'top/exact-block', data: Buffer.alloc(BLOCK, 0x61), mtime },
      { type: 'file', path: `top/${longName}`, data: Buffer.from('long'), mtime },
      { type: 'file', path: `top/${veryLong}`, data: Buffer.from('very long'), mtime },
      { type: 'file', path: 'top/ünïcødé.txt', data: Buffer.from('utf8 name'), mtime },
      { type: 'symlink', path: 'top/current', target: 'script.sh', mtime },
      { type: 'symlink', path: 'top/far', target: longLink, mtime },
    ]);
    expect(archive.length % BLOCK).toBe(0);
    const file = join(dir, 'a.tar.gz');
    await writeFile(file, gzipSync(archive));
    const out = join(dir, 'out');
    execFileSync('mkdir', [out]);
    const listed = extract(out, file).trim().split('\n');
    expect(listed).toContain(`top/${longName}`);
    expect(listed).toContain(`top/${veryLong}`);

    expect(await readFile(join(out, 'top/script.sh'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect((await lstat(join(out, 'top/script.sh'))).mode & 0o777).toBe(0o755);
    expect((await lstat(join(out, 'top/secret.json'))).mode & 0o777).toBe(0o600);
    expect((await lstat(join(out, 'top/script.sh'))).mtimeMs).toBe(mtime);
    expect((await readFile(join(out, 'top/empty'))).length).toBe(0);
    expect(await readFile(join(out, 'top/exact-block'))).toEqual(Buffer.alloc(BLOCK, 0x61));
    expect(await readFile(join(out, 'top', longName), 'utf8')).toBe('long');
    expect(await readFile(join(out, 'top', veryLong), 'utf8')).toBe('very long');
    expect(await readFile(join(out, 'top/ünïcødé.txt'), 'utf8')).toBe('utf8 name');
    expect(await readlink(join(out, 'top/current'))).toBe('script.sh');
    expect(await readlink(join(out, 'top/far'))).toBe(longLink);
  });

  it('writes valid header checksums (tar -t refuses a bad one)', async () => {
    const good = Buffer.concat([...tarEntry({ type: 'file', path: 'a.txt', data: Buffer.from('a') }), TAR_END]);
    const file = join(dir, 'good.tar');
    await writeFile(file, good);
    expect(execFileSync('tar', ['-tf', file], { encoding: 'utf8' })).toBe('a.txt\n');
    const bad = Buffer.from(good);
    bad[0] = 0x62; // name "b.txt": the stored checksum no longer matches
    await writeFile(file, bad);
    expect(() => execFileSync('tar', ['-tf', file], { stdio: 'pipe' })).toThrow();
  });

  it('reads as one archive when its entries come in several gzip members', async () => {
    const first = gzipSync(Buffer.concat(tarEntry({ type: 'file', path: 'one.txt', data: Buffer.from('1') })));
    const second = gzipSync(Buffer.concat(tarEntry({ type: 'file', path: 'two.txt', data: Buffer.from('2') })));
    const file = join(dir, 'members.tar.gz');
    await writeFile(file, Buffer.concat([first, second, gzipSync(TAR_END)]));
    expect(execFileSync('tar', ['-tzf', file], { encoding: 'utf8' })).toBe('one.txt\ntwo.txt\n');
  });

  it.each([['/etc/passwd'], ['../escape'], ['a/../../b'], ['']])('refuses the unsafe path %j', (path) => {
    expect(() => tarEntry({ type: 'file', path, data: Buffer.alloc(0) })).toThrow(/BUNDLE_TAR_INVALID|refusing tar path/);
  });

  it('splits a long path at a slash into prefix and name', () => {
    expect(splitUstarPath('short')).toEqual({ prefix: '', name: 'short' });
    const split = splitUstarPath(longName);
    expect(split).toBeDefined();
    expect(`${split?.prefix}/${split?.name}`).toBe(longName);
    expect(splitUstarPath(veryLong)).toBeUndefined();
  });
});
