/**
 * Fault suite, items 1 and 2 (issue 16): the telemetry path of a real `outpost server` writing to a
 * real influxd, under QoS 1 load from several devices, checked by an exact InfluxQL count.
 *
 * 1. influxd SIGKILLed a third of the way in and restarted later: PUBACKs keep coming (the spool
 *    holds the batches), /readyz says `degraded` meanwhile, and afterwards InfluxDB holds exactly
 *    the acknowledged batches' points.
 * 2. `outpost server` SIGKILLed a third of the way in and restarted on the same data: every batch
 *    acknowledged before the kill is stored (a device never sends a batch again after its PUBACK,
 *    so a lost acknowledged batch is a shortfall in the count), the rest is resent and stored once.
 *
 * Each batch covers sample times of its own, so a batch written twice overwrites itself: the count
 * is exact whatever was replayed, and any shortfall is a lost batch.
 */
import { startInfluxd, waitFor, type InfluxdHandle } from '@outpost/e2e';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { OutpostServer } from '../agent-harness.js';
import { FAULT_WAIT_MS, influxCounts, readiness, startInfluxServer, startQosDevices, sum, type QosDevices } from './faults-kit.js';

const DEVICES = 4;
const BATCHES = 150;
const SAMPLES = 5;
const TOTAL_BATCHES = DEVICES * BATCHES;

describe('fault suite: the store path under QoS 1 load', () => {
  let influx: InfluxdHandle | undefined;
  let server: OutpostServer | undefined;
  let devices: QosDevices | undefined;

  beforeAll(async () => {
    influx = await startInfluxd();
  }, FAULT_WAIT_MS * 2);

  afterEach(async () => {
    await devices?.close();
    devices = undefined;
    await server?.stop();
    server = undefined;
  }, FAULT_WAIT_MS);

  afterAll(async () => {
    await influx?.stop();
  }, FAULT_WAIT_MS);

  /** Waits until InfluxDB holds every batch of every device, then answers the exact count. */
  async function untilStored(url: string, expected: number): Promise<number> {
    let total = -1;
    await waitFor(
      async () => {
        total = sum(await influxCounts(url).catch(() => new Map<string, number>()));
        return total >= expected;
      },
      { description: `${expected} points in InfluxDB`, timeoutMs: FAULT_WAIT_MS, intervalMs: 200 },
    ).catch(() => undefined);
    return total;
  }

  it('influxd SIGKILLed under load and restarted: PUBACKs go on, and InfluxDB ends with exactly the acknowledged points', async () => {
    const db = influx as InfluxdHandle;
    server = await startInfluxServer(db);
    const before = sum(await influxCounts(db.url).catch(() => new Map<string, number>()));
    let killed: Promise<void> | undefined;
    devices = await startQosDevices(server, {
      devices: DEVICES,
      batchesPerDevice: BATCHES,
      samplesPerBatch: SAMPLES,
      onAck: (acked) => {
        if (acked === Math.floor(TOTAL_BATCHES / 3)) killed ??= db.kill();
      },
    });
    await until(() => killed !== undefined, 'a third of the batches acknowledged');
    await killed;
    const ackedAtKill = devices.acked();
    const s = server;
    const degraded = await waitFor(async () => (await readiness(s))?.['broker'] === 'degraded', { description: 'the broker degraded on /readyz while influxd is down', timeoutMs: FAULT_WAIT_MS, intervalMs: 100 });
    // PUBACKs keep coming while InfluxDB is down: the spool holds what is acknowledged.
    await waitFor(() => devices !== undefined && devices.acked() >= ackedAtKill + TOTAL_BATCHES / 3, { description: 'PUBACKs while influxd is down', timeoutMs: FAULT_WAIT_MS, intervalMs: 50 });
    const ackedWhileDown = devices.acked() - ackedAtKill;
    await db.restart();
    await devices.done;
    expect(devices.acked()).toBe(TOTAL_BATCHES);

    const stored = (await untilStored(db.url, before + TOTAL_BATCHES * SAMPLES)) - before;
    console.info(`faults/influxd-kill: influxd killed after ${ackedAtKill} PUBACKs, ${ackedWhileDown} more while it was down; ${stored} points stored, ${TOTAL_BATCHES * SAMPLES} acknowledged`);
    expect(degraded).toBe(true);
    expect(stored).toBe(TOTAL_BATCHES * SAMPLES);
    const counts = await influxCounts(db.url);
    for (const id of devices.ids) expect(counts.get(id), id).toBe(BATCHES * SAMPLES);
    await waitFor(async () => (await readiness(s))?.['broker'] === 'ok', { description: 'the broker ok again on /readyz', timeoutMs: FAULT_WAIT_MS });
  }, 120_000);

  it("outpost server SIGKILLed under QoS 1 load and restarted: no acknowledged batch lost, exactly the batches' points stored", async () => {
    const db = influx as InfluxdHandle;
    server = await startInfluxServer(db);
    const s = server;
    let killed: Promise<void> | undefined;
    let ackedAtKill = 0;
    devices = await startQosDevices(server, {
      devices: DEVICES,
      batchesPerDevice: BATCHES,
      samplesPerBatch: SAMPLES,
      onAck: (acked) => {
        if (acked === Math.floor(TOTAL_BATCHES / 3) && killed === undefined) {
          ackedAtKill = acked;
          killed = s.kill();
        }
      },
    });
    await until(() => killed !== undefined, 'a third of the batches acknowledged');
    await killed;
    // PUBACKs already on the wire when the process died may still arrive; none after the exit.
    const ackedBeforeRestart = devices.acked();
    await s.restart();
    await devices.done;
    expect(devices.acked()).toBe(TOTAL_BATCHES);

    const counts = await waitFor(
      async () => {
        const now = await influxCounts(db.url).catch(() => new Map<string, number>());
        return devices?.ids.every((id) => (now.get(id) ?? 0) >= BATCHES * SAMPLES) === true ? now : undefined;
      },
      { description: 'every batch in InfluxDB after the restart', timeoutMs: FAULT_WAIT_MS, intervalMs: 200 },
    ).catch(async () => influxCounts(db.url));
    const ids = devices.ids;
    const stored = ids.reduce((total, id) => total + (counts.get(id) ?? 0), 0);
    console.info(`faults/server-kill: SIGKILL at ${ackedAtKill} PUBACKs (${ackedBeforeRestart} before the restart), ${devices.reconnects()} reconnects; ${stored} points stored, ${TOTAL_BATCHES * SAMPLES} acknowledged`);
    expect(devices.reconnects()).toBeGreaterThanOrEqual(DEVICES);
    for (const id of ids) expect(counts.get(id), id).toBe(BATCHES * SAMPLES);
  }, 120_000);
});

function until(probe: () => boolean, description: string): Promise<boolean> {
  return waitFor(probe, { description, timeoutMs: FAULT_WAIT_MS, intervalMs: 20 });
}
