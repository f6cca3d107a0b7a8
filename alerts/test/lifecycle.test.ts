import type { LiveEvent } from '@outpost/kernel';
import { topics, type AlertEvent, type EdgeAlert, type TelemetryBatch } from '@outpost/protocol';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ruleBody, startAlertsPlatform, type AlertsPlatform } from './helpers/alerts-platform.js';
import { connectDevice, waitFor, type DeviceCredentials } from '@outpost/e2e';

interface AlertAnswer {
  id: string;
  state: string;
  ruleId: string;
  deviceId: string;
  value: number | null;
  firedAt: number;
  resolvedAt?: number;
  ack?: { by: string; at: number; comment: string };
  maintenance: boolean;
  late: boolean;
  source: string;
  events?: AlertEvent[];
}

describe('alert lifecycle on live telemetry', () => {
  let p: AlertsPlatform;
  const live: LiveEvent[] = [];
  const clients: MqttClient[] = [];
  let seq = 0;

  async function device(id: string): Promise<{ creds: DeviceCredentials; client: MqttClient }> {
    const creds = await p.enroll(id);
    const client = await connectDevice(p.mqttUrl, creds);
    clients.push(client);
    return { creds, client };
  }

  async function send(client: MqttClient, deviceId: string, samples: TelemetryBatch['samples']): Promise<void> {
    seq += 1;
    await client.publishAsync(topics.telemetry(deviceId), JSON.stringify({ v: 1, seq, samples } satisfies TelemetryBatch), { qos: 1 });
  }

  const eventsOf = (ruleId: string): AlertEvent[] => p.events.filter((e) => e.ruleId === ruleId);

  beforeAll(async () => {
    p = await startAlertsPlatform({ alerts: { latenessMs: 60_000 } });
    p.platform.live.events.subscribe((e) => {
      if (e.topic === 'alerts') live.push(e);
    });
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync();
    await p.close();
  });

  it('fires once when the value stays above the threshold for forMs, is acknowledged, and resolves below the clear threshold', async () => {
    const { client } = await device('freezer-01');
    const rule = await p.api('POST', '/api/v1/rules', ruleBody({ id: 'freezer-warm', forMs: 20_000, clearThreshold: -18, scope: { devices: ['freezer-01'] } }));
    expect(rule.status).toBe(201);
    const t0 = Date.now() - 50_000;
    await send(client, 'freezer-01', [
      { ts: t0, metrics: { temperature: -20 } },
      { ts: t0 + 10_000, metrics: { temperature: -14 } },
      { ts: t0 + 20_000, metrics: { temperature: -13 } },
    ]);
    await send(client, 'freezer-01', [{ ts: t0 + 30_000, metrics: { temperature: -12 } }]);
    const fired = await waitFor(() => eventsOf('freezer-warm')[0], { description: 'the firing event' });
    expect(fired).toMatchObject({ state: 'firing', deviceId: 'freezer-01', value: -12, ts: t0 + 30_000, severity: 'critical', maintenance: false, late: false });
    // One sample past forMs from the first breach (t0+10 s) fires: forMs counts from the first breaching sample.
    await send(client, 'freezer-01', [{ ts: t0 + 35_000, metrics: { temperature: -11 } }]);
    await p.alerts.idle();
    await waitFor(async () => ((await p.api('GET', '/api/v1/alerts?device=freezer-01')).body as { items: AlertAnswer[] }).items.length === 1 || undefined);
    expect(eventsOf('freezer-warm')).toHaveLength(1);

    const list = (await p.api('GET', '/api/v1/alerts?device=freezer-01&state=firing')).body as { items: AlertAnswer[] };
    expect(list.items).toHaveLength(1);
    const alert = list.items[0] as AlertAnswer;
    expect(alert).toMatchObject({ ruleId: 'freezer-warm', state: 'firing', firedAt: t0 + 30_000, source: 'platform' });

    const ack = await p.api('POST', `/api/v1/alerts/${alert.id}/ack`, { comment: 'door was open' });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({ state: 'acknowledged', ack: { by: 'admin', comment: 'door was open' } });
    const again = await p.api('POST', `/api/v1/alerts/${alert.id}/ack`, {});
    expect(again.status).toBe(409);

    // −16 is in the hysteresis band: still firing; −19 is below the clear threshold: resolved.
    await send(client, 'freezer-01', [{ ts: t0 + 40_000, metrics: { temperature: -16 } }]);
    await send(client, 'freezer-01', [{ ts: t0 + 45_000, metrics: { temperature: -19 } }]);
    const resolved = await waitFor(() => eventsOf('freezer-warm')[1], { description: 'the resolved event' });
    expect(resolved).toMatchObject({ state: 'resolved', alertId: alert.id, value: -19, ts: t0 + 45_000 });
    const shown = (await p.api('GET', `/api/v1/alerts/${alert.id}`)).body as AlertAnswer;
    expect(shown).toMatchObject({ state: 'resolved', resolvedAt: t0 + 45_000, ack: { by: 'admin' } });
    expect(shown.events?.map((e) => e.state)).toEqual(['firing', 'resolved']);
    expect(live.filter((e) => (e.payload as AlertEvent).ruleId === 'freezer-warm').map((e) => [e.deviceId, (e.payload as AlertEvent).state])).toEqual([
      ['freezer-01', 'firing'],
      ['freezer-01', 'resolved'],
    ]);
    expect(await p.metric('outpost_alert_transitions_total', { state: 'firing', outcome: 'stored' })).toBeGreaterThanOrEqual(1);
    expect(await p.metric('outpost_alert_rule_evaluations_total')).toBeGreaterThanOrEqual(7);
    // Time per spool read: every read with samples is evaluated; the reads with the firing and the resolve stored them.
    const reads = (await p.platform.registry.getSingleMetric('outpost_alert_read_duration_seconds')?.get())?.values ?? [];
    const timed = (stage: string, suffix: string): number =>
      reads.find((v) => (v as { readonly metricName?: string }).metricName === `outpost_alert_read_duration_seconds_${suffix}` && v.labels['stage'] === stage)?.value ?? Number.NaN;
    expect(timed('evaluate', 'count')).toBeGreaterThanOrEqual(3);
    expect(timed('store', 'count')).toBeGreaterThanOrEqual(2);
    expect(timed('store', 'count')).toBeLessThanOrEqual(timed('evaluate', 'count'));
    expect(timed('evaluate', 'sum')).toBeGreaterThan(0);
  });

  it('applies the scope: a rule for another group never sees the device', async () => {
    const { client } = await device('freezer-02');
    await p.api('PUT', '/api/v1/groups/barn', {});
    await p.api('POST', '/api/v1/rules', ruleBody({ id: 'barn-only', scope: { groups: ['barn'] } }));
    await p.api('POST', '/api/v1/rules', ruleBody({ id: 'test-group', scope: { groups: ['test'] } }));
    await send(client, 'freezer-02', [{ ts: Date.now(), metrics: { temperature: 5 } }]);
    await waitFor(() => eventsOf('test-group').find((e) => e.deviceId === 'freezer-02'), { description: 'the in-scope firing' });
    await p.alerts.idle();
    expect(eventsOf('barn-only')).toEqual([]);
    // Moving the device into the group brings it into scope (the registry event clears the cache).
    expect((await p.api('PATCH', '/api/v1/devices/freezer-02', { group: 'barn' })).status).toBe(200);
    await send(client, 'freezer-02', [{ ts: Date.now(), metrics: { temperature: 6 } }]);
    await waitFor(() => eventsOf('barn-only').find((e) => e.deviceId === 'freezer-02'), { description: 'the firing after the group change' });
    await p.api('DELETE', '/api/v1/rules/barn-only');
    await p.api('DELETE', '/api/v1/rules/test-group');
  });

  it('stores the alert of a device under maintenance and notifies no one but the live hub', async () => {
    const { client } = await device('freezer-03');
    const channel = await p.api('POST', '/api/v1/channels', { id: 'mqtt-out', type: 'mqtt' });
    expect(channel.status).toBe(201);
    await p.api('POST', '/api/v1/rules', ruleBody({ id: 'maint', channels: ['mqtt-out'], scope: { devices: ['freezer-03'] } }));
    p.updating.add('freezer-03');
    await send(client, 'freezer-03', [{ ts: Date.now(), metrics: { temperature: 0 } }]);
    const event = await waitFor(() => eventsOf('maint')[0], { description: 'the maintenance event' });
    expect(event).toMatchObject({ state: 'firing', maintenance: true, late: false });
    expect(live.some((e) => (e.payload as AlertEvent).id === event.id)).toBe(true);
    const deliveries = (await p.api('GET', '/api/v1/channels/mqtt-out/deliveries')).body as { items: unknown[] };
    expect(deliveries.items).toEqual([]);
    expect(p.mqttPublished.filter((m) => JSON.parse(m.payload.toString('utf8')).ruleId === 'maint')).toEqual([]);
    const alert = ((await p.api('GET', '/api/v1/alerts?rule=maint')).body as { items: AlertAnswer[] }).items[0];
    expect(alert).toMatchObject({ maintenance: true });

    // Out of maintenance, the resolve is notified on the MQTT channel (integrations/alerts, QoS 1).
    p.updating.delete('freezer-03');
    await send(client, 'freezer-03', [{ ts: Date.now(), metrics: { temperature: -30 } }]);
    const published = await waitFor(() => p.mqttPublished.find((m) => JSON.parse(m.payload.toString('utf8')).ruleId === 'maint'), { description: 'the MQTT notification' });
    expect(published).toMatchObject({ topic: 'integrations/alerts', qos: 1, retain: false });
    expect(JSON.parse(published.payload.toString('utf8'))).toMatchObject({ v: 1, state: 'resolved', deviceId: 'freezer-03', maintenance: false });
  });

  it('marks a transition decided on late data late: stored, notified to no one', async () => {
    const { client } = await device('freezer-04');
    await p.api('POST', '/api/v1/rules', ruleBody({ id: 'late-rule', channels: ['mqtt-out'], scope: { devices: ['freezer-04'] } }));
    await send(client, 'freezer-04', [{ ts: Date.now() - 10 * 60_000, metrics: { temperature: 3 } }]);
    const event = await waitFor(() => eventsOf('late-rule')[0], { description: 'the late event' });
    expect(event).toMatchObject({ state: 'firing', late: true, maintenance: false });
    await p.alerts.idle();
    expect(p.mqttPublished.filter((m) => JSON.parse(m.payload.toString('utf8')).ruleId === 'late-rule')).toEqual([]);
    expect(await p.metric('outpost_alert_notifications_suppressed_total', { reason: 'late' })).toBeGreaterThanOrEqual(1);
  });

  it("takes a device's EdgeAlerts into the same lifecycle, marked as from the edge", async () => {
    const { client } = await device('freezer-05');
    const ts = Date.now();
    const edge: EdgeAlert = { v: 1, ruleId: 'local-freezer', state: 'firing', metric: 'temperature', value: -9, ts, severity: 'warning' };
    await client.publishAsync(topics.alerts('freezer-05'), JSON.stringify(edge), { qos: 1 });
    const fired = await waitFor(() => eventsOf('local-freezer')[0], { description: 'the edge firing' });
    expect(fired).toMatchObject({ deviceId: 'freezer-05', state: 'firing', value: -9, ts, severity: 'warning', late: false });
    await client.publishAsync(topics.alerts('freezer-05'), JSON.stringify({ ...edge, state: 'resolved', value: -20, ts: ts + 1000 }), { qos: 1 });
    await waitFor(() => eventsOf('local-freezer')[1], { description: 'the edge resolve' });
    const alert = ((await p.api('GET', '/api/v1/alerts?rule=local-freezer')).body as { items: AlertAnswer[] }).items[0];
    expect(alert).toMatchObject({ source: 'edge', state: 'resolved', deviceId: 'freezer-05' });
  });

  it('fires once when a device goes silent and resolves when it speaks again', async () => {
    const { client } = await device('freezer-06');
    await p.api('POST', '/api/v1/rules', ruleBody({ id: 'silent', kind: 'absence', condition: undefined, threshold: undefined, absenceMs: 300, scope: { devices: ['freezer-06'] } }));
    await send(client, 'freezer-06', [{ ts: Date.now(), metrics: { temperature: -20 } }]);
    const fired = await waitFor(() => eventsOf('silent').find((e) => e.deviceId === 'freezer-06'), { description: 'the absence firing' });
    expect(fired).toMatchObject({ state: 'firing', value: null });
    // Silence goes on: still one alert (no NoData flood). A short fixed wait on purpose: it proves
    // that nothing happens for longer than the 300 ms absence period, which no poll can show.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(eventsOf('silent').filter((e) => e.deviceId === 'freezer-06')).toHaveLength(1);
    await send(client, 'freezer-06', [{ ts: Date.now(), metrics: { temperature: -20 } }]);
    const resolved = await waitFor(() => eventsOf('silent').filter((e) => e.deviceId === 'freezer-06')[1], { description: 'the absence resolve' });
    expect(resolved).toMatchObject({ state: 'resolved', alertId: fired.alertId });
    await p.api('DELETE', '/api/v1/rules/silent');
  });
});
