import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Command } from '@outpost/protocol';
import { createCommandExecutor } from '../../src/runtime/command-executor.js';
import { commandRefusal } from '../../src/runtime/command-rules.js';

const NOW = 1_700_000_000_000;
const command = (name: string, expiresAt = NOW + 60_000, id = `c-${name}`): Command => ({ v: 1, id, name, args: {}, expiresAt });
const silent = { info: () => undefined, warn: () => undefined };

describe('commands', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-cmd-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  function executor(overrides: { collectNow?: () => Promise<void>; requestRestart?: () => void } = {}) {
    return createCommandExecutor({
      now: () => NOW,
      log: silent,
      rebootCommand: `echo rebooted > ${join(dir, 'rebooted')}`,
      collectNow: overrides.collectNow ?? (async () => undefined),
      diagnostics: () => ({ agentVersion: '0.1.0', outbox: { depth: 3 } }),
      requestRestart: overrides.requestRestart ?? (() => undefined),
    });
  }

  it.each([
    [NOW - 1, 'COMMAND_EXPIRED'],
    [NOW, 'COMMAND_EXPIRED'],
    [NOW + 1, undefined],
  ])('a command expiring at now%+d is refused with %s', (expiresAt, code) => {
    expect(commandRefusal(command('ping', expiresAt), NOW)?.code).toBe(code);
  });

  it('refuses an expired command with its reason, without running it', async () => {
    let collected = 0;
    const { result } = await executor({ collectNow: async () => void (collected += 1) }).execute(command('collect-now', NOW - 5_000));
    expect(result).toMatchObject({ ok: false, error: { code: 'COMMAND_EXPIRED', message: expect.stringContaining('expired at') } });
    expect(collected).toBe(0);
  });

  it('answers ping, collect-now and diagnostics', async () => {
    let collected = 0;
    const run = executor({ collectNow: async () => void (collected += 1) });
    expect((await run.execute(command('ping'))).result).toEqual({ v: 1, id: 'c-ping', ok: true, output: 'pong', at: NOW });
    expect((await run.execute(command('collect-now'))).result.ok).toBe(true);
    expect(collected).toBe(1);
    const diag = (await run.execute(command('diagnostics'))).result;
    expect(JSON.parse(diag.output ?? '{}')).toMatchObject({ agentVersion: '0.1.0', outbox: { depth: 3 } });
  });

  it('refuses an unknown command by name', async () => {
    expect((await executor().execute(command('format-disk'))).result).toMatchObject({ ok: false, error: { code: 'COMMAND_UNKNOWN' } });
  });

  it('runs a command delivered twice only once', async () => {
    let collected = 0;
    const run = executor({ collectNow: async () => void (collected += 1) });
    const first = await run.execute(command('collect-now', NOW + 1000, 'same-id'));
    const again = await run.execute(command('collect-now', NOW + 1000, 'same-id'));
    expect(again.result).toEqual(first.result);
    expect(collected).toBe(1);
  });

  it('runs the reboot hook after the result, and asks for a restart on restart-agent', async () => {
    const reboot = await executor().execute(command('reboot'));
    expect(reboot.result.ok).toBe(true);
    await reboot.after?.();
    expect(await readFile(join(dir, 'rebooted'), 'utf8')).toBe('rebooted\n');
    let restarts = 0;
    const restart = await executor({ requestRestart: () => void (restarts += 1) }).execute(command('restart-agent'));
    expect(restarts).toBe(0);
    await restart.after?.();
    expect(restarts).toBe(1);
  });

  it('reports a failing collect-now as a failed result with its code', async () => {
    const failing = executor({
      collectNow: async () => {
        throw Object.assign(new Error('sensor gone'), { code: 'COLLECTOR_FAILED' });
      },
    });
    expect((await failing.execute(command('collect-now'))).result).toMatchObject({ ok: false, error: { code: 'COLLECTOR_FAILED', message: 'sensor gone' } });
  });
});
