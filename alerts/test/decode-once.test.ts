/**
 * Decode once (issue 12, item 2): the batch the publish hook validated is what ingest and the
 * alerts part see — typed, never validated again — so a limits change between the write and
 * the read cannot make them judge the same record differently. (The broker's own half, the
 * TelemetryRecords port, is tested in broker/test/ingest/decode-once.test.ts.)
 */
import { resolveLimits, topics, type TelemetryBatch } from '@outpost/protocol';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ruleBody, startAlertsPlatform, type AlertsPlatform } from './helpers/alerts-platform.js';
import { connectDevice, waitFor } from '@outpost/e2e';

describe('a telemetry batch decoded once, at the publish hook', () => {
  let p: AlertsPlatform;
  let client: MqttClient | undefined;

  beforeAll(async () => {
    // The broker validates with the default limits (100 metrics per sample). Versions before issue 12
    // re-checked spool records in the alert engine with `limits` from its options — stricter ones
    // here (2 metrics), as after a limits change. That option is gone (nothing re-checks), so it is
    // passed untyped: an engine that still judged records again would miss the alert below.
    const stricter = { latenessMs: 60_000, limits: resolveLimits({ maxMetrics: 2 }) };
    p = await startAlertsPlatform({ alerts: stricter });
  });
  afterAll(async () => {
    await client?.endAsync();
    await p.close();
  });

  it('ingest and alerts judge a record alike after a limits change between write and read', async () => {
    const creds = await p.enroll('freezer-77');
    const rule = await p.api('POST', '/api/v1/rules', ruleBody({ id: 'decode-once-warm', scope: { devices: ['freezer-77'] } }));
    expect(rule.status).toBe(201);
    client = await connectDevice(p.mqttUrl, creds);
    const ts = Date.now() - 1_000;
    const batch: TelemetryBatch = { v: 1, seq: 1, samples: [{ ts, metrics: { temperature: -3, humidity: 40, door: true } }] };
    await client.publishAsync(topics.telemetry('freezer-77'), JSON.stringify(batch), { qos: 1 });

    const fired = await waitFor(() => p.events.find((e) => e.ruleId === 'decode-once-warm'), { description: 'the alert on the accepted batch' });
    expect(fired).toMatchObject({ state: 'firing', deviceId: 'freezer-77', value: -3 });
    const stored = await waitFor(async () => {
      const latest = await p.platform.telemetry.latest('freezer-77');
      return Object.keys(latest).length === 3 ? latest : undefined;
    }, { description: 'the ingested samples' });
    expect(Object.keys(stored).sort()).toEqual(['door', 'humidity', 'temperature']);
    expect(await p.metric('outpost_alert_spool_records_refused_total')).toBe(0);
  });
});
