/**
 * Issue 15, Tests: a rolling restart of every node under QoS 1 load loses nothing. Three broker
 * nodes and one control node behind HAProxy (real processes, real Redis, PostgreSQL, influxd),
 * 200 simulated devices publishing one batch a second. Each broker node in turn is stopped
 * (SIGTERM), its devices move through HAProxy to the others, it starts again and HAProxy marks it
 * up; then the control node. A command sent while a broker node is down reaches its device; after
 * the last restart every device is connected and counted online, a command and a config change
 * are delivered, and InfluxDB holds every acknowledged batch exactly once (InfluxQL count).
 *
 * Shown to fail when broken: OUTPOST_CLUSTER_TEST_BREAK=spool SIGKILLs each broker node instead
 * and empties its spool before it starts again (a node that forgets what it acknowledged but had
 * not yet written): the count falls short of the batches acknowledged.
 */
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { startClusterFleet, waitFor, type ClusterFleet } from '@outpost/e2e';
import { topics } from '@outpost/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DEVICES = Number(process.env['OUTPOST_CLUSTER_TEST_DEVICES'] ?? 200);
const SPOOL_DIR = 'spool';
const BREAK_SPOOL = process.env['OUTPOST_CLUSTER_TEST_BREAK'] === 'spool';

describe('a rolling restart of every cluster node under QoS 1 load (issue 15)', () => {
  let fleet: ClusterFleet;

  beforeAll(async () => {
    fleet = await startClusterFleet({ devices: DEVICES, prefix: 'rr' });
  }, 900_000);

  afterAll(async () => {
    await fleet?.stop();
  }, 120_000);

  it('restarts each broker node, then the control node, without losing an acknowledged batch; devices come back online and commands still arrive', async () => {
    const { cluster, devices } = fleet;
    const load = fleet.startLoad();
    await load.allAckedAfter(Date.now(), 60_000, 'every device publishing before the restarts');
    const figures: string[] = [];
    for (const node of cluster.nodes.filter((n) => n.role === 'broker')) {
      const stoppedAt = Date.now();
      if (BREAK_SPOOL) await node.kill();
      else await node.stop();
      const moved = devices.filter((d) => d.lastClose !== undefined && d.lastClose >= stoppedAt);
      const target = moved[0];
      if (target === undefined) throw new Error(`no device was on ${node.name}`);
      // While the node is down: a command for one of its devices.
      await fleet.api('POST', `/api/v1/devices/${target.id}/commands`, { name: 'reboot', args: { delayS: 1, during: node.name } });
      const recoveredMs = await load.allAckedAfter(stoppedAt, 120_000, `every device publishing again after ${node.name} stopped`);
      await waitFor(() => target.got(topics.commands(target.id), (p) => p.includes(node.name)), { timeoutMs: 30_000, description: `the command sent while ${node.name} was down reaching ${target.id}` });
      if (BREAK_SPOOL) await rm(path.join(node.dataDir, SPOOL_DIR), { recursive: true, force: true });
      await node.start();
      await waitFor(async () => (await cluster.haproxy.serverStates())[`broker_mqtt/${node.name}`] === 'UP', { timeoutMs: 60_000, intervalMs: 200, description: `HAProxy marking ${node.name} up` });
      figures.push(`${node.name}: ${moved.length} devices moved, all publishing again ${recoveredMs} ms after SIGTERM`);
    }
    const control = cluster.node('control-1');
    const controlStoppedAt = Date.now();
    await control.stop();
    await control.start();
    await fleet.relogin();
    figures.push(`control-1: operator API back ${Date.now() - controlStoppedAt} ms after SIGTERM`);
    // After the last restart: every device online, a command and a config change delivered.
    await fleet.allOnline(120_000);
    const device = devices[devices.length - 1];
    if (device === undefined) throw new Error('no device');
    await fleet.api('POST', `/api/v1/devices/${device.id}/commands`, { name: 'reboot', args: { delayS: 1, during: 'after' } });
    await fleet.api('PUT', `/api/v1/devices/${device.id}/config`, { collectors: [{ type: 'system', intervalMs: 20_000 }] });
    await waitFor(() => device.got(topics.commands(device.id), (p) => p.includes('after')) && device.got(topics.configDesired(device.id), (p) => p.includes('20000')), {
      timeoutMs: 30_000,
      description: `a command and a config change after the rolling restart reaching ${device.id}`,
    });
    const acked = await load.stop();
    expect(await fleet.pointsOnceSettled(acked)).toBe(acked);
    console.info(`[cluster-rolling-restart] ${DEVICES} devices; ${figures.join('; ')}; ${acked} batches acknowledged = ${acked} points in InfluxDB`);
  }, 600_000);
});
