/**
 * Issue 15, Tests: Redis restarted under load. Three broker nodes and one control node behind
 * HAProxy (real processes, real PostgreSQL, influxd), 200 simulated devices publishing one QoS 1
 * batch a second. Redis is SIGKILLed and started again empty (no persistence: a Redis that lost
 * its memory, the worst case for the shared sessions, subscriptions and fencing epochs). While it
 * is away nothing is acknowledged that could be lost; once it is back every device publishes
 * again, a command sent during the outage and one sent after it reach their device, and InfluxDB
 * holds every acknowledged batch exactly once (InfluxQL count).
 *
 * Shown to fail when broken: OUTPOST_CLUSTER_TEST_BREAK=influx drops the InfluxDB measurement
 * while Redis is away (points acknowledged and written, then lost): the count falls short.
 */
import { nodeReadiness, startClusterFleet, waitFor, type ClusterFleet } from '@outpost/e2e';
import { topics } from '@outpost/protocol';
import { queryInfluxQL } from '@outpost/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DEVICES = Number(process.env['OUTPOST_CLUSTER_TEST_DEVICES'] ?? 200);
const BREAK_INFLUX = process.env['OUTPOST_CLUSTER_TEST_BREAK'] === 'influx';

describe('Redis restarted under cluster load (issue 15)', () => {
  let fleet: ClusterFleet;

  beforeAll(async () => {
    fleet = await startClusterFleet({ devices: DEVICES, prefix: 'rd' });
  }, 900_000);

  afterAll(async () => {
    await fleet?.stop();
  }, 120_000);

  it('recovers without losing an acknowledged batch; commands are still delivered', async () => {
    const { cluster, devices } = fleet;
    const load = fleet.startLoad();
    await load.allAckedAfter(Date.now(), 60_000, 'every device publishing before Redis goes away');
    const early = devices[0];
    const late = devices[devices.length - 1];
    if (early === undefined || late === undefined) throw new Error('no devices');
    const brokers = cluster.nodes.filter((n) => n.role === 'broker');
    await cluster.redis.kill();
    const killedAt = Date.now();
    // Every broker node notices (its cluster part degraded: still serving what needs no Redis).
    await waitFor(async () => (await Promise.all(brokers.map((n) => nodeReadiness(n)))).every((r) => r.httpStatus === 200 && r.parts?.['cluster'] === 'degraded'), {
      timeoutMs: 30_000,
      intervalMs: 100,
      description: 'every broker node showing cluster: degraded on /readyz while Redis is away',
    });
    const noticedMs = Date.now() - killedAt;
    // A command while Redis is away: the control node keeps it in the database (the source of
    // truth for platform → device messages, ADR 0010) and answers 201, or refuses it with a code.
    const during = await fleet.api('POST', `/api/v1/devices/${early.id}/commands`, { name: 'reboot', args: { delayS: 1, during: 'redis-down' } }).then(
      () => 'accepted',
      (err: unknown) => (err as Error).message,
    );
    expect(during === 'accepted' || /REDIS_UNAVAILABLE|STATE_DB_UNAVAILABLE/.test(during)).toBe(true);
    const ackedWhileDown = load.acked();
    if (BREAK_INFLUX) await queryInfluxQL({ url: cluster.influx.url, db: cluster.influxDb }, 'DROP MEASUREMENT "telemetry"').catch(() => undefined);
    await cluster.redis.restart();
    const restartedAt = Date.now();
    await waitFor(async () => (await Promise.all(brokers.map((n) => nodeReadiness(n)))).every((r) => r.parts?.['cluster'] === 'ok'), {
      timeoutMs: 60_000,
      intervalMs: 100,
      description: 'every broker node showing cluster: ok on /readyz after Redis came back',
    });
    const reconnectedMs = Date.now() - restartedAt;
    const recoveredMs = await load.allAckedAfter(restartedAt, 120_000, 'every device publishing again after Redis came back');
    await fleet.api('POST', `/api/v1/devices/${late.id}/commands`, { name: 'reboot', args: { delayS: 1, during: 'redis-back' } });
    if (during === 'accepted') {
      await waitFor(() => early.got(topics.commands(early.id), (p) => p.includes('redis-down')), { timeoutMs: 60_000, description: `the command sent while Redis was away reaching ${early.id}` });
    }
    await waitFor(() => late.got(topics.commands(late.id), (p) => p.includes('redis-back')), { timeoutMs: 30_000, description: `a command sent after Redis came back reaching ${late.id}` });
    const acked = await load.stop();
    expect(await fleet.pointsOnceSettled(acked)).toBe(acked);
    console.info(
      `[cluster-redis-restart] ${DEVICES} devices; brokers degraded ${noticedMs} ms after SIGKILL; Redis away ${restartedAt - killedAt} ms (${ackedWhileDown} batches acknowledged by then); brokers ok ${reconnectedMs} ms and every device publishing again ${recoveredMs} ms after Redis restarted; command during the outage: ${during}; ${acked} batches acknowledged = ${acked} points in InfluxDB`,
    );
  }, 600_000);
});
