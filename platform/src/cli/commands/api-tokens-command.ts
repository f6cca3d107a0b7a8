import { parseDuration } from '@outpost/protocol';
import { Type } from 'typebox';
import type { CommandSpec } from '../command.js';
import { ROLE_NAMES, apiFlags, jsonFlag, listFlags } from '../common-flags.js';
import { printList } from '../list-output.js';
import { formatTime, printable } from '../terminal-text.js';

const TokenInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: Type.String(),
  createdBy: Type.Optional(Type.String()),
  createdAt: Type.Optional(Type.Number()),
  expiresAt: Type.Optional(Type.Number()),
  lastUsedAt: Type.Optional(Type.Number()),
});
const Created = Type.Object({
  id: Type.String(),
  token: Type.String({ minLength: 1 }),
  name: Type.String(),
  role: Type.String(),
  expiresAt: Type.Optional(Type.Number()),
});

const create: CommandSpec = {
  name: 'create',
  summary: 'Create an API token for a script or integration (shown once)',
  description:
    'Creates an API token with at most your own role. The token is printed once, alone on stdout, ' +
    'so TOKEN=$(outpost api-tokens create --name ci) captures it; it cannot be shown again.',
  flags: {
    name: { type: 'string', required: true, description: 'what the token is for, e.g. "ci" or "grafana"' },
    role: { type: 'string', choices: ROLE_NAMES, description: 'its role, at most your own', default: 'your own' },
    ttl: { type: 'string', valueName: 'DURATION', description: 'lifetime such as 12h, 30d or 52w', default: 'no expiry' },
    ...jsonFlag,
    ...apiFlags,
  },
  examples: ['outpost api-tokens create --name ci --role operator --ttl 90d'],
  async run(ctx) {
    const ttl = ctx.string('ttl');
    let ttlSeconds: number | undefined;
    if (ttl !== undefined) {
      const parsed = parseDuration(ttl);
      if (!parsed.ok) throw ctx.usageError(`invalid --ttl: ${parsed.reason}`);
      ttlSeconds = Math.floor(parsed.value / 1000);
      if (ttlSeconds < 1) throw ctx.usageError(`invalid --ttl "${ttl}": must be at least 1s`);
    }
    const role = ctx.string('role');
    const api = await ctx.api();
    const created = await api.call('POST', '/api-tokens', Created, {
      body: { name: ctx.string('name'), ...(role === undefined ? {} : { role }), ...(ttlSeconds === undefined ? {} : { ttlSeconds }) },
    });
    if (ctx.boolean('json')) {
      ctx.print(JSON.stringify(created, null, 2));
      ctx.note('The token is not shown again: store it now.');
      return;
    }
    const expires = created.expiresAt === undefined ? 'never expires' : `expires ${formatTime(created.expiresAt)}`;
    ctx.note(`Created API token "${printable(created.name)}" (id ${printable(created.id)}, role ${printable(created.role)}, ${expires}):`);
    ctx.print(created.token);
    ctx.note('The token is not shown again: store it now.');
  },
};

const list: CommandSpec = {
  name: 'list',
  summary: 'List API tokens (admins see all, others their own)',
  flags: { ...listFlags, ...apiFlags },
  async run(ctx) {
    await printList(ctx, {
      path: '/api-tokens',
      item: TokenInfo,
      noun: 'API tokens',
      columns: [
        { header: 'id', value: (t) => t.id },
        { header: 'name', value: (t) => t.name },
        { header: 'role', value: (t) => t.role },
        { header: 'created by', value: (t) => t.createdBy },
        { header: 'created', value: (t) => formatTime(t.createdAt) },
        { header: 'expires', value: (t) => (t.expiresAt === undefined ? 'never' : formatTime(t.expiresAt)) },
        { header: 'last used', value: (t) => (t.lastUsedAt === undefined ? 'never' : formatTime(t.lastUsedAt)) },
      ],
    });
  },
};

const revoke: CommandSpec = {
  name: 'revoke',
  summary: 'Revoke an API token',
  args: [{ name: 'ID', description: "the token's id (see 'outpost api-tokens list')" }],
  flags: { ...apiFlags },
  async run(ctx) {
    const api = await ctx.api();
    const id = ctx.arg('ID');
    await api.send('DELETE', `/api-tokens/${encodeURIComponent(id)}`);
    ctx.print(`Revoked API token ${printable(id)}.`);
  },
};

export const apiTokensCommand: CommandSpec = {
  name: 'api-tokens',
  summary: 'Manage API tokens for scripts and integrations',
  description: 'API tokens authenticate scripts and integrations to the REST API (Authorization: Bearer TOKEN).',
  subcommands: [create, list, revoke],
};
