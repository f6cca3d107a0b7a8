import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';
import { redactDatabaseUrl } from '../../src/db/postgres.js';

// OUTPOST_DATABASE_URL (issue 15, brief P): PostgreSQL for state; checked at load, never printed.
function load(env: Record<string, string>): ReturnType<typeof loadConfig> {
  return loadConfig({ env, cwd: '/srv/outpost', networkInterfaces: () => ({}), checkFile: () => undefined, readFile: () => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); } });
}

describe('OUTPOST_DATABASE_URL', () => {
  it('is absent by default: the embedded SQLite state database', () => {
    const result = load({});
    expect(result.ok && result.config.database).toBe(undefined);
  });

  it('takes postgres:// and postgresql:// URLs with the pool, statement timeout, connect timeout and probe interval', () => {
    for (const url of ['postgres://outpost:s3cret@db.example:5432/outpost', 'postgresql://outpost@127.0.0.1/state', 'postgres://u:p%40ss@[::1]:6543/x?sslmode=require']) {
      const result = load({ OUTPOST_DATABASE_URL: url });
      expect(result.ok ? result.config.database : result.errors).toEqual({ url, poolMax: 10, statementTimeoutMs: 30_000, connectTimeoutMs: 5_000, probeIntervalMs: 5_000 });
    }
    const tuned = load({ OUTPOST_DATABASE_URL: 'postgres://db/outpost', OUTPOST_DATABASE_POOL_MAX: '3', OUTPOST_DATABASE_STATEMENT_TIMEOUT: '2s', OUTPOST_DATABASE_CONNECT_TIMEOUT: '1s', OUTPOST_DATABASE_PROBE_INTERVAL: '1s' });
    expect(tuned.ok ? tuned.config.database : tuned.errors).toEqual({ url: 'postgres://db/outpost', poolMax: 3, statementTimeoutMs: 2_000, connectTimeoutMs: 1_000, probeIntervalMs: 1_000 });
  });

  it('refuses anything else, saying what it expects, without printing the value', () => {
    for (const url of ['mysql://root:hunter2@db/outpost', 'db:5432/outpost', 'postgres://root:hunter2@db', 'postgres://root:hunter2@db/', 'postgres://root:hunter2@db/a/b', 'sqlite:///var/hunter2.db']) {
      const result = load({ OUTPOST_DATABASE_URL: url });
      expect(result.ok).toBe(false);
      const text = result.ok ? '' : result.errors.join('\n');
      expect(text).toMatch(/^OUTPOST_DATABASE_URL/);
      expect(text).toContain('a postgres:// or postgresql:// URL with a host and a database');
      expect(text).not.toContain('hunter2');
    }
  });

  it('refuses waits under 1 s and an unbounded pool', () => {
    const result = load({ OUTPOST_DATABASE_URL: 'postgres://db/outpost', OUTPOST_DATABASE_PROBE_INTERVAL: '500ms', OUTPOST_DATABASE_POOL_MAX: '0' });
    expect(result.ok ? [] : result.errors.map((line) => line.split(/[ =]/)[0])).toEqual(expect.arrayContaining(['OUTPOST_DATABASE_PROBE_INTERVAL', 'OUTPOST_DATABASE_POOL_MAX']));
  });

  it('masks the password wherever the URL is shown', () => {
    expect(redactDatabaseUrl('postgres://outpost:s3cret@db:5432/outpost')).toBe('postgres://outpost:***@db:5432/outpost');
    expect(redactDatabaseUrl('postgres://outpost@db/outpost')).toBe('postgres://outpost@db/outpost');
    expect(redactDatabaseUrl('not a url s3cret')).toBe('(unparseable URL)');
  });
});
