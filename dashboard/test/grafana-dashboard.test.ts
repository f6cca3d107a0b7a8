/**
 * The Grafana dashboard (`dashboard/grafana/outpost.json`) against a real influxd 1.6.7: every
 * template variable and every panel query runs, with Grafana's macros substituted the way
 * Grafana does, over points written in Outpost's InfluxDB schema (measurement `telemetry`, tag
 * `device`, one field per metric). A query that no longer matches the schema fails here.
 */
import { readFile } from 'node:fs/promises';
import { queryInfluxQL, type InfluxQLOptions, type InfluxQLResult } from '@outpost/telemetry';
import { serviceTimeoutMs, startInfluxd, waitFor, type InfluxdHandle } from '@outpost/e2e';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const DASHBOARD_FILE = new URL('../grafana/outpost.json', import.meta.url);
const DB = 'outpost';
const START_MS = serviceTimeoutMs(15_000);
const HOOK_MS = START_MS * 2 + 10_000;

interface Target {
  readonly refId: string;
  readonly query: string;
  readonly rawQuery: boolean;
  readonly datasource: { readonly type: string; readonly uid: string };
}
interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource: { readonly type: string; readonly uid: string };
  readonly targets: readonly Target[];
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query: string;
  readonly multi: boolean;
  readonly includeAll: boolean;
  readonly allValue?: string;
  readonly datasource: { readonly type: string; readonly uid: string };
}
interface Dashboard {
  readonly schemaVersion: number;
  readonly uid: string;
  readonly __inputs: readonly { readonly name: string; readonly type: string; readonly pluginId: string }[];
  readonly panels: readonly Panel[];
  readonly templating: { readonly list: readonly Variable[] };
}

/** Grafana's regex escaping of a variable value inside `/…/` (its influxdb datasource). */
function escapeRegex(value: string): string {
  return value.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
}

interface Selection {
  readonly devices: readonly string[] | 'all';
  readonly metric: string;
  readonly from: number;
  readonly to: number;
  readonly intervalMs: number;
}

/** A panel query as Grafana sends it: variables and macros replaced. */
function interpolate(query: string, s: Selection, variables: readonly Variable[]): string {
  const deviceVar = variables.find((v) => v.name === 'device');
  const devices = s.devices === 'all' ? (deviceVar?.allValue ?? '.*') : s.devices.length === 1 ? escapeRegex(s.devices[0] ?? '') : `(${s.devices.map(escapeRegex).join('|')})`;
  return query
    .replaceAll('$timeFilter', `time >= ${s.from}ms and time <= ${s.to}ms`)
    .replaceAll('$__interval_ms', String(s.intervalMs))
    .replaceAll('$__interval', `${s.intervalMs / 1000}s`)
    .replaceAll('$device', devices)
    .replaceAll('$metric', s.metric);
}

function valuesOf(results: readonly InfluxQLResult[]): unknown[] {
  return results.flatMap((r) => r.series.flatMap((series) => series.values.flatMap((row) => row.slice(1))));
}

describe('Grafana dashboard outpost.json', () => {
  let dashboard: Dashboard;
  let influx: InfluxdHandle | undefined;
  let db: InfluxQLOptions;
  const now = Date.now();
  const selection = (devices: Selection['devices'], metric = 'temperature'): Selection => ({ devices, metric, from: now - 3_600_000, to: now, intervalMs: 60_000 });

  beforeAll(async () => {
    dashboard = JSON.parse(await readFile(DASHBOARD_FILE, 'utf8')) as Dashboard;
    influx = await startInfluxd({ startTimeoutMs: START_MS });
    db = { url: influx.url, db: DB, epoch: 'ms' };
    await queryInfluxQL({ url: influx.url }, `CREATE DATABASE "${DB}"`);
    // 20 minutes of one sample every 30 s for three devices; pi-03 also reports a boolean.
    const lines: string[] = [];
    for (let k = 0; k < 40; k += 1) {
      const ts = now - 20 * 60_000 + k * 30_000;
      lines.push(`telemetry,device=pi-01 temperature=${20 + k / 4},humidity=${40 + k} ${ts}`);
      lines.push(`telemetry,device=pi-02 temperature=${30 - k / 4},humidity=${60 - k} ${ts}`);
      lines.push(`telemetry,device=pi-03,site=barn temperature=${-3 + k / 8},door=${k % 2 === 0} ${ts}`);
    }
    const res = await fetch(`${influx.url}/write?db=${DB}&precision=ms`, { method: 'POST', body: lines.join('\n') });
    expect(res.status, await res.text()).toBe(204);
    await waitFor(async () => valuesOf(await queryInfluxQL(db, 'SELECT count("temperature") FROM "telemetry"'))[0] === 120, { timeoutMs: serviceTimeoutMs(10_000), description: 'the written points to be queryable' });
  }, HOOK_MS);

  afterAll(async () => {
    await influx?.stop();
  }, HOOK_MS);

  it('is an importable dashboard on an InfluxDB data source input', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.schemaVersion).toBeLessThanOrEqual(41);
    expect(dashboard.uid).toBe('outpost-telemetry');
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_INFLUXDB', type: 'datasource', pluginId: 'influxdb' })]);
    const datasources = [...dashboard.panels.flatMap((p) => [p.datasource, ...p.targets.map((t) => t.datasource)]), ...dashboard.templating.list.map((v) => v.datasource)];
    for (const ds of datasources) expect(ds).toEqual({ type: 'influxdb', uid: '${DS_INFLUXDB}' });
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['device', 'metric']);
    expect(dashboard.panels.map((p) => p.title)).toEqual(['$metric by device', 'Latest $metric per device', 'Fleet $metric: mean, min, max', 'Point rate of $metric']);
    for (const panel of dashboard.panels) expect(panel.targets.every((t) => t.rawQuery)).toBe(true);
  });

  it('lists the devices and the metrics through its template variables', async () => {
    const device = dashboard.templating.list.find((v) => v.name === 'device');
    const metric = dashboard.templating.list.find((v) => v.name === 'metric');
    expect(device).toMatchObject({ query: 'SHOW TAG VALUES FROM "telemetry" WITH KEY = "device"', multi: true, includeAll: true });
    expect(metric).toMatchObject({ query: 'SHOW FIELD KEYS FROM "telemetry"', multi: false });
    const devices = (await queryInfluxQL(db, device?.query ?? '')).flatMap((r) => r.series.flatMap((s) => s.values.map((row) => row[1])));
    expect(devices).toEqual(['pi-01', 'pi-02', 'pi-03']);
    const metrics = (await queryInfluxQL(db, metric?.query ?? '')).flatMap((r) => r.series.flatMap((s) => s.values.map((row) => row[0])));
    expect(metrics).toEqual(['door', 'humidity', 'temperature']);
  });

  it('runs every panel query with data, for a selection of devices and for All', async () => {
    for (const devices of [['pi-01', 'pi-02'], ['pi-03'], 'all'] as const) {
      for (const panel of dashboard.panels) {
        for (const target of panel.targets) {
          const query = interpolate(target.query, selection(devices), dashboard.templating.list);
          expect(query, `panel "${panel.title}" leaves a variable unreplaced`).not.toMatch(/\$[A-Za-z_]/);
          const values = valuesOf(await queryInfluxQL(db, query));
          expect(values.length, `panel "${panel.title}" ${target.refId} for ${String(devices)}: ${query}`).toBeGreaterThan(0);
          expect(values.some((v) => typeof v === 'number')).toBe(true);
        }
      }
    }
  });

  it('charts only the selected devices, one series each', async () => {
    const panel = dashboard.panels.find((p) => p.id === 1);
    const query = interpolate(panel?.targets[0]?.query ?? '', selection(['pi-01', 'pi-03']), dashboard.templating.list);
    const series = (await queryInfluxQL(db, query)).flatMap((r) => r.series);
    expect(series.map((s) => s.tags['device'])).toEqual(['pi-01', 'pi-03']);
    const latest = dashboard.panels.find((p) => p.id === 2);
    const rows = (await queryInfluxQL(db, interpolate(latest?.targets[0]?.query ?? '', selection(['pi-02']), dashboard.templating.list))).flatMap((r) => r.series);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.tags).toEqual({ device: 'pi-02' });
    expect(rows[0]?.values[0]?.[1]).toBe(30 - 39 / 4);
  });

  it('reports the point rate in points per second', async () => {
    const panel = dashboard.panels.find((p) => p.id === 4);
    const query = interpolate(panel?.targets[0]?.query ?? '', selection(['pi-01']), dashboard.templating.list);
    const rates = valuesOf(await queryInfluxQL(db, query)).filter((v): v is number => typeof v === 'number' && v > 0);
    // One sample every 30 s is 2 per 1-minute bucket: 1/30 per second.
    expect(rates.length).toBeGreaterThan(0);
    for (const rate of rates) expect(rate).toBeLessThanOrEqual(2 / 60 + 1e-9);
    expect(rates).toContain(2 / 60);
  });
});
