/**
 * Decode once (issue 12, item 2): the batch the publish hook validated is what ingest and the
 * alert engine see — typed, never validated again — so a limits change between the write and
 * the read cannot make them judge the same record differently.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveLimits, topics, type TelemetryBatch } from '@outpost/protocol';
import { openSpool, type SpoolEntry } from '@outpost/telemetry';
import type { MqttClient } from 'mqtt';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spoolSink } from '../../src/adapters/spool-sink.js';
import { PublishQuota } from '../../src/domain/publish-quota.js';
import { authorizePublish, type PublishHookDeps } from '../../src/hooks/authorize-publish.js';
import { InboxRouter } from '../../src/services/inbox-router.js';
import { MetricTypeGuard } from '../../src/services/metric-type-guard.js';
import { TelemetryRecords } from '../../src/services/telemetry-records.js';
import { ruleBody, startAlertsPlatform, type AlertsPlatform } from '../alerts/helpers/alerts-platform.js';
import { connectDevice } from '../helpers/mqtt-client.js';
import { waitFor } from '../helpers/poll.js';
import { CountingMetrics, FakeRegistry, FakeSession, RecordingOutbound, recordingLog } from '../services/fakes.js';

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

    const fired = await waitFor(() => p.events.find((e) => e.ruleId === 'decode-once-warm'), { what: 'the alert on the accepted batch' });
    expect(fired).toMatchObject({ state: 'firing', deviceId: 'freezer-77', value: -3 });
    const stored = await waitFor(async () => {
      const latest = await p.platform.telemetry.latest('freezer-77');
      return Object.keys(latest).length === 3 ? latest : undefined;
    }, { what: 'the ingested samples' });
    expect(Object.keys(stored).sort()).toEqual(['door', 'humidity', 'temperature']);
    expect(await p.metric('outpost_alert_spool_records_refused_total')).toBe(0);
  });
});

describe('TelemetryRecords', () => {
  const NOW = 1_700_000_000_000;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-decode-once-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("hands the hook's decoded batch to every consumer without parsing it again, and parses a replayed record once", async () => {
    const spool = await openSpool({ dir: join(dir, 'spool'), consumers: ['ingest', 'alerts'] }, { clock: { now: () => NOW } });
    const records = new TelemetryRecords({ consumers: 2 });
    const limits = resolveLimits({});
    const decoded: TelemetryBatch[] = [];
    const sink = spoolSink(spool, () => NOW, records);
    const inbox = new InboxRouter({
      registry: new FakeRegistry().port(),
      sink: { append: (deviceId, raw, batch) => (batch !== undefined && decoded.push(batch), sink.append(deviceId, raw, batch)), close: () => sink.close() },
      live: { publish: () => undefined },
      metrics: new CountingMetrics(),
      log: recordingLog(),
      elapsedMs: () => 0,
      seenIntervalMs: 60_000,
    });
    const deps: PublishHookDeps = {
      limits,
      quota: new PublishQuota(limits, 1_000),
      inbox,
      outbound: new RecordingOutbound(),
      metrics: new CountingMetrics(),
      log: recordingLog(),
      now: () => NOW,
      isCurrent: () => true,
      metricTypes: new MetricTypeGuard({ load: async () => [], add: async () => undefined }, () => NOW),
      wait: async () => true,
    };
    const session = new FakeSession({ kind: 'device', deviceId: 'dev-1', serial: '0a' });
    const payload = Buffer.from(JSON.stringify({ v: 1, seq: 9, samples: [{ ts: NOW, metrics: { t: 21.5 } }] }));
    expect(await authorizePublish(deps, session, { topic: topics.telemetry('dev-1'), payload, qos: 1, retain: false }, { will: false })).toEqual({ action: 'accept' });

    const ingestRead = await firstValueFrom(spool.readBatches('ingest'));
    const alertsRead = await firstValueFrom(spool.readBatches('alerts'));
    const forIngest = records.recordsOf(ingestRead).records[0];
    const forAlerts = records.recordsOf(alertsRead).records[0];
    expect(forIngest?.batch).toBe(decoded[0]);
    expect(forAlerts?.batch).toBe(decoded[0]);
    expect(records.stats()).toEqual({ shared: 2, parsed: 0, rememberedBytes: 0 });
    await spool.close();

    // After a restart nothing is remembered: the first consumer parses (trusted, no checks), the second shares it.
    const reopened = await openSpool({ dir: join(dir, 'spool'), consumers: ['ingest', 'alerts'] }, { clock: { now: () => NOW } });
    const fresh = new TelemetryRecords({ consumers: 2 });
    const entries: readonly SpoolEntry[] = await firstValueFrom(reopened.readBatches('ingest'));
    const first = fresh.recordsOf(entries).records[0];
    const second = fresh.recordsOf(await firstValueFrom(reopened.readBatches('alerts'))).records[0];
    expect(first?.batch).toEqual({ v: 1, seq: 9, samples: [{ ts: NOW, metrics: { t: 21.5 } }] });
    expect(second?.batch).toBe(first?.batch);
    expect(fresh.stats()).toEqual({ shared: 1, parsed: 1, rememberedBytes: 0 });
    await reopened.close();
  });

  it('forgets the oldest remembered batches beyond its memory bound (a consumer far behind parses them instead)', () => {
    const records = new TelemetryRecords({ consumers: 2, maxBytes: 100 });
    const batch = (seq: number): TelemetryBatch => ({ v: 1, seq, samples: [{ ts: NOW, metrics: { t: seq } }] });
    for (let seq = 1; seq <= 5; seq += 1) records.remember(seq, batch(seq), 40);
    expect(records.stats().rememberedBytes).toBe(80);
    const entry = (seq: number): SpoolEntry => ({ seq, deviceId: 'dev-1', receivedAt: NOW, payload: Buffer.from(JSON.stringify(batch(seq))) });
    const read = records.recordsOf([entry(3), entry(4), entry(5)]);
    expect(read.records.map((r) => r.batch.seq)).toEqual([3, 4, 5]);
    expect(records.stats()).toMatchObject({ shared: 2, parsed: 1 });
  });
});
