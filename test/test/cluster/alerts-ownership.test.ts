/**
 * Issue 15 item 5 (docs/adr/0013-alert-partitions.md): alerts evaluated exactly once across the
 * cluster. Two broker nodes and two control nodes (real `outpost server --role …` processes) on
 * real Redis, PostgreSQL and influxd; devices connect straight to a chosen broker node.
 *
 * - A device with a threshold rule (held for 3 s of sample time) and an absence rule moves from
 *   broker-1 to broker-2 in the middle of the pending period: the alert fires exactly once (the
 *   pending period started on broker-1 counts; per-node evaluation would not fire at all), resolves
 *   once, and the absence rule fires neither on the node it left nor twice — then once when the
 *   device really goes silent, resolved once when it speaks again.
 * - The control node owning the partitions is SIGKILLed while a device's threshold is pending: the
 *   other control node takes the leases over, rebuilds the state from the stream and fires exactly
 *   once, resolves once.
 * Alerts are counted through the operator API.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { startClusterFleet, waitFor, type ClusterFleet, type ClusterNode } from '@outpost/e2e';
import { topics } from '@outpost/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const PARTITIONS = 16;

interface AlertItem {
  readonly id: string;
  readonly ruleId: string;
  readonly deviceId: string;
  readonly state: string;
}
interface AlertEventItem {
  readonly state: string;
  readonly ts: number;
  readonly at: number;
}

describe('alerts evaluated once across the cluster (issue 15 item 5)', () => {
  let fleet: ClusterFleet;
  const clients: MqttClient[] = [];
  let seq = 0;

  beforeAll(async () => {
    fleet = await startClusterFleet({ devices: 2, prefix: 'ao', brokers: 2, cluster: { controls: 2, env: { OUTPOST_LEASE_TTL: '2s', ...(process.env['OUTPOST_TEST_LOG_DIR'] === undefined ? {} : { OUTPOST_LOG_LEVEL: 'debug' }) } } });
    // The fleet connected through HAProxy; these tests pick the node themselves.
    for (const device of fleet.devices) await device.close();
  }, 600_000);

  afterAll(async () => {
    const dir = process.env['OUTPOST_TEST_LOG_DIR'];
    if (dir !== undefined && fleet !== undefined) {
      for (const node of fleet.cluster.nodes) await writeFile(path.join(dir, `alerts-ownership-${node.name}.log`), node.process?.output() ?? '(not running)');
    }
    for (const client of clients) await client.endAsync(true).catch(() => undefined);
    await fleet?.stop();
  }, 120_000);

  const identity = (i: number) => {
    const device = fleet.devices[i];
    if (device === undefined) throw new Error(`no device ${i}`);
    return device.identity;
  };

  async function connect(i: number, node: ClusterNode): Promise<MqttClient> {
    const id = identity(i);
    const client = await mqtt.connectAsync(node.mqttUrl, {
      clientId: id.deviceId,
      key: id.keyPem,
      cert: id.certPem,
      ca: id.caPem,
      servername: 'localhost',
      protocolVersion: 4,
      clean: false,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    clients.push(client);
    return client;
  }

  async function send(client: MqttClient, i: number, ts: number, temp: number): Promise<void> {
    seq += 1;
    await client.publishAsync(topics.telemetry(identity(i).deviceId), JSON.stringify({ v: 1, seq, samples: [{ ts, metrics: { temp } }] }), { qos: 1 });
  }

  async function alertsOf(ruleId: string): Promise<AlertItem[]> {
    const page = (await fleet.api('GET', `/api/v1/alerts?rule=${ruleId}&limit=100`)) as { items: AlertItem[] };
    return page.items;
  }

  async function eventsOf(alertId: string): Promise<AlertEventItem[]> {
    return ((await fleet.api('GET', `/api/v1/alerts/${alertId}`)) as { events: AlertEventItem[] }).events;
  }

  async function partitionsOwned(node: ClusterNode): Promise<number> {
    const text = await fetch(`${node.operatorUrl}/metrics`).then((r) => r.text());
    const line = /^outpost_alert_partitions_owned (\d+)/m.exec(text);
    return line === null ? 0 : Number(line[1]);
  }

  async function rule(body: Record<string, unknown>): Promise<void> {
    await fleet.api('POST', '/api/v1/rules', { severity: 'warning', cooldownMs: 0, forMs: 0, ...body });
  }

  /** Every evaluating node re-reads the rules within its rule sync (2 s); wait until they all count `n`. */
  async function rulesEverywhere(n: number): Promise<void> {
    const controls = fleet.cluster.nodes.filter((node) => node.role === 'control' && node.process !== undefined);
    await waitFor(
      async () => {
        for (const node of controls) {
          const text = await fetch(`${node.operatorUrl}/metrics`).then((r) => r.text());
          if (Number(/^outpost_alert_rules (\d+)/m.exec(text)?.[1] ?? -1) !== n) return false;
        }
        return true;
      },
      { timeoutMs: 20_000, intervalMs: 200, description: `${n} rules on every control node` },
    );
  }

  it('owns every partition once among the control nodes; broker nodes own none', async () => {
    const owned = await waitFor(
      async () => {
        const counts = await Promise.all(fleet.cluster.nodes.map(async (node) => [node.name, await partitionsOwned(node)] as const));
        const total = counts.reduce((sum, [, n]) => sum + n, 0);
        return total === PARTITIONS ? Object.fromEntries(counts) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, description: `${PARTITIONS} partitions owned` },
    );
    expect(owned['broker-1']).toBe(0);
    expect(owned['broker-2']).toBe(0);
  }, 60_000);

  it('keeps a moving device’s threshold and absence state: one firing, one resolve each, none on the node it left', async () => {
    const device = identity(0).deviceId;
    await rule({ id: 'hot-a', name: 'hot', kind: 'threshold', metric: 'temp', condition: '>', threshold: 50, forMs: 3_000, scope: { devices: [device] } });
    await rule({ id: 'quiet-a', name: 'quiet', kind: 'absence', metric: 'temp', absenceMs: 5_000, scope: { devices: [device] } });
    await rulesEverywhere(2);
    const t0 = Date.now();
    const onFirst = await connect(0, fleet.cluster.node('broker-1'));
    await send(onFirst, 0, t0, 60);
    await send(onFirst, 0, t0 + 1_000, 60);
    await onFirst.endAsync(true);
    // Reconnects to the other broker node: the pending period began on broker-1.
    const onSecond = await connect(0, fleet.cluster.node('broker-2'));
    await send(onSecond, 0, t0 + 2_000, 60);
    await send(onSecond, 0, t0 + 3_500, 61);
    const decidedAt = Date.now();
    const fired = await waitFor(async () => (await alertsOf('hot-a')).find((a) => a.deviceId === device), { timeoutMs: 20_000, intervalMs: 200, description: 'the threshold alert of the moved device' });
    // Still hot, on broker-2 for longer than the absence rule's 5 s (a per-node engine on
    // broker-1 would time the silence there and fire), then back on broker-1: no second firing.
    const stayUntil = Date.now() + 6_500;
    let ts = t0 + 3_500;
    while (Date.now() < stayUntil) {
      ts = Math.max(ts + 1, Date.now());
      await send(onSecond, 0, ts, 62);
      await delay(500);
    }
    await onSecond.endAsync(true);
    const back = await connect(0, fleet.cluster.node('broker-1'));
    await send(back, 0, ts + 1, 63);
    const clearTs = ts + 2;
    await send(back, 0, clearTs, 10);
    await waitFor(async () => (await alertsOf('hot-a')).every((a) => a.state === 'resolved'), { timeoutMs: 20_000, intervalMs: 200, description: 'the threshold alert resolved' }).catch(dumpLogs);
    expect((await alertsOf('hot-a')).map((a) => a.id)).toEqual([fired.id]);
    const events = await eventsOf(fired.id);
    expect(events.map((e) => [e.state, e.ts])).toEqual([
      ['firing', t0 + 3_500],
      ['resolved', clearTs],
    ]);
    // The cluster path once: the deciding sample's PUBACK on broker-2 → the AlertEvent stored by the owner.
    console.info(`[alerts-ownership] cluster path: PUBACK of the deciding sample → firing stored ${(events[0]?.at ?? 0) - decidedAt} ms`);
    // The device spoke at most a few seconds apart throughout: no absence on either node.
    expect(await alertsOf('quiet-a')).toEqual([]);
    // Now it goes silent: one absence alert; it speaks again on broker-2: resolved once.
    await back.endAsync(true);
    const silent = await waitFor(async () => (await alertsOf('quiet-a'))[0], { timeoutMs: 30_000, intervalMs: 200, description: 'the absence alert' });
    const again = await connect(0, fleet.cluster.node('broker-2'));
    await send(again, 0, Date.now(), 20);
    await waitFor(async () => (await alertsOf('quiet-a')).every((a) => a.state === 'resolved'), { timeoutMs: 20_000, intervalMs: 200, description: 'the absence alert resolved' }).catch(dumpLogs);
    expect((await alertsOf('quiet-a')).map((a) => a.id)).toEqual([silent.id]);
    expect((await eventsOf(silent.id)).map((e) => e.state)).toEqual(['firing', 'resolved']);
    await again.endAsync(true);
  }, 180_000);

  it('hands the partitions of a SIGKILLed owner to the other control node, which rebuilds the state and fires once', async () => {
    const device = identity(1).deviceId;
    await rule({ id: 'hot-b', name: 'hot b', kind: 'threshold', metric: 'temp', condition: '>', threshold: 50, forMs: 3_000, scope: { devices: [device] } });
    await rulesEverywhere(3);
    const controls = fleet.cluster.nodes.filter((node) => node.role === 'control');
    const owners = await Promise.all(controls.map(async (node) => [node, await partitionsOwned(node)] as const));
    const [owner] = owners.filter(([, n]) => n > 0).map(([node]) => node);
    if (owner === undefined) throw new Error('no control node owns a partition');
    const heir = controls.find((node) => node !== owner);
    if (heir === undefined) throw new Error('one control node only');
    const before = await samplesEvaluated(owner);
    const t0 = Date.now();
    const client = await connect(1, fleet.cluster.node('broker-2'));
    await send(client, 1, t0, 70);
    await send(client, 1, t0 + 1_000, 70);
    // Handled by the owner (acknowledged in its stream), then the owner dies.
    await waitFor(async () => (await samplesEvaluated(owner)) >= before + 2, { timeoutMs: 10_000, intervalMs: 100, description: 'the owner evaluated the first samples' });
    await owner.kill();
    const tookOver = Date.now();
    await waitFor(async () => (await partitionsOwned(heir)) === PARTITIONS, { timeoutMs: 20_000, intervalMs: 100, description: `${heir.name} owning every partition` });
    const handoverMs = Date.now() - tookOver;
    await send(client, 1, t0 + 3_500, 71);
    const fired = await waitFor(async () => (await alertsOf('hot-b'))[0], { timeoutMs: 20_000, intervalMs: 200, description: 'the threshold alert after the handover' });
    await send(client, 1, t0 + 4_000, 72);
    await send(client, 1, t0 + 5_000, 5);
    await waitFor(async () => (await alertsOf('hot-b')).every((a) => a.state === 'resolved'), { timeoutMs: 20_000, intervalMs: 200, description: 'the threshold alert resolved' });
    expect((await alertsOf('hot-b')).map((a) => a.id)).toEqual([fired.id]);
    expect((await eventsOf(fired.id)).map((e) => [e.state, e.ts])).toEqual([
      ['firing', t0 + 3_500],
      ['resolved', t0 + 5_000],
    ]);
    await client.endAsync(true);
    console.info(`[alerts-ownership] ${heir.name} owned all ${PARTITIONS} partitions ${handoverMs} ms after ${owner.name} was SIGKILLed (lease ttl 2 s)`);
  }, 180_000);

  /** With OUTPOST_TEST_LOG_DIR set, a failed wait leaves every node's output there (for reading why). */
  async function dumpLogs(err: unknown): Promise<never> {
    const dir = process.env['OUTPOST_TEST_LOG_DIR'];
    if (dir !== undefined) {
      for (const node of fleet.cluster.nodes) await writeFile(path.join(dir, `alerts-ownership-${node.name}.log`), node.process?.output() ?? '(not running)');
    }
    throw err;
  }

  /** Metric samples a node's partition evaluator read. */
  async function samplesEvaluated(node: ClusterNode): Promise<number> {
    const text = await fetch(`${node.operatorUrl}/metrics`).then((r) => r.text());
    return Number(/^outpost_alert_samples_total (\d+)/m.exec(text)?.[1] ?? 0);
  }
});
