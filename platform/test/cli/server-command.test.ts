import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunServerOptions } from '../../src/server/run-server.js';
import { makeHome, outpost } from './cli-harness.js';

describe('outpost server', () => {
  let home: Awaited<ReturnType<typeof makeHome>>;
  beforeEach(async () => {
    home = await makeHome();
  });
  afterEach(() => home.cleanup());

  it('hands --config, --role and the environment to runServer and exits with its code', async () => {
    const calls: RunServerOptions[] = [];
    const env = { OUTPOST_HTTP_PORT: '0' };
    const result = await outpost(['server', '--config', '/etc/outpost.json', '--role', 'broker'], {
      home: home.dir,
      env,
      runServer: (options) => {
        calls.push(options);
        options.stdout.write('listening\n');
        return Promise.resolve(78);
      },
    });
    expect(result).toEqual({ code: 78, stdout: 'listening\n', stderr: '' });
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ configFile: '/etc/outpost.json', role: 'broker', env });
  });

  it('leaves out the flags that were not given', async () => {
    const calls: RunServerOptions[] = [];
    const result = await outpost(['server'], { home: home.dir, runServer: (options) => (calls.push(options), Promise.resolve(0)) });
    expect(result.code).toBe(0);
    expect(calls[0]).not.toHaveProperty('configFile');
    expect(calls[0]).not.toHaveProperty('role');
    expect(calls[0]).not.toHaveProperty('logFormat');
  });

  it('hands --log-format to runServer and refuses a format it does not know', async () => {
    const calls: RunServerOptions[] = [];
    const runServer = (options: RunServerOptions): Promise<number> => (calls.push(options), Promise.resolve(0));
    expect((await outpost(['server', '--log-format', 'pretty'], { home: home.dir, runServer })).code).toBe(0);
    expect(calls[0]).toMatchObject({ logFormat: 'pretty' });
    const refused = await outpost(['server', '--log-format', 'yaml'], { home: home.dir, runServer });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--log-format/);
    expect(calls).toHaveLength(1);
  });
});
