import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topics, type AlertEvent, type TelemetryBatch } from '@outpost/protocol';
import { openSqliteTelemetryStore, type SqliteTelemetryStore } from '@outpost/telemetry';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ruleBody, startAlertsPlatform, type AlertsPlatform } from './helpers/alerts-platform.js';
import { connectDevice, waitFor } from '@outpost/e2e';

interface TestAnswer {
  ruleId: string;
  samples: number;
  devices: number;
  counts: { firing: number; resolved: number };
  transitions: { deviceId: string; state: string; value: number | null; ts: number; late: boolean }[];
}

describe('rule backtest on stored telemetry', () => {
  let p: AlertsPlatform;
  let store: SqliteTelemetryStore;
  let dir: string;
  let client: MqttClient;
  const T0 = Date.now() - 55_000;
  // A freezer warming up, staying warm, recovering, warming again.
  const series: [number, number][] = [
    [0, -20], [5, -14], [10, -13], [15, -12], [20, -11], [25, -16], [30, -19], [35, -14], [40, -10], [45, -9], [50, -25],
  ];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-backtest-'));
    store = openSqliteTelemetryStore({ file: join(dir, 'telemetry.sqlite'), retentionDays: 30, deadLetterFile: join(dir, 'dead.jsonl'), retentionIntervalMs: 0 });
    p = await startAlertsPlatform({ telemetry: store, alerts: { latenessMs: 120_000, backtestPageSize: 4 } });
    const creds = await p.enroll('bt-freezer');
    client = await connectDevice(p.mqttUrl, creds);
  });
  afterAll(async () => {
    await client.endAsync();
    await p.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the same transitions as the live run of the same data', async () => {
    await p.api('POST', '/api/v1/rules', ruleBody({ id: 'parity', forMs: 10_000, clearThreshold: -18, scope: { groups: ['test'] } }));
    let seq = 0;
    for (const [second, temperature] of series) {
      const batch: TelemetryBatch = { v: 1, seq: ++seq, samples: [{ ts: T0 + second * 1000, metrics: { temperature } }] };
      await client.publishAsync(topics.telemetry('bt-freezer'), JSON.stringify(batch), { qos: 1 });
    }
    // The store holds what ingest would have written (ingest is another module's; these are the same points).
    await store.write(series.map(([second, temperature]) => ({ deviceId: 'bt-freezer', ts: T0 + second * 1000, metrics: { temperature } })));
    // Another device's data: out of the rule's scope (not in group "test"), never replayed.
    await store.write(series.map(([second]) => ({ deviceId: 'elsewhere', ts: T0 + second * 1000, metrics: { temperature: 50 } })));
    await waitFor(() => p.events.filter((e) => e.ruleId === 'parity').length >= 4 || undefined, { description: 'the live transitions' });
    await p.alerts.idle();
    const liveRun = p.events.filter((e: AlertEvent) => e.ruleId === 'parity').map((e) => ({ deviceId: e.deviceId, state: e.state, value: e.value, ts: e.ts }));
    expect(liveRun.map((t) => t.state)).toEqual(['firing', 'resolved', 'firing', 'resolved']);

    const res = await p.api('POST', '/api/v1/rules/parity/test', { from: new Date(T0).toISOString(), to: T0 + 60_000 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const answer = res.body as TestAnswer;
    expect(answer.transitions.map(({ deviceId, state, value, ts }) => ({ deviceId, state, value, ts }))).toEqual(liveRun);
    expect(answer).toMatchObject({ ruleId: 'parity', samples: series.length, devices: 1, counts: { firing: 2, resolved: 2 } });
  });

  it('tests an unsaved rule, and absence on the replay clock', async () => {
    const res = await p.api('POST', '/api/v1/rules/test', {
      rule: ruleBody({ kind: 'absence', condition: undefined, threshold: undefined, absenceMs: 3_000, scope: { devices: ['bt-freezer'] } }),
      from: T0,
      to: T0 + 60_000,
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    // Samples every 5 s: each gap is a silence of 3 s; the last sample (50 s) leaves a silence until the end.
    const answer = res.body as TestAnswer;
    expect(answer.counts.firing).toBe(11);
    expect(answer.transitions[0]).toMatchObject({ state: 'firing', ts: T0 + 3_000, value: null });
    expect(answer.transitions[1]).toMatchObject({ state: 'resolved', ts: T0 + 5_000 });
  });

  it('reads many points at one instant across pages', async () => {
    const ts = T0 - 10_000;
    await store.write(Array.from({ length: 9 }, (_, i) => ({ deviceId: `crowd-${i}`, ts, metrics: { crowd: i } })));
    const res = await p.api('POST', '/api/v1/rules/test', { rule: ruleBody({ metric: 'crowd', threshold: 4 }), from: ts - 1, to: ts + 1 });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((res.body as TestAnswer).samples).toBe(9);
    // Unregistered devices are still in an all-devices scope.
    expect((res.body as TestAnswer).counts.firing).toBe(4);
  });

  it.each([
    ['to before from', { from: T0, to: T0 - 1 }, 'RULE_TEST_INVALID'],
    ['a range over the limit', { from: 0, to: 40 * 86_400_000 }, 'RULE_TEST_INVALID'],
    ['a time that is not a time', { from: 'yesterday', to: T0 }, 'RULE_TEST_INVALID'],
  ])('refuses %s with a 400', async (_name, body, code) => {
    const res = await p.api('POST', '/api/v1/rules/parity/test', body);
    expect(res.status).toBe(400);
    expect((res.body as { code: string }).code).toBe(code);
  });

  it('refuses a range holding more samples than allowed, and an unknown rule', async () => {
    const small = await startAlertsPlatform({ telemetry: store, alerts: { backtestMaxSamples: 5, backtestPageSize: 2 } });
    try {
      await small.api('POST', '/api/v1/rules', ruleBody({ id: 'big' }));
      const res = await small.api('POST', '/api/v1/rules/big/test', { from: T0, to: T0 + 60_000 });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'RULE_TEST_TOO_LARGE' });
      expect((await small.api('POST', '/api/v1/rules/nope/test', { from: T0, to: T0 + 1 })).status).toBe(404);
    } finally {
      await small.close();
    }
  });
});
