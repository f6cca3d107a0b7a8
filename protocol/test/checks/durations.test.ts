import { describe, expect, it } from 'vitest';
import { decodePayload } from '../../src/index.js';

const agentConfig = (collector: Record<string, unknown>, extra: Record<string, unknown> = {}): string =>
  JSON.stringify({ collectors: [collector], ...extra });

describe('agent.json durations', () => {
  it('reads duration strings in duration fields', () => {
    const text = agentConfig(
      { type: 'simulated', intervalMs: '10s', metrics: { temp: { base: 20, periodS: '1m' } } },
      {
        processing: { window: { ms: '5m', fn: 'max' }, batch: { maxSamples: 10, maxAgeMs: '1s' } },
        reconnect: { minMs: '1s', maxMs: '1h30m' },
      },
    );
    expect(decodePayload('AgentConfig', text)).toEqual({
      ok: true,
      value: {
        collectors: [{ type: 'simulated', intervalMs: 10_000, metrics: { temp: { base: 20, periodS: 60 } } }],
        processing: { window: { ms: 300_000, fn: 'max' }, batch: { maxSamples: 10, maxAgeMs: 1000 } },
        reconnect: { minMs: 1000, maxMs: 5_400_000 },
      },
    });
  });

  it('refuses a duration string it cannot read, naming the field', () => {
    expect(decodePayload('AgentConfig', agentConfig({ type: 'system', intervalMs: '5 minutes' }))).toEqual({
      ok: false,
      code: 'PAYLOAD_INVALID',
      reason: 'collectors[0].intervalMs: invalid duration "5 minutes" (use e.g. 500ms, 1s, 5m, 12h, 90d)',
      path: 'collectors[0].intervalMs',
    });
  });

  it('leaves strings in other fields alone', () => {
    const result = decodePayload('AgentConfig', agentConfig({ type: 'command', intervalMs: 1000, cmd: '5m', timeoutMs: '2s', format: 'kv' }));
    expect(result).toMatchObject({ ok: true, value: { collectors: [{ cmd: '5m', timeoutMs: 2000 }] } });
  });

  it('does not read duration strings in a DesiredConfig, which machines write', () => {
    const text = JSON.stringify({ v: 1, version: 1, collectors: [{ type: 'system', intervalMs: '10s' }], limits: {} });
    expect(decodePayload('DesiredConfig', text)).toMatchObject({ ok: false, path: 'collectors[0].intervalMs' });
  });
});
