import { Type } from 'typebox';
import type { CommandSpec } from '../command.js';
import { apiFlags, jsonFlag } from '../common-flags.js';
import { printable } from '../terminal-text.js';

const Me = Type.Object({ username: Type.String(), role: Type.String(), via: Type.String() });

export const whoamiCommand: CommandSpec = {
  name: 'whoami',
  summary: 'Show who the token belongs to',
  flags: { ...apiFlags, ...jsonFlag },
  async run(ctx) {
    const api = await ctx.api();
    const me = await api.call('GET', '/auth/me', Me);
    if (ctx.boolean('json')) {
      ctx.print(JSON.stringify(me, null, 2));
      return;
    }
    const via = me.via === 'api-token' ? 'an API token' : me.via === 'session' ? 'a session' : printable(me.via);
    ctx.print(`${printable(me.username)} (role ${printable(me.role)}) on ${api.server}, via ${via}`);
  },
};
