import { parseDuration } from '@outpost/protocol';
import { Type } from 'typebox';
import type { CommandContext, CommandSpec } from '../command.js';
import { apiFlags, listFlags } from '../common-flags.js';
import { printList } from '../list-output.js';
import { formatTime } from '../terminal-text.js';

const Entry = Type.Object({
  id: Type.Union([Type.Number(), Type.String()]),
  at: Type.Number(),
  actor: Type.String(),
  action: Type.String(),
  target: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  outcome: Type.String(),
});

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
  if (ago.ok) return ctx.now() - ago.value;
  throw ctx.usageError(`invalid --${flag} "${value}" (expected RFC 3339 like 2026-01-31T12:00:00Z, epoch ms, or a duration ago like 24h)`);
}

export const auditCommand: CommandSpec = {
  name: 'audit',
  summary: 'Show the audit log of operator actions (admin), newest first',
  flags: {
    actor: { type: 'string', valueName: 'USER', description: 'only actions of this user' },
    action: { type: 'string', description: 'only this action or action prefix, e.g. users.create or users' },
    from: { type: 'string', valueName: 'TIME', description: 'from this time: RFC 3339, epoch ms, or a duration ago (24h)' },
    to: { type: 'string', valueName: 'TIME', description: 'up to this time (same forms as --from)' },
    limit: { type: 'string', valueName: 'N', description: 'entries per page, 1-1000', default: '100' },
    ...listFlags,
    ...apiFlags,
  },
  examples: ['outpost audit --actor alice --from 24h', 'outpost audit --action users --all --json'],
  async run(ctx) {
    const limitText = ctx.string('limit');
    let limit: number | undefined;
    if (limitText !== undefined) {
      limit = /^\d+$/.test(limitText) ? Number(limitText) : Number.NaN;
      if (!(limit >= 1 && limit <= 1000)) throw ctx.usageError(`invalid --limit "${limitText}" (expected a whole number from 1 to 1000)`);
    }
    const from = timeFlag(ctx, 'from');
    const to = timeFlag(ctx, 'to');
    await printList(ctx, {
      path: '/audit',
      item: Entry,
      noun: 'audit entries',
      query: { actor: ctx.string('actor'), action: ctx.string('action'), from, to, limit },
      columns: [
        { header: 'at', value: (e) => formatTime(e.at) },
        { header: 'actor', value: (e) => e.actor },
        { header: 'action', value: (e) => e.action },
        { header: 'target', value: (e) => e.target },
        { header: 'outcome', value: (e) => e.outcome },
      ],
    });
  },
};
