/** `outpost rollouts create|list|status [--watch]|pause|resume|abort|retry` (issue 13, item 5). */
import { setTimeout as delay } from 'node:timers/promises';
import { parseDuration } from '@outpost/protocol';
import { Type, type Static } from 'typebox';
import { CliError } from '../cli-error.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { apiFlags, jsonFlag, listFlags } from '../common-flags.js';
import { printList } from '../list-output.js';
import { formatTime, printable } from '../terminal-text.js';
import type { OtaApi } from '@outpost/ota';
import type { Fits } from '../answer-fits.js';

const Reason = Type.Union([Type.Object({ code: Type.String(), message: Type.String(), at: Type.Number() }), Type.Null()]);
const Rollout = Type.Object({
  id: Type.String(),
  name: Type.String(),
  artifactId: Type.String(),
  state: Type.String(),
  currentWave: Type.Number(),
  waveCount: Type.Number(),
  devices: Type.Number(),
  counts: Type.Record(Type.String(), Type.Number()),
  reason: Reason,
  createdAt: Type.Number(),
});
type Rollout = Static<typeof Rollout>;
const Wave = Type.Object({
  index: Type.Number(),
  size: Type.Number(),
  counts: Type.Record(Type.String(), Type.Number()),
  gate: Type.Object({ status: Type.String(), reason: Type.String() }),
});
const RolloutDetail = Type.Intersect([Rollout, Type.Object({ wavesProgress: Type.Array(Wave) })]);
type RolloutDetail = Static<typeof RolloutDetail>;
// What this command reads is what the route answers (issue 14 item 9): a route change breaks the build.
export type RolloutAnswersFit = [Fits<OtaApi.Rollout, Rollout>, Fits<OtaApi.RolloutDetail, RolloutDetail>];
const RetryAnswer = Type.Intersect([Rollout, Type.Object({ retried: Type.Number() })]);

const FINAL = new Set(['succeeded', 'failed', 'aborted']);
const FAILED = ['failed', 'rolled-back', 'timed-out'];
const IN_PROGRESS = ['queued', 'downloading', 'verifying', 'installing', 'activating', 'health-checking'];

function rolloutPath(id: string, suffix = ''): string {
  return `/rollouts/${encodeURIComponent(id)}${suffix}`;
}

const sum = (counts: Readonly<Record<string, number>>, states: readonly string[]): number => states.reduce((n, s) => n + (counts[s] ?? 0), 0);

/** `10%,50%,100%` or `1,5,100%` (cumulative); `exp:2x1.5` is an exponential rate (first 2, each wave ×1.5). */
export function parseWavesFlag(text: string): unknown {
  const exp = /^exp(?:onential)?:(\d+)x(\d+(?:\.\d+)?)$/i.exec(text.trim());
  if (exp !== null) return { exponential: { initial: Number(exp[1]), factor: Number(exp[2]) } };
  return text.split(',').map((part) => {
    const p = part.trim();
    const percent = /^(\d+(?:\.\d+)?)%$/.exec(p);
    if (percent !== null) return { percent: Number(percent[1]) };
    if (/^\d+$/.test(p)) return { count: Number(p) };
    throw new CliError('CLI_USAGE', `--waves: "${printable(p)}" is neither a percentage (10%) nor a device count (5); or use exp:INITIALxFACTOR`);
  });
}

function ratio(ctx: CommandContext, flag: string): number | undefined {
  const text = ctx.string(flag);
  if (text === undefined) return undefined;
  const value = text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text);
  if (!Number.isFinite(value) || value < 0 || value > 1) throw ctx.usageError(`--${flag}: "${printable(text)}" is not a ratio between 0 and 1 (or a percentage)`);
  return value;
}

function integer(ctx: CommandContext, flag: string): number | undefined {
  const text = ctx.string(flag);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw ctx.usageError(`--${flag}: "${printable(text)}" is not a whole number`);
  return Number(text);
}

function durationFlag(ctx: CommandContext, flag: string): string | undefined {
  const text = ctx.string(flag);
  if (text !== undefined && !parseDuration(text).ok) throw ctx.usageError(`--${flag}: "${printable(text)}" is not a duration (e.g. 30s, 5m, 1h)`);
  return text;
}

/** The `POST /rollouts` body the create flags describe. */
export function createBody(ctx: CommandContext): Record<string, unknown> {
  const tags: Record<string, string> = {};
  for (const pair of ctx.strings('tag')) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw ctx.usageError(`--tag: "${printable(pair)}" is not KEY=VALUE`);
    tags[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const devices = ctx.string('devices')?.split(',').map((d) => d.trim()).filter((d) => d.length > 0);
  const group = ctx.string('group');
  if (group === undefined && Object.keys(tags).length === 0 && (devices === undefined || devices.length === 0)) throw ctx.usageError('name the target: --group, --tag or --devices');
  const healthWanted = ['health-window', 'silence-after', 'max-restarts', 'max-rollbacks', 'alert-severity', 'health-action'].some((f) => (f === 'alert-severity' ? ctx.strings(f).length > 0 : ctx.string(f) !== undefined));
  const health = healthWanted
    ? {
        window: durationFlag(ctx, 'health-window') ?? '15m',
        silenceAfter: durationFlag(ctx, 'silence-after') ?? '5m',
        ...(integer(ctx, 'max-restarts') === undefined ? {} : { maxRestarts: integer(ctx, 'max-restarts') }),
        ...(integer(ctx, 'max-rollbacks') === undefined ? {} : { maxRollbacks: integer(ctx, 'max-rollbacks') }),
        ...(ctx.strings('alert-severity').length === 0 ? {} : { alertSeverities: [...ctx.strings('alert-severity')] }),
        action: ctx.string('health-action') ?? 'pause',
      }
    : undefined;
  const gate = Object.fromEntries(
    Object.entries({
      soak: durationFlag(ctx, 'soak'),
      deviceTimeout: durationFlag(ctx, 'device-timeout'),
      maxFailureRatio: ratio(ctx, 'max-failure-ratio'),
      successRatio: ratio(ctx, 'success-ratio'),
      minFinished: ratio(ctx, 'min-finished'),
      action: ctx.string('action'),
      health,
    }).filter(([, v]) => v !== undefined),
  );
  const startAtText = ctx.string('start-at');
  let startAt: number | undefined;
  if (startAtText !== undefined) {
    startAt = /^\d+$/.test(startAtText) ? Number(startAtText) : Date.parse(startAtText);
    if (!Number.isFinite(startAt)) throw ctx.usageError(`--start-at: "${printable(startAtText)}" is neither an RFC 3339 time nor epoch milliseconds`);
  }
  return {
    ...(ctx.string('name') === undefined ? {} : { name: ctx.string('name') }),
    artifactId: ctx.string('artifact'),
    target: { ...(group === undefined ? {} : { group }), ...(Object.keys(tags).length === 0 ? {} : { tags }), ...(devices === undefined ? {} : { devices }) },
    waves: parseWavesFlag(ctx.string('waves') ?? '100%'),
    ...(Object.keys(gate).length === 0 ? {} : { gate }),
    ...(ctx.boolean('allow-downgrade') ? { allowDowngrade: true } : {}),
    ...(durationFlag(ctx, 'confirm-deadline') === undefined ? {} : { confirmDeadline: ctx.string('confirm-deadline') }),
    ...(startAt === undefined ? {} : { startAt }),
    ...(ctx.boolean('draft') ? { startNow: false } : {}),
  };
}

function summaryLine(r: Rollout): string {
  const wave = r.currentWave < 0 ? 'not started' : `wave ${r.currentWave + 1}/${r.waveCount}`;
  const reason = r.reason === null ? '' : ` — ${printable(r.reason.message)}`;
  return `Rollout ${printable(r.id)} (${printable(r.name)}): ${r.state}, ${wave}, ${sum(r.counts, ['succeeded'])}/${r.devices} succeeded${reason}`;
}

function bar(done: number, failed: number, size: number, width = 24): string {
  if (size === 0) return `[${' '.repeat(width)}]`;
  const ok = Math.round((done / size) * width);
  const bad = Math.min(width - ok, Math.round((failed / size) * width));
  return `[${'#'.repeat(ok)}${'x'.repeat(bad)}${'-'.repeat(width - ok - bad)}]`;
}

/** The status report: one summary line, then one line per wave (with a progress bar on a terminal). */
export function statusLines(r: RolloutDetail, bars: boolean): string[] {
  const lines = [summaryLine(r)];
  for (const w of r.wavesProgress) {
    const ok = sum(w.counts, ['succeeded']);
    const failed = sum(w.counts, FAILED);
    const moving = sum(w.counts, IN_PROGRESS);
    const figures = `${ok}/${w.size} succeeded, ${failed} failed, ${moving} in progress${(w.counts['cancelled'] ?? 0) > 0 ? `, ${w.counts['cancelled']} cancelled` : ''}`;
    lines.push(`  wave ${w.index + 1}: ${bars ? `${bar(ok, failed, w.size)} ` : ''}${figures}; gate ${w.gate.status}${w.gate.reason === '' || w.gate.reason === w.gate.status ? '' : `: ${printable(w.gate.reason)}`}`);
  }
  return lines;
}

const create: CommandSpec = {
  name: 'create',
  summary: 'Create a staged rollout of a firmware artifact',
  description:
    'Waves are cumulative: --waves 10%,50%,100% updates 10% of the target first, then up to 50%, then all (rounded up, at least one device a wave); ' +
    'counts work too (1,5,100%), or an exponential rate (exp:2x2: 2 devices, then 4, 8…). A wave starts only when the previous one passed its gate: ' +
    'enough devices finished, failure and success ratios met, the soak elapsed, and — with health flags — the updated devices are no sicker ' +
    '(silent, restarting, firing alerts, rolled back) than those not yet updated. A breach pauses (or aborts) the rollout with the reason.',
  flags: {
    artifact: { type: 'string', required: true, valueName: 'ID', description: 'the firmware artifact (see outpost firmware list)' },
    name: { type: 'string', description: 'a name to show (default: the artifact id)' },
    group: { type: 'string', valueName: 'G', description: 'target devices of this group' },
    tag: { type: 'string', multiple: true, valueName: 'KEY=VALUE', description: 'target devices with this tag (every tag must match)' },
    devices: { type: 'string', valueName: 'A,B', description: 'target these devices' },
    waves: { type: 'string', valueName: 'PLAN', description: 'cumulative waves: 10%,50%,100% or 1,5,100% or exp:INITIALxFACTOR', default: '100%' },
    soak: { type: 'string', valueName: 'DURATION', description: 'how long a wave must run healthy once its devices finished', default: '5m' },
    'device-timeout': { type: 'string', valueName: 'DURATION', description: 'a device without a final report this long after its job failed', default: '30m' },
    'max-failure-ratio': { type: 'string', valueName: 'R', description: 'failed / wave size above this breaches the gate (0.2 or 20%)', default: '0.2' },
    'success-ratio': { type: 'string', valueName: 'R', description: 'succeeded / finished below this breaches the gate', default: '0.8' },
    'min-finished': { type: 'string', valueName: 'R', description: 'share of the wave that must have finished', default: '1' },
    action: { type: 'string', choices: ['pause', 'abort'], description: 'what a failure or success ratio breach does', default: 'pause' },
    'health-window': { type: 'string', valueName: 'DURATION', description: 'restarts, rollbacks and alerts count within this window', default: '15m when a health flag is given' },
    'silence-after': { type: 'string', valueName: 'DURATION', description: 'a device with no telemetry or status this long is silent', default: '5m when a health flag is given' },
    'max-restarts': { type: 'string', valueName: 'N', description: 'restarts of updated devices tolerated above the baseline', default: '0' },
    'max-rollbacks': { type: 'string', valueName: 'N', description: 'rollbacks within the window tolerated' },
    'alert-severity': { type: 'string', multiple: true, choices: ['info', 'warning', 'critical'], description: 'alerts of this severity count', default: 'critical' },
    'health-action': { type: 'string', choices: ['pause', 'abort'], description: 'what a health breach does', default: 'pause' },
    'allow-downgrade': { type: 'boolean', description: 'let devices install an older version' },
    'confirm-deadline': { type: 'string', valueName: 'DURATION', description: 'the device rolls back unless the new version confirms within this', default: '10m' },
    'start-at': { type: 'string', valueName: 'TIME', description: 'start later (RFC 3339 or epoch ms)' },
    draft: { type: 'boolean', description: 'create without starting (start with outpost rollouts resume ID)' },
    ...jsonFlag,
    ...apiFlags,
  },
  examples: [
    'outpost rollouts create --artifact app-2.0.0 --group freezers --waves 10%,50%,100% --soak 5m --device-timeout 30m --max-failure-ratio 0.2',
    'outpost rollouts create --artifact app-2.0.0 --tag site=north --waves exp:2x2 --silence-after 2m --alert-severity critical --health-action abort',
  ],
  async run(ctx) {
    const body = createBody(ctx);
    const api = await ctx.api();
    const created = await api.call('POST', '/rollouts', Rollout, { body });
    if (ctx.boolean('json')) ctx.print(JSON.stringify(created, null, 2));
    else ctx.print(`Created ${summaryLine(created)}.`);
    return undefined;
  },
};

const list: CommandSpec = {
  name: 'list',
  summary: 'List rollouts, newest first',
  flags: { state: { type: 'string', choices: ['draft', 'scheduled', 'running', 'paused', 'aborted', 'succeeded', 'failed'], description: 'only rollouts in this state' }, ...listFlags, ...apiFlags },
  examples: ['outpost rollouts list', 'outpost rollouts list --state paused'],
  async run(ctx) {
    await printList(ctx, {
      path: '/rollouts',
      item: Rollout,
      noun: 'rollouts',
      query: { state: ctx.string('state') },
      columns: [
        { header: 'id', value: (r) => r.id },
        { header: 'name', value: (r) => r.name },
        { header: 'artifact', value: (r) => r.artifactId },
        { header: 'state', value: (r) => r.state },
        { header: 'wave', value: (r) => (r.currentWave < 0 ? '-' : `${r.currentWave + 1}/${r.waveCount}`) },
        { header: 'succeeded', value: (r) => `${sum(r.counts, ['succeeded'])}/${r.devices}` },
        { header: 'failed', value: (r) => String(sum(r.counts, FAILED)) },
        { header: 'created', value: (r) => formatTime(r.createdAt) },
        { header: 'reason', value: (r) => r.reason?.message ?? '' },
      ],
    });
    return undefined;
  },
};

const status: CommandSpec = {
  name: 'status',
  summary: 'Show a rollout: per-wave progress and gate status (--watch follows it until it ends)',
  args: [{ name: 'ID', description: 'the rollout' }],
  flags: {
    watch: { type: 'boolean', description: 'follow the rollout until it is final (progress bars on a terminal, plain lines when they change otherwise)' },
    interval: { type: 'string', valueName: 'DURATION', description: 'how often --watch asks', default: '2s' },
    ...jsonFlag,
    ...apiFlags,
  },
  examples: ['outpost rollouts status rollout_x1', 'outpost rollouts status rollout_x1 --watch'],
  async run(ctx) {
    const id = ctx.arg('ID');
    const api = await ctx.api();
    const tty = (ctx.io.stdout as { isTTY?: boolean }).isTTY === true;
    const interval = parseDuration(ctx.string('interval') ?? '2s');
    if (!interval.ok || interval.value < 100) throw ctx.usageError(`--interval: "${printable(ctx.string('interval') ?? '')}" is not a duration of at least 100ms`);
    let drawn = 0;
    let last = '';
    for (;;) {
      const r = await api.call('GET', rolloutPath(id), RolloutDetail);
      if (ctx.boolean('json')) {
        const text = JSON.stringify(r);
        if (text !== last) ctx.print(ctx.boolean('watch') ? text : JSON.stringify(r, null, 2));
        last = text;
      } else {
        const lines = statusLines(r, tty);
        const text = lines.join('\n');
        if (tty && drawn > 0) ctx.io.stdout.write(`\u001b[${drawn}A\u001b[J`);
        if (tty || text !== last) for (const line of lines) ctx.print(line);
        drawn = lines.length;
        last = text;
      }
      if (!ctx.boolean('watch') || FINAL.has(r.state)) return r.state === 'succeeded' || !ctx.boolean('watch') ? undefined : 1;
      await delay(interval.value);
    }
  },
};

function action(name: 'pause' | 'resume' | 'abort' | 'retry', summary: string): CommandSpec {
  return {
    name,
    summary,
    args: [{ name: 'ID', description: 'the rollout' }],
    flags: { ...(name === 'resume' ? { 'skip-gate': { type: 'boolean', description: "pass the current wave's failure/success-ratio breach (health is still judged)" } } : {}), ...jsonFlag, ...apiFlags },
    examples: [`outpost rollouts ${name} rollout_x1`],
    async run(ctx) {
      const api = await ctx.api();
      const id = ctx.arg('ID');
      const query = name === 'resume' && ctx.boolean('skip-gate') ? { skipGate: true } : {};
      const r = name === 'retry' ? await api.call('POST', rolloutPath(id, '/retry'), RetryAnswer) : await api.call('POST', rolloutPath(id, `/${name}`), Rollout, { query });
      if (ctx.boolean('json')) ctx.print(JSON.stringify(r, null, 2));
      else ctx.print(`${name === 'retry' ? `Retried ${(r as Static<typeof RetryAnswer>).retried} device(s). ` : ''}${summaryLine(r)}.`);
      return undefined;
    },
  };
}

export const rolloutsCommand: CommandSpec = {
  name: 'rollouts',
  summary: 'Staged OTA rollouts: create, list, status [--watch], pause, resume, abort, retry',
  subcommands: [
    create,
    list,
    status,
    action('pause', 'Pause a rollout: no new wave, no new job (devices already updating go on)'),
    action('resume', 'Resume a paused, draft or scheduled rollout'),
    action('abort', 'Abort a rollout (final): devices not yet started get a cancel job'),
    action('retry', 'Give failed, rolled-back and timed-out devices of a rollout a new job'),
  ],
};
