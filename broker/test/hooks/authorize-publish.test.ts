import { resolveLimits, topics } from '@outpost/protocol';
import { describe, expect, it } from 'vitest';
import { PublishQuota } from '../../src/domain/publish-quota.js';
import { MetricTypeGuard } from '../../src/services/metric-type-guard.js';
import { authorizePublish, type PublishHookDeps } from '../../src/hooks/authorize-publish.js';
import type { IngestSink } from '../../src/ports/ingest-sink.js';
import { InboxRouter } from '../../src/services/inbox-router.js';
import { CountingMetrics, FakeRegistry, FakeSession, RecordingOutbound, recordingLog } from '../services/fakes.js';

const NOW = 1_700_000_000_000;

function setup(options: { sink?: IngestSink; msgsPerS?: number; maxWaitMs?: number; wait?: (ms: number) => Promise<boolean>; current?: boolean } = {}) {
  const limits = resolveLimits({ maxPayloadBytes: 1_024, msgsPerS: options.msgsPerS ?? 100 });
  const appended: string[] = [];
  const sink: IngestSink = options.sink ?? {
    append: async (deviceId) => void appended.push(deviceId),
    close: async () => undefined,
  };
  const registry = new FakeRegistry();
  const metrics = new CountingMetrics();
  const log = recordingLog();
  const outbound = new RecordingOutbound();
  const live: unknown[] = [];
  const inbox = new InboxRouter({ registry: registry.port(), sink, live: { publish: (e) => void live.push(e) }, metrics, log, elapsedMs: () => 0, seenIntervalMs: 60_000 });
  const waits: number[] = [];
  const deps: PublishHookDeps = {
    limits,
    quota: new PublishQuota(limits, options.maxWaitMs ?? 1_000),
    inbox,
    outbound,
    metrics,
    log,
    now: () => NOW,
    isCurrent: () => options.current ?? true,
    metricTypes: new MetricTypeGuard({ load: async () => [], add: async () => undefined }, () => NOW),
    wait:
      options.wait ??
      (async (ms) => {
        waits.push(ms);
        return true;
      }),
  };
  const session = new FakeSession({ kind: 'device', deviceId: 'dev-1', serial: '0a' });
  return { deps, session, appended, metrics, outbound, live, waits, registry };
}

const batch = (seq: number, metrics: Record<string, number> = { t: 1 }) => Buffer.from(JSON.stringify({ v: 1, seq, samples: [{ ts: NOW, metrics }] }));
const packet = (topic: string, payload: Buffer, qos = 1) => ({ topic, payload, qos, retain: false });

describe('authorizePublish hook', () => {
  it('appends an accepted batch to the sink before accepting', async () => {
    const { deps, session, appended, live } = setup();
    expect(await authorizePublish(deps, session, packet(topics.telemetry('dev-1'), batch(1)), { will: false })).toEqual({ action: 'accept' });
    expect(appended).toEqual(['dev-1']);
    expect(live).toHaveLength(1);
  });

  it('withholds (disconnects) when the sink refuses: nothing is acknowledged that was not stored', async () => {
    const full: IngestSink = { append: () => Promise.reject(Object.assign(new Error('spool full'), { code: 'SPOOL_FULL_UNAVAILABLE' })), close: async () => undefined };
    const { deps, session } = setup({ sink: full });
    expect(await authorizePublish(deps, session, packet(topics.telemetry('dev-1'), batch(1)), { will: false })).toMatchObject({ action: 'disconnect' });
  });

  it('drops an invalid batch, explains it on the errors topic at QoS 0, and counts it', async () => {
    const { deps, session, appended, outbound, metrics } = setup();
    expect(await authorizePublish(deps, session, packet(topics.telemetry('dev-1'), batch(9, { time: 1 })), { will: false })).toEqual({ action: 'drop' });
    expect(appended).toEqual([]);
    expect(outbound.published).toHaveLength(1);
    expect(outbound.published[0]).toMatchObject({ topic: topics.errors('dev-1'), qos: 0, retain: false });
    expect(JSON.parse(String(outbound.published[0]?.payload))).toMatchObject({ v: 1, seq: 9, code: 'NAME_RESERVED', topic: topics.telemetry('dev-1') });
    expect(metrics.counts.get('invalid:NAME_RESERVED')).toBe(1);
  });

  it('waits for the rate before storing, and disconnects if the session closed meanwhile', async () => {
    const { deps, session, waits, appended } = setup({ msgsPerS: 1 });
    await authorizePublish(deps, session, packet(topics.telemetry('dev-1'), batch(1)), { will: false });
    expect(await authorizePublish(deps, session, packet(topics.telemetry('dev-1'), batch(2)), { will: false })).toEqual({ action: 'accept' });
    expect(waits).toEqual([1_000]);
    session.close('test');
    expect(await authorizePublish(deps, session, packet(topics.telemetry('dev-1'), batch(3)), { will: false })).toMatchObject({ action: 'disconnect' });
    expect(appended).toHaveLength(2);
  });

  it('never rate-limits a last will, and records it as the offline status', async () => {
    const { deps, session, registry } = setup({ msgsPerS: 1, wait: () => Promise.resolve(false) });
    await authorizePublish(deps, session, packet(topics.telemetry('dev-1'), batch(1)), { will: false });
    expect(await authorizePublish(deps, session, packet(topics.status('dev-1'), Buffer.from('{"v":1,"state":"offline"}')), { will: true })).toEqual({ action: 'accept' });
    expect(registry.statuses).toEqual([{ deviceId: 'dev-1', online: false }]);
  });

  it("ignores the last will of a session a newer connection replaced (it would mark the device offline)", async () => {
    const { deps, session, registry } = setup({ current: false });
    expect(await authorizePublish(deps, session, packet(topics.status('dev-1'), Buffer.from('{"v":1,"state":"offline"}')), { will: true })).toEqual({ action: 'drop' });
    expect(registry.statuses).toEqual([]);
  });

  it.each([
    ['another device', topics.telemetry('dev-2'), 1, 'acl:publish:TOPIC_FORBIDDEN'],
    ['QoS 2', topics.telemetry('dev-1'), 2, 'acl:publish:QOS_UNSUPPORTED'],
  ])('disconnects on %s and counts it', async (_what, topic, qos, counter) => {
    const { deps, session, metrics } = setup();
    expect(await authorizePublish(deps, session, packet(topic, batch(1), qos), { will: false })).toMatchObject({ action: 'disconnect' });
    expect(metrics.counts.get(counter)).toBe(1);
  });

  it('disconnects an integration that publishes', async () => {
    const { deps } = setup();
    const integration = new FakeSession({ kind: 'integration', name: 'x', role: 'integration', serial: '0b' });
    expect(await authorizePublish(deps, integration, packet(topics.integrationsAlerts(), Buffer.from('{}')), { will: false })).toMatchObject({ action: 'disconnect' });
  });

  it('refuses a metric sent with another type than the fleet stores (TYPE_CONFLICT, with seq)', async () => {
    const { deps, session, outbound, appended } = setup();
    await authorizePublish(deps, session, packet(topics.telemetry('dev-1'), batch(1, { t: 1 })), { will: false });
    const text = Buffer.from(JSON.stringify({ v: 1, seq: 2, samples: [{ ts: NOW, metrics: { t: 'hot' } }] }));
    expect(await authorizePublish(deps, session, packet(topics.telemetry('dev-1'), text), { will: false })).toEqual({ action: 'drop' });
    expect(JSON.parse(String(outbound.published[0]?.payload))).toMatchObject({ code: 'TYPE_CONFLICT', seq: 2 });
    expect(appended).toHaveLength(1);
  });

  it('marks a command by its result', async () => {
    const { deps, session, registry } = setup();
    const result = Buffer.from(JSON.stringify({ v: 1, id: 'c1', ok: false, error: { code: 'E', message: 'no' }, at: NOW }));
    expect(await authorizePublish(deps, session, packet(topics.commandResult('dev-1'), result), { will: false })).toEqual({ action: 'accept' });
    expect(registry.marked).toEqual([{ id: 'c1', state: 'failed' }]);
  });
});
