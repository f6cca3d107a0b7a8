import { createApiClient } from '../api-client.js';
import { ApiAnswerError } from '../cli-error.js';
import type { CommandSpec } from '../command.js';
import { printable } from '../terminal-text.js';

/** `POST /auth/logout` gets a short deadline: the local logout must not hang on a dead server. */
const LOGOUT_TIMEOUT_MS = 5_000;

export const logoutCommand: CommandSpec = {
  name: 'logout',
  summary: 'End the saved session and delete the credentials file',
  description:
    'Asks the platform to end the saved session (POST /api/v1/auth/logout, best effort) and deletes the credentials ' +
    'file. Tokens given with --token or OUTPOST_TOKEN are not affected; revoke API tokens with ' +
    "'outpost api-tokens revoke'.",
  async run(ctx) {
    const saved = await ctx.credentials.load();
    if (saved === undefined) {
      ctx.print('Not logged in.');
      return;
    }
    const api = createApiClient({
      server: saved.server,
      token: saved.token,
      fetch: ctx.io.fetch ?? globalThis.fetch,
      timeoutMs: Math.min(ctx.io.requestTimeoutMs ?? LOGOUT_TIMEOUT_MS, LOGOUT_TIMEOUT_MS),
      unauthenticatedHint: 'the session had already ended',
    });
    try {
      await api.send('POST', '/auth/logout');
    } catch (err) {
      // The local logout still happens: a session the server no longer knows (401) or cannot
      // end (404, an older server) is no concern, and an unreachable server's session expires.
      const alreadyGone = err instanceof ApiAnswerError && (err.status === 401 || err.status === 404);
      if (!alreadyGone) {
        ctx.note(`note: could not end the session on the server: ${(err as Error).message}`);
      }
    }
    await ctx.credentials.remove();
    ctx.print(`Logged out of ${saved.server} (${printable(saved.username)}).`);
  },
};
