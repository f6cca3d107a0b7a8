import { afterEach, describe, expect, it } from 'vitest';
import type { Limits } from '@outpost/protocol';
import { validatePipelineConfig } from '../../src/processing/index.js';
import { FakeHost } from '../collectors/fake-host.js';

const host = new FakeHost();
afterEach(() => host.cleanup());

const limits: Limits = { maxPayloadBytes: 262_144, maxSamples: 1000, maxMetrics: 100, msgsPerS: 100, bytesPerS: 1_048_576 };
const rule = {
  v: 1,
  id: 'r1',
  name: 'hot',
  kind: 'threshold',
  scope: {},
  metric: 'temp',
  condition: '>',
  threshold: 30,
  forMs: 0,
  severity: 'warning',
  cooldownMs: 0,
  enabled: true,
};

describe('validatePipelineConfig', () => {
  it('accepts a good configuration (an unknown metric in a deadband is fine) and freezes it', async () => {
    const script = await host.script('echo x=1');
    const result = validatePipelineConfig({
      collectors: [
        { type: 'system', intervalMs: 10_000 },
        { type: 'command', intervalMs: 10_000, cmd: script, timeoutMs: 1000, format: 'kv' },
        { type: 'command', intervalMs: 10_000, cmd: 'sh', args: ['-c', 'echo y=2'], timeoutMs: 1000, format: 'kv' },
      ],
      processing: { deadband: { 'not.yet.seen': 0.5 } },
      rules: [rule],
      limits,
    });
    expect(result.ok).toBe(true);
    if (result.ok) expect(Object.isFrozen(result.value.collectors[0])).toBe(true);
  });

  it.each([
    ['not an object', [], 'must be an object'],
    ['an unknown field', { collectors: [], limits, extra: 1 }, 'extra: unknown field'],
    ['a schema error', { collectors: [{ type: 'command', intervalMs: 1, cmd: 'sh', timeoutMs: 1, format: 'xml' }], limits }, 'collectors[0].format'],
    ['missing limits', { collectors: [] }, 'limits'],
    ['a rule without its threshold', { collectors: [], rules: [{ ...rule, threshold: undefined }], limits }, 'threshold'],
    ['a rule on a reserved name', { collectors: [], rules: [{ ...rule, metric: 'device' }], limits }, 'rules[0].metric: metric name "device" is reserved'],
    ['a rule on a bad name', { collectors: [], rules: [{ ...rule, metric: '9lives' }], limits }, 'rules[0].metric'],
    ['a missing program', { collectors: [{ type: 'command', intervalMs: 1, cmd: '/no/such/probe', timeoutMs: 1, format: 'kv' }], limits }, 'collectors[0].cmd: program "/no/such/probe" does not exist'],
    ['a program not on the path', { collectors: [{ type: 'command', intervalMs: 1, cmd: 'no-such-probe-xyz', timeoutMs: 1, format: 'kv' }], limits }, 'not found in the search path'],
    ['a command line in cmd', { collectors: [{ type: 'command', intervalMs: 1, cmd: 'vcgencmd measure_temp', timeoutMs: 1, format: 'kv' }], limits }, 'put its arguments in args'],
    ['a reserved simulated metric', { collectors: [{ type: 'simulated', intervalMs: 1, metrics: { time: { base: 1 } } }], limits }, 'collectors[0].metrics: metric name "time" is reserved'],
    ['a 1-Wire id too long for a name', { collectors: [{ type: 'w1', intervalMs: 1, sensors: ['28-' + 'a'.repeat(60)] }], limits }, 'collectors[0].sensors[0]'],
  ])('refuses %s with the reason', (_name, config, reason) => {
    const result = validatePipelineConfig(config);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain(reason);
  });

  it('refuses a file that is not executable', async () => {
    const script = await host.script('echo x=1');
    const { chmod } = await import('node:fs/promises');
    await chmod(script, 0o644);
    const result = validatePipelineConfig({ collectors: [{ type: 'command', intervalMs: 1, cmd: script, timeoutMs: 1, format: 'kv' }], limits });
    expect(result).toEqual({ ok: false, reason: expect.stringContaining('is not an executable file') });
  });

  it('looks a bare program name up in the given search path', async () => {
    const script = await host.script('echo x=1');
    const { dirname, basename } = await import('node:path');
    const config = { collectors: [{ type: 'command', intervalMs: 1, cmd: basename(script), timeoutMs: 1, format: 'kv' }], limits };
    expect(validatePipelineConfig(config, { searchPath: dirname(script) }).ok).toBe(true);
    expect(validatePipelineConfig(config, { searchPath: '/nonexistent' }).ok).toBe(false);
  });
});
