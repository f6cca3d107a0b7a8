import { parseDuration } from '@outpost/protocol';
import { Type } from 'typebox';
import type { CommandContext, CommandSpec } from '../command.js';
import { apiFlags, jsonFlag, listFlags } from '../common-flags.js';
import { printList } from '../list-output.js';
import { formatTime, printable } from '../terminal-text.js';

const TokenInfo = Type.Object({
  id: Type.String(),
  group: Type.String(),
  tags: Type.Optional(Type.Record(Type.String(), Type.String())),
  maxUses: Type.Number(),
  uses: Type.Number(),
  state: Type.String(),
  expiresAt: Type.Number(),
  createdBy: Type.Optional(Type.String()),
  createdAt: Type.Optional(Type.Number()),
});
const Created = Type.Object({
  id: Type.String(),
  token: Type.String({ minLength: 1 }),
  group: Type.String(),
  maxUses: Type.Number(),
  expiresAt: Type.Number(),
  caFingerprint: Type.String(),
  enrollCommand: Type.String(),
});

/** `--tag k=v` (repeatable) as a map; a flag without `=` or with an empty key is a usage error. */
function tagsOf(ctx: CommandContext): Record<string, string> | undefined {
  const given = ctx.strings('tag');
  if (given.length === 0) return undefined;
  const tags: Record<string, string> = {};
  for (const item of given) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw ctx.usageError(`invalid --tag "${item}" (expected KEY=VALUE)`);
    tags[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return tags;
}

function formatTags(tags: Readonly<Record<string, string>> | undefined): string {
  return Object.entries(tags ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

const create: CommandSpec = {
  name: 'create',
  summary: 'Create an enrollment token for devices of a group (shown once)',
  description:
    'Creates an enrollment token: devices enroll with it (outpost-agent enroll --token TOKEN) into the group, with the tags. ' +
    'The token is printed once, alone on stdout, so TOKEN=$(outpost enrollment-tokens create --group lab) captures it; ' +
    'the enroll command for a device is shown on stderr.',
  flags: {
    group: { type: 'string', required: true, valueName: 'GROUP', description: 'the group enrolled devices join (created on first use)' },
    uses: { type: 'string', valueName: 'N', description: 'how many devices may enroll with it', default: '1' },
    ttl: { type: 'string', valueName: 'DURATION', description: 'how long it is valid, e.g. 24h or 7d', default: '24h' },
    tag: { type: 'string', multiple: true, valueName: 'KEY=VALUE', description: 'a tag every enrolled device gets; repeatable' },
    prefix: { type: 'string', valueName: 'PREFIX', description: 'prefix of the ids assigned to devices whose CSR proposes none', default: 'the group' },
    ...jsonFlag,
    ...apiFlags,
  },
  examples: ['outpost enrollment-tokens create --group greenhouse --uses 20 --ttl 7d --tag site=north'],
  async run(ctx) {
    const usesText = ctx.string('uses') ?? '1';
    const maxUses = /^\d+$/.test(usesText) ? Number(usesText) : Number.NaN;
    if (!(maxUses >= 1 && maxUses <= 1_000_000)) throw ctx.usageError(`invalid --uses "${usesText}" (expected a whole number from 1 to 1000000)`);
    const ttl = parseDuration(ctx.string('ttl') ?? '24h');
    if (!ttl.ok) throw ctx.usageError(`invalid --ttl: ${ttl.reason}`);
    const ttlSeconds = Math.floor(ttl.value / 1000);
    if (ttlSeconds < 1) throw ctx.usageError(`invalid --ttl "${ctx.string('ttl') ?? ''}": must be at least 1s`);
    const tags = tagsOf(ctx);
    const prefix = ctx.string('prefix');
    const api = await ctx.api();
    const created = await api.call('POST', '/enrollment-tokens', Created, {
      body: { group: ctx.string('group'), maxUses, ttlSeconds, ...(tags === undefined ? {} : { tags }), ...(prefix === undefined ? {} : { deviceIdPrefix: prefix }) },
    });
    if (ctx.boolean('json')) {
      ctx.print(JSON.stringify(created, null, 2));
      ctx.note('The token is not shown again: store it now.');
      return;
    }
    const uses = created.maxUses === 1 ? '1 use' : `${created.maxUses} uses`;
    ctx.note(`Created enrollment token ${printable(created.id)} for group ${printable(created.group)} (${uses}, expires ${formatTime(created.expiresAt)}):`);
    ctx.print(created.token);
    ctx.note('Enroll a device with:');
    ctx.note(`  ${printable(created.enrollCommand)}`);
    ctx.note('The token is not shown again: store it now.');
  },
};

const list: CommandSpec = {
  name: 'list',
  summary: 'List enrollment tokens (never their secrets)',
  flags: { ...listFlags, ...apiFlags },
  async run(ctx) {
    await printList(ctx, {
      path: '/enrollment-tokens',
      item: TokenInfo,
      noun: 'enrollment tokens',
      columns: [
        { header: 'id', value: (t) => t.id },
        { header: 'group', value: (t) => t.group },
        { header: 'tags', value: (t) => formatTags(t.tags) },
        { header: 'uses', value: (t) => `${t.uses}/${t.maxUses}` },
        { header: 'state', value: (t) => t.state },
        { header: 'expires', value: (t) => formatTime(t.expiresAt) },
        { header: 'created by', value: (t) => t.createdBy },
      ],
    });
  },
};

const revoke: CommandSpec = {
  name: 'revoke',
  summary: 'Revoke an enrollment token (devices already enrolled stay enrolled)',
  args: [{ name: 'ID', description: "the token's id (see 'outpost enrollment-tokens list')" }],
  flags: { ...apiFlags },
  async run(ctx) {
    const api = await ctx.api();
    const id = ctx.arg('ID');
    await api.send('DELETE', `/enrollment-tokens/${encodeURIComponent(id)}`);
    ctx.print(`Revoked enrollment token ${printable(id)}.`);
  },
};

export const enrollmentTokensCommand: CommandSpec = {
  name: 'enrollment-tokens',
  summary: 'Manage enrollment tokens that let devices join a group',
  description: 'Enrollment tokens let devices enroll (get their identity) with one command. Each has a group, tags, a number of uses and a lifetime.',
  subcommands: [create, list, revoke],
};
