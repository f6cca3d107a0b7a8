import { readFile } from 'node:fs/promises';
import { parseDuration } from '@outpost/protocol';
import { Type, type Static } from 'typebox';
import { parse as parseYaml } from 'yaml';
import { ApiAnswerError, CliError } from '../cli-error.js';
import type { CommandContext, CommandSpec } from '../command.js';
import { apiFlags, jsonFlag, listFlags } from '../common-flags.js';
import { formatTable } from '../format-table.js';
import { printList } from '../list-output.js';
import { formatTime, printable } from '../terminal-text.js';
import type { AlertsApi } from '@outpost/alerts';
import type { Fits } from '../answer-fits.js';

const Rule = Type.Object({
  id: Type.String(),
  name: Type.String(),
  kind: Type.String(),
  metric: Type.String(),
  condition: Type.String(),
  threshold: Type.Optional(Type.Number()),
  range: Type.Optional(Type.Array(Type.Number())),
  ratePerS: Type.Optional(Type.Number()),
  absenceMs: Type.Optional(Type.Number()),
  forMs: Type.Number(),
  severity: Type.String(),
  enabled: Type.Boolean(),
  version: Type.Number(),
});
type Rule = Static<typeof Rule>;
// What this command reads is what the route answers (issue 14 item 9): a route change breaks the build.
export type RuleAnswerFits = Fits<AlertsApi.Rule, Rule>;

const TestAnswer = Type.Object({
  ruleId: Type.String(),
  from: Type.Number(),
  to: Type.Number(),
  samples: Type.Number(),
  devices: Type.Number(),
  counts: Type.Object({ firing: Type.Number(), resolved: Type.Number() }),
  transitions: Type.Array(Type.Object({ deviceId: Type.String(), state: Type.String(), value: Type.Union([Type.Number(), Type.Null()]), ts: Type.Number(), severity: Type.String(), late: Type.Boolean() })),
});

function rulePath(id: string, suffix = ''): string {
  return `/rules/${encodeURIComponent(id)}${suffix}`;
}

function durationText(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** `> -15 for 5m`, `outside [-30, -15]`, `rate > 0.5/s`, `silent 5m`. */
function conditionText(rule: Rule): string {
  if (rule.kind === 'absence') return `silent ${durationText(rule.absenceMs ?? 0)}`;
  const bound =
    rule.condition === 'inside' || rule.condition === 'outside'
      ? `${rule.condition} [${(rule.range ?? []).join(', ')}]`
      : `${rule.condition} ${rule.kind === 'rate' ? `${rule.ratePerS ?? '?'}/s` : (rule.threshold ?? '?')}`;
  return `${rule.kind === 'rate' ? 'rate ' : ''}${bound}${rule.forMs > 0 ? ` for ${durationText(rule.forMs)}` : ''}`;
}

const list: CommandSpec = {
  name: 'list',
  summary: 'List alert rules',
  flags: { ...listFlags, ...apiFlags },
  examples: ['outpost rules list', 'outpost rules list --all --json'],
  async run(ctx) {
    await printList(ctx, {
      path: '/rules',
      item: Rule,
      noun: 'rules',
      query: {},
      columns: [
        { header: 'id', value: (r) => r.id },
        { header: 'name', value: (r) => r.name },
        { header: 'metric', value: (r) => r.metric },
        { header: 'condition', value: (r) => conditionText(r) },
        { header: 'severity', value: (r) => r.severity },
        { header: 'enabled', value: (r) => (r.enabled ? 'yes' : 'no') },
        { header: 'version', value: (r) => String(r.version) },
      ],
    });
  },
};

/** The rules a file holds: one rule, a list, or `{rules: [...]}`; YAML or JSON. */
async function readRules(path: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError('CLI_FAILED', `cannot read ${printable(path)}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err });
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new CliError('CLI_FAILED', `${printable(path)} is neither valid YAML nor JSON: ${printable((err as Error).message.split('\n')[0] ?? '')}`, { cause: err });
  }
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const items = Array.isArray(parsed) ? parsed : isObject(parsed) && Array.isArray(parsed['rules']) ? (parsed['rules'] as unknown[]) : [parsed];
  if (items.length === 0) throw new CliError('CLI_FAILED', `${printable(path)} holds no rule`);
  items.forEach((item, i) => {
    if (!isObject(item)) throw new CliError('CLI_FAILED', `${printable(path)}: rule ${i + 1} is not an object`);
  });
  return items as Record<string, unknown>[];
}

const apply: CommandSpec = {
  name: 'apply',
  summary: 'Create or update rules from a YAML or JSON file',
  description:
    'Each rule with an id that exists is replaced (its version goes up), any other is created (a rule without an id gets a generated one). ' +
    'The file holds one rule, a list of rules, or {rules: [...]}. Every rule is tried; the exit code is 1 when any was refused.',
  flags: { file: { type: 'string', short: 'f', required: true, valueName: 'FILE', description: 'the YAML or JSON file' }, ...apiFlags },
  examples: ['outpost rules apply -f freezer-rules.yaml'],
  async run(ctx) {
    const path = ctx.string('file') ?? '';
    const rules = await readRules(path);
    const api = await ctx.api();
    let failed = 0;
    for (const [i, rule] of rules.entries()) {
      const id = typeof rule['id'] === 'string' ? rule['id'] : undefined;
      const label = id ?? `#${i + 1}${typeof rule['name'] === 'string' ? ` (${rule['name']})` : ''}`;
      try {
        if (id !== undefined) {
          try {
            const updated = await api.call('PUT', rulePath(id), Rule, { body: rule });
            ctx.print(`Updated rule ${printable(updated.id)} (version ${updated.version}).`);
            continue;
          } catch (err) {
            if (!(err instanceof ApiAnswerError && err.status === 404)) throw err;
          }
        }
        const created = await api.call('POST', '/rules', Rule, { body: rule });
        ctx.print(`Created rule ${printable(created.id)} (version ${created.version}).`);
      } catch (err) {
        if (!(err instanceof ApiAnswerError)) throw err;
        failed++;
        ctx.note(`error: rule ${printable(label)}: ${err.message}`);
      }
    }
    if (failed > 0) throw new CliError('CLI_FAILED', `${failed} of ${rules.length} rule${rules.length === 1 ? '' : 's'} refused`);
    return undefined;
  },
};

/** `--from`/`--to`: RFC 3339, epoch ms, or a duration back from now (`24h` = a day ago). */
function timeFlag(ctx: CommandContext, flag: string, fallback: number | undefined): number {
  const text = ctx.string(flag);
  if (text === undefined) {
    if (fallback === undefined) throw ctx.usageError(`--${flag} is required`);
    return fallback;
  }
  if (/^\d{10,16}$/.test(text)) return Number(text);
  const duration = parseDuration(text);
  if (duration.ok) return ctx.now() - duration.value;
  const ms = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && Number.isFinite(ms)) return ms;
  throw ctx.usageError(`invalid --${flag} "${text}" (expected RFC 3339, epoch ms, or a duration back from now such as 24h)`);
}

const test: CommandSpec = {
  name: 'test',
  summary: 'Backtest a rule on stored telemetry: what would it have done?',
  description: 'Replays the stored telemetry of the devices in the rule\'s scope in [from, to) through the rule and prints the transitions it would have made.',
  args: [{ name: 'ID', description: 'rule id' }],
  flags: {
    from: { type: 'string', required: true, valueName: 'TIME', description: 'start: RFC 3339, epoch ms, or a duration back from now (7d)' },
    to: { type: 'string', valueName: 'TIME', description: 'end (exclusive), same forms', default: 'now' },
    ...jsonFlag,
    ...apiFlags,
  },
  examples: ['outpost rules test freezer-warm --from 7d', 'outpost rules test freezer-warm --from 2026-01-01T00:00:00Z --to 2026-01-08T00:00:00Z'],
  async run(ctx) {
    const now = ctx.now();
    const from = timeFlag(ctx, 'from', undefined);
    const to = timeFlag(ctx, 'to', now);
    const api = await ctx.api();
    const answer = await api.call('POST', rulePath(ctx.arg('ID'), '/test'), TestAnswer, { body: { from, to } });
    if (ctx.boolean('json')) {
      ctx.print(JSON.stringify(answer, null, 2));
      return undefined;
    }
    ctx.print(
      `Rule ${printable(answer.ruleId)} from ${formatTime(answer.from)} to ${formatTime(answer.to)}: ${answer.samples} samples of ${answer.devices} device${answer.devices === 1 ? '' : 's'}, ` +
        `${answer.counts.firing} firing, ${answer.counts.resolved} resolved.`,
    );
    if (answer.transitions.length === 0) return undefined;
    ctx.print('');
    const columns = [
      { header: 'time', value: (t: (typeof answer.transitions)[number]) => formatTime(t.ts) },
      { header: 'device', value: (t: (typeof answer.transitions)[number]) => t.deviceId },
      { header: 'state', value: (t: (typeof answer.transitions)[number]) => t.state },
      { header: 'value', value: (t: (typeof answer.transitions)[number]) => (t.value === null ? '-' : String(t.value)) },
    ];
    for (const line of formatTable(columns, answer.transitions)) ctx.print(line);
    return undefined;
  },
};

export const rulesCommand: CommandSpec = {
  name: 'rules',
  summary: 'Manage alert rules: list, apply from a file, backtest',
  description: 'Alert rules (threshold, absence, rate) are evaluated by the platform on incoming telemetry; `test` replays stored telemetry through a rule before you rely on it.',
  subcommands: [list, apply, test],
};
