/**
 * Issue 15, Tests: PostgreSQL briefly down under cluster load. Three broker nodes and one control
 * node behind HAProxy (real processes, real Redis, influxd), 200 simulated devices publishing one
 * QoS 1 batch a second. PostgreSQL is SIGKILLed: every node's /readyz turns to 200 with
 * `state-db: degraded` (and a reason), HAProxy keeps routing to them, the operator API refuses
 * what needs the database with STATE_DB_UNAVAILABLE; PostgreSQL restarts (same data): every node
 * is ok again without a restart, and InfluxDB holds every acknowledged batch exactly once.
 *
 * Shown to fail when broken: OUTPOST_CLUSTER_TEST_BREAK=influx drops the InfluxDB measurement
 * while PostgreSQL is away (points acknowledged and written, then lost): the count falls short.
 */
import { nodeReadiness, startClusterFleet, waitFor, type ClusterFleet } from '@outpost/e2e';
import { queryInfluxQL } from '@outpost/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DEVICES = Number(process.env['OUTPOST_CLUSTER_TEST_DEVICES'] ?? 200);
const BREAK_INFLUX = process.env['OUTPOST_CLUSTER_TEST_BREAK'] === 'influx';

describe('PostgreSQL briefly down under cluster load (issue 15)', () => {
  let fleet: ClusterFleet;

  beforeAll(async () => {
    fleet = await startClusterFleet({ devices: DEVICES, prefix: 'pg', cluster: { env: { OUTPOST_DATABASE_PROBE_INTERVAL: '1s' } } });
  }, 900_000);

  afterAll(async () => {
    await fleet?.stop();
  }, 120_000);

  it('shows state-db degraded on every node while PostgreSQL is away, then ok, and loses no acknowledged batch', async () => {
    const { cluster } = fleet;
    const load = fleet.startLoad();
    await load.allAckedAfter(Date.now(), 60_000, 'every device publishing before PostgreSQL goes away');
    await cluster.postgres.kill();
    const killedAt = Date.now();
    let last: string[] = [];
    const degraded = await waitFor(
      async () => {
        const all = await Promise.all(cluster.nodes.map((n) => nodeReadiness(n)));
        last = all.map((r, i) => `${cluster.nodes[i]?.name ?? i}: ${r.httpStatus} ${r.parts?.['state-db'] ?? r.error ?? ''}`);
        return all.every((r) => r.httpStatus === 200 && r.parts?.['state-db'] === 'degraded' && typeof r.reasons?.['state-db'] === 'string') ? all : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, description: 'every node answering /readyz 200 with state-db: degraded and a reason' },
    ).catch((err: unknown) => {
      const exited = cluster.nodes.filter((n) => n.process !== undefined && n.process.child.exitCode !== null);
      const outputs = exited.map((n) => `${n.name} exited ${String(n.process?.child.exitCode)}:\n${n.process?.output().slice(-2500) ?? ''}`);
      throw new Error(`${(err as Error).message}; last answers: ${last.join(', ')}\n${outputs.join('\n')}`, { cause: err });
    });
    const degradedMs = Date.now() - killedAt;
    // HAProxy keeps every node in (200 = still serving): a degraded database takes no node out.
    const states = await cluster.haproxy.serverStates();
    expect(Object.values(states).every((s) => s === 'UP')).toBe(true);
    // What needs the database is refused with the code that says why.
    const refusal = await fleet.api('GET', '/api/v1/fleet/summary').then(
      () => 'answered',
      (err: unknown) => (err as Error).message,
    );
    expect(refusal).toMatch(/503 .*STATE_DB_UNAVAILABLE/);
    const ackedBeforeRestart = load.acked();
    if (BREAK_INFLUX) await queryInfluxQL({ url: cluster.influx.url, db: cluster.influxDb }, 'DROP MEASUREMENT "telemetry"').catch(() => undefined);
    await cluster.postgres.restart();
    const restartedAt = Date.now();
    await waitFor(async () => (await Promise.all(cluster.nodes.map((n) => nodeReadiness(n)))).every((r) => r.httpStatus === 200 && r.parts?.['state-db'] === 'ok'), {
      timeoutMs: 60_000,
      intervalMs: 100,
      description: 'every node answering /readyz with state-db: ok after PostgreSQL came back',
    });
    const okMs = Date.now() - restartedAt;
    await waitFor(() => fleet.api('GET', '/api/v1/fleet/summary'), { timeoutMs: 30_000, intervalMs: 250, description: 'the operator API answering again' });
    const recoveredMs = await load.allAckedAfter(restartedAt, 120_000, 'every device publishing after PostgreSQL came back');
    const acked = await load.stop();
    expect(await fleet.pointsOnceSettled(acked)).toBe(acked);
    console.info(
      `[cluster-postgres-outage] ${DEVICES} devices; every node degraded ${degradedMs} ms after SIGKILL (reason: ${degraded[0]?.reasons?.['state-db'] ?? '?'}); PostgreSQL away ${restartedAt - killedAt} ms, ${ackedBeforeRestart} batches acknowledged by then; every node ok ${okMs} ms after the restart, every device publishing ${recoveredMs} ms after it; ${acked} batches acknowledged = ${acked} points in InfluxDB`,
    );
  }, 600_000);
});
