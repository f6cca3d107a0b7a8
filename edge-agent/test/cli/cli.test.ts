import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/run-cli.js';
import { openOutbox } from '../../src/outbox/index.js';
import { createPipeline, validatePipelineConfig } from '../../src/processing/index.js';

function cli() {
  let out = '';
  let err = '';
  const deps = {
    io: { out: (t: string) => void (out += t), err: (t: string) => void (err += t) },
    dataPath: { openOutbox, createPipeline, validatePipelineConfig },
    agentVersion: '0.1.0',
    signals: { once: () => undefined },
  };
  return { run: (argv: string[]) => runCli(argv, deps), out: () => out, err: () => err };
}

describe('the outpost-agent command line', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-cli-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each(['enroll', 'run', 'status', 'check-config'])('%s --help prints its usage and the common options', async (name) => {
    const c = cli();
    expect(await c.run([name, '--help'])).toBe(0);
    expect(c.out()).toContain(`Usage: outpost-agent ${name}`);
    expect(c.out()).toContain('--state-dir DIR');
  });

  it('answers an unknown command or option with one line and exit 2', async () => {
    const c = cli();
    expect(await c.run(['explode'])).toBe(2);
    expect(await c.run(['status', '--colour'])).toBe(2);
    expect(c.err().trim().split('\n')).toEqual([expect.stringContaining('unknown command "explode"'), expect.stringContaining('unknown option --colour')]);
  });

  it('says what is missing for enroll, and that an unenrolled device cannot run or report status', async () => {
    const c = cli();
    expect(await c.run(['enroll', '--server', 'https://x.example:8443', '--state-dir', dir])).toBe(2);
    expect(c.err()).toMatch(/--token or --token-file is required/);
    expect(await c.run(['run', '--state-dir', dir])).toBe(1);
    expect(await c.run(['status', '--state-dir', dir])).toBe(1);
    expect(c.err()).toMatch(/holds no enrollment: run outpost-agent enroll/);
  });

  it('refuses plain http for enrollment unless --insecure', async () => {
    const c = cli();
    expect(await c.run(['enroll', '--server', 'http://x.example', '--token', 't', '--state-dir', join(dir, 'e')])).toBe(1);
    expect(c.err()).toMatch(/refusing plain http:\/\/x\.example.*--insecure.*AGENT_INSECURE_REFUSED/);
  });

  it('check-config lists the collectors of a valid file and refuses an invalid one with the reason', async () => {
    const file = join(dir, 'agent.json');
    await writeFile(file, JSON.stringify({ collectors: [{ type: 'command', intervalMs: 5000, cmd: 'uptime', timeoutMs: 1000, format: 'kv' }], processing: { batch: { maxSamples: 5000, maxAgeMs: 1000 } } }));
    const ok = cli();
    expect(await ok.run(['check-config', '--config', file, '--state-dir', dir])).toBe(0);
    expect(ok.out()).toMatch(/collect command "uptime" \(kv\) every 5 s/);
    // Batching is clamped to the platform's sample limit (1000 by default).
    expect(ok.out()).toMatch(/batch up to 1000 samples/);
    expect(ok.out()).toContain('remote command collectors: none allowed (allowCommands is empty)');
    await writeFile(file, JSON.stringify({ collectors: [{ type: 'command', intervalMs: 5000, cmd: '/no/such/program', timeoutMs: 1000, format: 'kv' }] }));
    const bad = cli();
    expect(await bad.run(['check-config', '--config', file, '--state-dir', dir])).toBe(1);
    expect(bad.err()).toMatch(/\/no\/such\/program.*does not exist/);
  });
});
