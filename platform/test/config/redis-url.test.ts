import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/index.js';

// OUTPOST_REDIS_URL (issue 15, docs/adr/0010-broker-cluster.md): accepted, checked, never printed.
function load(env: Record<string, string>): ReturnType<typeof loadConfig> {
  return loadConfig({ env, cwd: '/srv/outpost', networkInterfaces: () => ({}), checkFile: () => undefined, readFile: () => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); } });
}

describe('OUTPOST_REDIS_URL', () => {
  it('is absent by default: one process, no Redis', () => {
    const result = load({});
    expect(result.ok && result.config.redisUrl).toBe(undefined);
  });

  it('takes redis:// and rediss:// URLs with a host, a password and a database number', () => {
    for (const url of ['redis://127.0.0.1:6379', 'redis://:s3cret@cache:6380/2', 'rediss://cache.example', 'redis://cache/']) {
      const result = load({ OUTPOST_REDIS_URL: url });
      expect(result.ok ? result.config.redisUrl : result.errors).toBe(url);
    }
  });

  it('refuses anything else, saying what it expects, without printing the value', () => {
    for (const url of ['http://cache:6379', 'cache:6379', 'redis://', 'redis://:hunter2@cache/db']) {
      const result = load({ OUTPOST_REDIS_URL: url });
      expect(result.ok).toBe(false);
      const text = result.ok ? '' : result.errors.join('\n');
      expect(text).toMatch(/^OUTPOST_REDIS_URL/);
      expect(text).toContain('a redis:// or rediss:// URL with a host');
      expect(text).not.toContain('hunter2');
    }
  });
});
