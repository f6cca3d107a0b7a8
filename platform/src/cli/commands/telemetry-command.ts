import { parseDuration } from '@outpost/protocol';
import { Type, type Static } from 'typebox';
import type { CommandContext, CommandSpec } from '../command.js';
import { apiFlags, jsonFlag } from '../common-flags.js';
import { formatTable } from '../format-table.js';
import { formatTime, printable } from '../terminal-text.js';
import type { DashboardApi } from '@outpost/dashboard';
import type { Fits } from '../answer-fits.js';

const Value = Type.Union([Type.Number(), Type.Boolean(), Type.String()]);
const Series = Type.Object({
  metric: Type.String(),
  group: Type.Optional(Type.String()),
  every: Type.String(),
  fn: Type.String(),
  from: Type.Optional(Type.Number()),
  to: Type.Optional(Type.Number()),
  points: Type.Array(Type.Object({ ts: Type.Number(), value: Value })),
});
type Series = Static<typeof Series>;
// What this command reads is what the route answers (issue 14 item 9): a route change breaks the build.
export type SeriesAnswerFits = Fits<DashboardApi.Series, Series>;
const Latest = Type.Object({ deviceId: Type.String(), metrics: Type.Record(Type.String(), Type.Object({ ts: Type.Number(), value: Value })) });
const Metrics = Type.Object({ deviceId: Type.String(), metrics: Type.Array(Type.Object({ name: Type.String(), type: Type.String() })) });

const FNS = ['mean', 'min', 'max', 'last', 'count'] as const;
const RFC3339 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** `--from`/`--to`: epoch ms, RFC 3339, or a duration meaning that long ago (`24h`). Sent as epoch ms. */
function timeFlag(ctx: CommandContext, flag: string): number | undefined {
  const value = ctx.string(flag);
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  if (RFC3339.test(value)) {
    const ms = Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  const ago = parseDuration(value);
  if (ago.ok && /[a-z]$/.test(value.trim())) return ctx.now() - ago.value;
  throw ctx.usageError(`invalid --${flag} "${printable(value)}" (expected RFC 3339 like 2026-01-31T12:00:00Z, epoch ms, or a duration ago like 24h)`);
}

/** A value for a table cell: numbers to 6 significant digits (`--json` has them exact). */
export function formatValue(value: number | boolean | string): string {
  if (typeof value !== 'number') return String(value);
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
}

const windowFlags = {
  metric: { type: 'string', required: true, valueName: 'NAME', description: 'the metric, e.g. temperature' },
  from: { type: 'string', valueName: 'TIME', description: 'start: RFC 3339, epoch ms, or a duration ago (24h)', default: 'an hour before --to' },
  to: { type: 'string', valueName: 'TIME', description: 'end (same forms as --from)', default: 'now' },
  every: { type: 'string', valueName: 'DURATION', description: 'bucket size, at least 1s (the server widens it to stay within its point budget)', default: 'automatic' },
  fn: { type: 'string', choices: FNS, description: 'aggregate per bucket', default: 'mean' },
} as const;

function windowQuery(ctx: CommandContext): Record<string, string | number | undefined> {
  return { metric: ctx.string('metric'), from: timeFlag(ctx, 'from'), to: timeFlag(ctx, 'to'), every: ctx.string('every'), fn: ctx.string('fn') };
}

function printSeries(ctx: CommandContext, series: Series, what: string): void {
  if (ctx.boolean('json')) {
    ctx.print(JSON.stringify(series, null, 2));
    return;
  }
  const range = series.from === undefined || series.to === undefined ? '' : ` from ${formatTime(series.from)} to ${formatTime(series.to)}`;
  ctx.note(`${printable(series.metric)} of ${what}: ${series.fn} per ${printable(series.every)}${range}, ${series.points.length} point${series.points.length === 1 ? '' : 's'}`);
  if (series.points.length === 0) {
    ctx.note('No points in this range.');
    return;
  }
  const columns = [
    { header: 'time', value: (p: Series['points'][number]) => formatTime(p.ts) },
    { header: series.fn, value: (p: Series['points'][number]) => formatValue(p.value) },
  ];
  for (const line of formatTable(columns, series.points)) ctx.print(line);
}

function devicePath(id: string, suffix: string): string {
  return `/devices/${encodeURIComponent(id)}/${suffix}`;
}

const query: CommandSpec = {
  name: 'query',
  summary: "A device's metric over time, aggregated per bucket",
  description:
    "Prints one row per non-empty bucket (time = the bucket's start, UTC). The server picks the bucket size when --every is absent, " +
    'and widens it to a round size (1s, 5s, 10s, 30s, 1m, 5m, … 1d) when the range would answer too many points; the line on stderr says the one used.',
  args: [{ name: 'DEVICE', description: 'device id' }],
  flags: { ...windowFlags, ...jsonFlag, ...apiFlags },
  examples: ['outpost telemetry query pi-01 --metric temperature --from 24h --every 1h', 'outpost telemetry query pi-01 --metric cpu.load --fn max --json'],
  async run(ctx) {
    const q = windowQuery(ctx);
    const api = await ctx.api();
    const device = ctx.arg('DEVICE');
    const series = await api.call('GET', devicePath(device, 'telemetry'), Series, { query: q });
    printSeries(ctx, series, `device ${printable(device)}`);
  },
};

const fleet: CommandSpec = {
  name: 'fleet',
  summary: 'A metric over time across the fleet or a group, aggregated per bucket',
  flags: { ...windowFlags, group: { type: 'string', valueName: 'GROUP', description: "only this group's devices", default: 'every device' }, ...jsonFlag, ...apiFlags },
  examples: ['outpost telemetry fleet --metric temperature --group greenhouse --from 7d'],
  async run(ctx) {
    const q = { ...windowQuery(ctx), group: ctx.string('group') };
    const api = await ctx.api();
    const series = await api.call('GET', '/fleet/telemetry', Series, { query: q });
    printSeries(ctx, series, series.group === undefined ? 'the fleet' : `group ${printable(series.group)}`);
  },
};

const latest: CommandSpec = {
  name: 'latest',
  summary: 'The newest value of each metric of a device',
  args: [{ name: 'DEVICE', description: 'device id' }],
  flags: { ...jsonFlag, ...apiFlags },
  examples: ['outpost telemetry latest pi-01'],
  async run(ctx) {
    const api = await ctx.api();
    const answer = await api.call('GET', devicePath(ctx.arg('DEVICE'), 'latest'), Latest);
    if (ctx.boolean('json')) {
      ctx.print(JSON.stringify(answer, null, 2));
      return;
    }
    const rows = Object.entries(answer.metrics).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    if (rows.length === 0) {
      ctx.note(`No telemetry from device ${printable(answer.deviceId)} yet.`);
      return;
    }
    const columns = [
      { header: 'metric', value: ([name]: (typeof rows)[number]) => name },
      { header: 'value', value: ([, v]: (typeof rows)[number]) => formatValue(v.value) },
      { header: 'time', value: ([, v]: (typeof rows)[number]) => formatTime(v.ts) },
    ];
    for (const line of formatTable(columns, rows)) ctx.print(line);
  },
};

const metrics: CommandSpec = {
  name: 'metrics',
  summary: 'The metrics a device has sent, with their types',
  args: [{ name: 'DEVICE', description: 'device id' }],
  flags: { ...jsonFlag, ...apiFlags },
  async run(ctx) {
    const api = await ctx.api();
    const answer = await api.call('GET', devicePath(ctx.arg('DEVICE'), 'metrics'), Metrics);
    if (ctx.boolean('json')) {
      ctx.print(JSON.stringify(answer, null, 2));
      return;
    }
    if (answer.metrics.length === 0) {
      ctx.note(`No telemetry from device ${printable(answer.deviceId)} yet.`);
      return;
    }
    for (const line of formatTable([{ header: 'metric', value: (m: (typeof answer.metrics)[number]) => m.name }, { header: 'type', value: (m: (typeof answer.metrics)[number]) => m.type }], answer.metrics)) ctx.print(line);
  },
};

export const telemetryCommand: CommandSpec = {
  name: 'telemetry',
  summary: 'Query stored telemetry: a device over time, its latest values and metrics, the fleet',
  description: 'Reads the telemetry the platform stored (InfluxDB or the embedded store) through the REST API; needs the viewer role.',
  subcommands: [query, latest, metrics, fleet],
};
