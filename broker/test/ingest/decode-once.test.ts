/**
 * Decode once (issue 12, item 2): the batch the publish hook validated is what ingest and the
 * alert engine see — typed, never validated again — so a limits change between the write and
 * the read cannot make them judge the same record differently. (Ingest and the alerts part
 * judging a record alike end to end: alerts/test/decode-once.test.ts; TelemetryRecords' memory
 * bound: telemetry/test/ingest/telemetry-records.test.ts.)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveLimits, topics, type TelemetryBatch } from '@outpost/protocol';
import { openSpool, TelemetryRecords, type SpoolEntry } from '@outpost/telemetry';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spoolSink } from '../../src/adapters/spool-sink.js';
import { PublishQuota } from '../../src/domain/publish-quota.js';
import { authorizePublish, type PublishHookDeps } from '../../src/hooks/authorize-publish.js';
import { InboxRouter } from '../../src/services/inbox-router.js';
import { MetricTypeGuard } from '../../src/services/metric-type-guard.js';
import { CountingMetrics, FakeRegistry, FakeSession, RecordingOutbound, recordingLog } from '../services/fakes.js';

describe("decode once: the publish hook to the spool's consumers", () => {
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
});
