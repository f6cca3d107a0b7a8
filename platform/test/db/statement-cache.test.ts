import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { openStateDatabase } from '../../src/db/database.js';
import { withStatementCache } from '../../src/db/statement-cache.js';

const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-statements-'));
  dirs.push(dir);
  return dir;
}

describe('withStatementCache', () => {
  it('hands back the statement prepared for the same SQL, and a new one for other SQL', () => {
    const cache = withStatementCache(new Database(':memory:'));
    const first = cache.prepare('select 1 as one');
    expect(cache.prepare('select 1 as one')).toBe(first);
    expect(cache.prepare('select 2 as two')).not.toBe(first);
    expect(cache.cached()).toBe(2);
    cache.close();
  });

  it('keeps at most `max` statements, dropping the least recently used', () => {
    const cache = withStatementCache(new Database(':memory:'), 2);
    const one = cache.prepare('select 1');
    const two = cache.prepare('select 2');
    expect(cache.prepare('select 1')).toBe(one); // now the most recent
    cache.prepare('select 3'); // drops `select 2`
    expect(cache.cached()).toBe(2);
    expect(cache.prepare('select 1')).toBe(one);
    expect(cache.prepare('select 2')).not.toBe(two);
    cache.close();
  });

  it('prepares a fresh statement while the kept one is still being iterated', () => {
    const sqlite = new Database(':memory:');
    sqlite.exec('create table t (n integer); insert into t values (1), (2), (3)');
    const cache = withStatementCache(sqlite);
    const streaming = cache.prepare('select n from t order by n');
    const rows = streaming.iterate([]);
    expect(rows.next().value).toEqual({ n: 1 });
    const other = cache.prepare('select n from t order by n');
    expect(other).not.toBe(streaming);
    expect(other.all([])).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect([...rows]).toEqual([{ n: 2 }, { n: 3 }]);
    cache.close();
  });

  it('runs a kept statement again after a migration changed the table under it', () => {
    const sqlite = new Database(':memory:');
    sqlite.exec('create table t (a integer); insert into t values (1)');
    const cache = withStatementCache(sqlite);
    expect(cache.prepare('select * from t').all([])).toEqual([{ a: 1 }]);
    sqlite.exec('alter table t add column b text');
    sqlite.exec("update t set b = 'x'");
    expect(cache.prepare('select a, b from t').all([])).toEqual([{ a: 1, b: 'x' }]);
    expect(cache.prepare('select * from t').all([])).toEqual([{ a: 1, b: 'x' }]);
    cache.close();
  });
});

describe('the state database with kept statements', () => {
  it('runs queries, transactions (committed and rolled back) and streams as before', async () => {
    const opened = openStateDatabase(await tempDir());
    const db = opened.db.withTables<{ items: { id: number; name: string } }>();
    await sql`create table items (id integer primary key, name text not null)`.execute(db);
    for (let round = 0; round < 3; round++) {
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('items').values({ id: round * 2, name: `a${String(round)}` }).execute();
        await trx.insertInto('items').values({ id: round * 2 + 1, name: `b${String(round)}` }).execute();
      });
    }
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('items').values({ id: 100, name: 'kept?' }).execute();
        await trx.insertInto('items').values({ id: 0, name: 'duplicate id' }).execute();
      }),
    ).rejects.toThrow(/UNIQUE|constraint/i);
    const query = db.selectFrom('items').select('name').orderBy('id');
    // The same SQL streamed, left half-read (kysely's one SQLite connection is held while a stream is open), then run.
    const names: string[] = [];
    for await (const row of query.stream()) {
      names.push(row.name);
      if (names.length === 2) break;
    }
    expect(names).toEqual(['a0', 'b0']);
    expect((await query.execute()).map((row) => row.name)).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
    await opened.close();
  });
});
