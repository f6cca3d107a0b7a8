import { Type } from 'typebox';
import type { CommandContext, CommandSpec } from '../command.js';
import { ROLE_NAMES, apiFlags, listFlags } from '../common-flags.js';
import { generatePassword } from '../../operators/generate-password.js';
import { printList } from '../list-output.js';
import { readSecret } from '../read-secret.js';
import { formatTime, printable } from '../terminal-text.js';

const User = Type.Object({ username: Type.String(), role: Type.String(), createdAt: Type.Optional(Type.Number()) });

function userPath(name: string): string {
  return `/users/${encodeURIComponent(name)}`;
}

/**
 * The new password's one display: the secret alone on stdout (so `$(outpost users create …)`
 * captures just it), the words around it on stderr.
 */
function showPasswordOnce(ctx: CommandContext, username: string, password: string): void {
  ctx.note(`Generated password for ${printable(username)}:`);
  ctx.print(password);
  ctx.note('It is shown only this once: hand it over securely now.');
}

const create: CommandSpec = {
  name: 'create',
  summary: 'Create an operator account',
  description: 'Creates an operator account. Without --password a strong random password is generated and printed once.',
  args: [{ name: 'NAME', description: 'user name (lower case letters, digits, ".", "_", "-")' }],
  flags: {
    role: { type: 'string', required: true, choices: ROLE_NAMES, description: 'what the user may do' },
    password: { type: 'string', description: 'initial password', default: 'generated and printed once' },
    ...apiFlags,
  },
  examples: ['outpost users create alice --role operator'],
  async run(ctx) {
    const api = await ctx.api();
    const given = ctx.string('password');
    const password = given ?? generatePassword();
    const user = await api.call('POST', '/users', User, { body: { username: ctx.arg('NAME'), password, role: ctx.string('role') } });
    const done = `Created user ${printable(user.username)} (role ${printable(user.role)}).`;
    if (given === undefined) {
      ctx.note(done);
      showPasswordOnce(ctx, user.username, password);
    } else {
      ctx.print(done);
    }
  },
};

const list: CommandSpec = {
  name: 'list',
  summary: 'List operator accounts',
  flags: { ...listFlags, ...apiFlags },
  async run(ctx) {
    await printList(ctx, {
      path: '/users',
      item: User,
      noun: 'users',
      columns: [
        { header: 'username', value: (u) => u.username },
        { header: 'role', value: (u) => u.role },
        { header: 'created', value: (u) => formatTime(u.createdAt) },
      ],
    });
  },
};

const setRole: CommandSpec = {
  name: 'set-role',
  summary: "Change a user's role",
  args: [
    { name: 'NAME', description: 'user name' },
    { name: 'ROLE', description: 'the new role', choices: ROLE_NAMES },
  ],
  flags: { ...apiFlags },
  async run(ctx) {
    const api = await ctx.api();
    const user = await api.call('PATCH', userPath(ctx.arg('NAME')), User, { body: { role: ctx.arg('ROLE') } });
    ctx.print(`${printable(user.username)} now has role ${printable(user.role)}.`);
  },
};

const setPassword: CommandSpec = {
  name: 'set-password',
  summary: "Change a user's password",
  description:
    'Sets a new password: from --password, else generated with --generate (printed once), else the first line of ' +
    'stdin when it is not a terminal, else prompted twice without echo.',
  args: [{ name: 'NAME', description: 'user name' }],
  flags: {
    password: { type: 'string', description: 'the new password (visible in the process list; prefer stdin or the prompt)' },
    generate: { type: 'boolean', description: 'generate a strong random password and print it once' },
    ...apiFlags,
  },
  async run(ctx) {
    const name = ctx.arg('NAME');
    const given = ctx.string('password');
    if (given !== undefined && ctx.boolean('generate')) throw ctx.usageError('give either --password or --generate, not both');
    const api = await ctx.api();
    const password = ctx.boolean('generate')
      ? generatePassword()
      : (given ?? (await readSecret(ctx.io.stdin, ctx.io.stderr, `New password for ${printable(name)}: `, { confirm: true })));
    if (password === undefined) throw ctx.usageError('no password: pass --password or --generate, pipe it on stdin, or run in a terminal to be prompted');
    const user = await api.call('PATCH', userPath(name), User, { body: { password } });
    const done = `Changed the password of ${printable(user.username)}.`;
    if (ctx.boolean('generate')) {
      ctx.note(done);
      showPasswordOnce(ctx, user.username, password);
    } else {
      ctx.print(done);
    }
  },
};

const remove: CommandSpec = {
  name: 'delete',
  summary: 'Delete an operator account and its tokens',
  args: [{ name: 'NAME', description: 'user name' }],
  flags: { ...apiFlags },
  async run(ctx) {
    const api = await ctx.api();
    const name = ctx.arg('NAME');
    await api.send('DELETE', userPath(name));
    ctx.print(`Deleted user ${printable(name)}.`);
  },
};

export const usersCommand: CommandSpec = {
  name: 'users',
  summary: 'Manage operator accounts (admin)',
  description: 'Manage the people who operate the platform. Roles: admin > operator > viewer.',
  subcommands: [create, list, setRole, setPassword, remove],
};
