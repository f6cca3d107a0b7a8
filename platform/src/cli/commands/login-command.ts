import { Type } from 'typebox';
import { createApiClient } from '../api-client.js';
import { CliError } from '../cli-error.js';
import type { CommandSpec } from '../command.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../command-context.js';
import { apiFlags } from '../common-flags.js';
import { resolveServer } from '../connection.js';
import { readSecret } from '../read-secret.js';
import { formatTime, printable } from '../terminal-text.js';

const LoginAnswer = Type.Object({ token: Type.String({ minLength: 1 }), expiresAt: Type.Number(), role: Type.String() });

export const loginCommand: CommandSpec = {
  name: 'login',
  summary: 'Sign in and save the session token for the other commands',
  description:
    'Signs in with a user name and password and saves the server URL and session token in the credentials file ' +
    '(~/.config/outpost/credentials.json, or env OUTPOST_CLI_CONFIG; mode 0600). The password comes from --password, ' +
    'else env OUTPOST_PASSWORD, else the first line of stdin when it is not a terminal, else a prompt that does not echo.',
  flags: {
    server: apiFlags.server,
    username: { type: 'string', short: 'u', valueName: 'NAME', description: 'user name', default: 'admin' },
    password: {
      type: 'string',
      description: 'password; other local users can see it in the process list, so prefer OUTPOST_PASSWORD, stdin or the prompt',
    },
  },
  examples: [
    'outpost login --server https://outpost.example.com:8080',
    'printf %s "$PASSWORD" | outpost login --username alice',
  ],
  async run(ctx) {
    const server = await resolveServer({ flagServer: ctx.string('server'), env: ctx.io.env, credentials: ctx.credentials, helpPath: ctx.path });
    const username = ctx.string('username') ?? 'admin';
    const fromEnv = ctx.io.env['OUTPOST_PASSWORD'];
    const password =
      ctx.string('password') ??
      (fromEnv !== undefined && fromEnv !== '' ? fromEnv : undefined) ??
      (await readSecret(ctx.io.stdin, ctx.io.stderr, `Password for ${username} at ${server}: `));
    if (password === undefined) {
      throw ctx.usageError('no password: pass --password, set OUTPOST_PASSWORD, pipe it on stdin or run in a terminal to be prompted');
    }
    const api = createApiClient({
      server,
      fetch: ctx.io.fetch ?? globalThis.fetch,
      timeoutMs: ctx.io.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      unauthenticatedHint: 'check the user name and password',
    });
    const session = await api.call('POST', '/auth/login', LoginAnswer, { body: { username, password } });
    if (session.expiresAt <= ctx.now()) throw new CliError('CLI_BAD_RESPONSE', `${server} answered a session that has already expired`);
    await ctx.credentials.save({ server, token: session.token, expiresAt: session.expiresAt, username });
    ctx.print(`Logged in to ${server} as ${printable(username)} (role ${printable(session.role)}); the session expires at ${formatTime(session.expiresAt)}.`);
    ctx.print(`Credentials saved to ${ctx.credentials.path}.`);
  },
};
