import { afterEach, describe, expect, it } from 'vitest';
import { createCommandCollector } from '../../src/collectors/index.js';
import type { CommandCollector } from '@outpost/protocol';
import { FakeHost, memoryLog } from './fake-host.js';

const host = new FakeHost();
afterEach(() => host.cleanup());

function command(cmd: string, overrides: Partial<CommandCollector> = {}): CommandCollector {
  return { type: 'command', intervalMs: 1000, cmd, timeoutMs: 5000, format: 'kv', ...overrides };
}

describe('command collector', () => {
  it('runs a program with its arguments and no shell, and parses name=value lines', async () => {
    const script = await host.script('echo "# a comment"; echo "cpu.temp=51.2"; echo; echo "fan_on = true"; echo "args=$#"; echo "first.len=${#1}"');
    // Passed as one argv entry, never interpreted: a shell would have split and expanded it.
    const tricky = '$(exit 9) ; x *';
    const collector = createCommandCollector(command(script, { args: [tricky, 'b'] }));
    expect(await collector.collect(0)).toEqual({ 'cpu.temp': 51.2, fan_on: true, args: 2, 'first.len': tricky.length });
    expect(collector.stats().errors).toBe(0);
  });

  it('parses a JSON object', async () => {
    const script = await host.script(`echo '{"rpm": 1200, "ok": false}'`);
    expect(await createCommandCollector(command(script, { format: 'json' })).collect(0)).toEqual({ rpm: 1200, ok: false });
  });

  it('keeps the good metrics and counts every bad line, name and value', async () => {
    const log = memoryLog();
    const script = await host.script('echo "good=1"; echo "no equals sign"; echo "1bad=2"; echo "time=3"; echo "text=hello"; echo "inf=Infinity"');
    const collector = createCommandCollector(command(script), { log });
    expect(await collector.collect(0)).toEqual({ good: 1 });
    expect(collector.stats().errors).toBe(5);
    expect(log.lines.map((line) => line.message)).toEqual([
      expect.stringContaining('not a name=value line'),
      expect.stringContaining('"1bad" does not match'),
      expect.stringContaining('"time" is reserved'),
      expect.stringContaining('value of text is not a number'),
      expect.stringContaining('value of inf is not a number'),
    ]);
  });

  it.each([
    ['not JSON', 'echo "{nope"', 'output is not JSON'],
    ['an array', 'echo "[1,2]"', 'not a JSON object'],
    ['a string value', `echo '{"state":"on"}'`, 'value of state is not a number'],
    ['__proto__', `echo '{"__proto__":1}'`, 'does not match'],
  ])('counts JSON output that is %s', async (_name, body, message) => {
    const collector = createCommandCollector(command(await host.script(body), { format: 'json' }));
    expect(await collector.collect(0)).toEqual({});
    expect(collector.stats()).toMatchObject({ errors: 1, lastError: expect.stringContaining(message) });
  });

  it('kills a program (and its children) that outlives timeoutMs, and counts it', async () => {
    const script = await host.script('echo "x=1"; sleep 30 & sleep 30');
    const collector = createCommandCollector(command(script, { timeoutMs: 200 }));
    const started = Date.now();
    expect(await collector.collect(0)).toEqual({});
    expect(Date.now() - started).toBeLessThan(5000);
    expect(collector.stats()).toMatchObject({ errors: 1, lastError: expect.stringContaining('timed out after 200 ms') });
  });

  it('counts a non-zero exit with the first line of stderr, and a program that does not exist', async () => {
    const failing = createCommandCollector(command(await host.script('echo "sensor busy" >&2; exit 3')));
    expect(await failing.collect(0)).toEqual({});
    expect(failing.stats().lastError).toMatch(/exited with code 3: sensor busy/);
    const missing = createCommandCollector(command('/nonexistent/probe'));
    expect(await missing.collect(0)).toEqual({});
    expect(missing.stats().lastError).toMatch(/could not be started: .*ENOENT/);
  });

  it('logs a repeated problem once, then every 60th time, while counting each', async () => {
    const log = memoryLog();
    const collector = createCommandCollector(command(await host.script('exit 1')), { log });
    for (let i = 0; i < 3; i += 1) await collector.collect(i);
    expect(collector.stats().errors).toBe(3);
    expect(log.lines).toHaveLength(1);
  });
});
