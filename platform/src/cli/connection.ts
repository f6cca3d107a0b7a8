import { CliError, UsageError } from './cli-error.js';
import type { CredentialsStore } from './credentials-store.js';
import { formatTime } from './terminal-text.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:8080';

export interface Connection {
  readonly server: string;
  readonly token: string;
  /** What to suggest when the platform answers 401. */
  readonly unauthenticatedHint: string;
}

export interface ConnectionSources {
  readonly flagServer: string | undefined;
  readonly flagToken: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly credentials: CredentialsStore;
  readonly now: number;
  /** Command whose help a bad `--server` points to. */
  readonly helpPath: readonly string[];
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * `https://host:8080/` → `https://host:8080`; a pasted API base (`…/api/v1`) is
 * taken back to the server's; anything but an http(s) URL is a usage error.
 */
export function normalizeServer(raw: string, helpPath: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`invalid server URL "${raw}" (expected e.g. http://127.0.0.1:8080)`, helpPath);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`invalid server URL "${raw}": only http:// and https:// are supported`, helpPath);
  }
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new UsageError(`invalid server URL "${raw}": give only scheme, host, port and path`, helpPath);
  }
  return url.href.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
}

/** `login`'s server: `--server`, else `OUTPOST_SERVER`, else the saved one, else the default. */
export async function resolveServer(sources: Omit<ConnectionSources, 'flagToken' | 'now'>): Promise<string> {
  const explicit = nonEmpty(sources.flagServer) ?? nonEmpty(sources.env['OUTPOST_SERVER']);
  if (explicit !== undefined) return normalizeServer(explicit, sources.helpPath);
  const saved = await sources.credentials.load();
  return saved?.server ?? DEFAULT_SERVER;
}

/**
 * Server and token, each from its flag, else the environment, else the saved
 * login. A saved token is only ever sent to the server it was issued by.
 */
export async function resolveConnection(sources: ConnectionSources): Promise<Connection> {
  const server = await resolveServer(sources);
  const explicitToken = nonEmpty(sources.flagToken) ?? nonEmpty(sources.env['OUTPOST_TOKEN']);
  if (explicitToken !== undefined) {
    const from = nonEmpty(sources.flagToken) === undefined ? 'OUTPOST_TOKEN' : '--token';
    return { server, token: explicitToken, unauthenticatedHint: `check the token given with ${from}, or run 'outpost login'` };
  }
  const saved = await sources.credentials.load();
  const loginCommand = server === DEFAULT_SERVER ? 'outpost login' : `outpost login --server ${server}`;
  if (saved === undefined || saved.server !== server) {
    throw new CliError('CLI_NOT_LOGGED_IN', `not logged in to ${server}: run '${loginCommand}', or pass --token (or set OUTPOST_TOKEN)`);
  }
  if (saved.expiresAt !== undefined && saved.expiresAt <= sources.now) {
    throw new CliError('CLI_NOT_LOGGED_IN', `your session on ${server} expired at ${formatTime(saved.expiresAt)}: run '${loginCommand}'`);
  }
  return { server, token: saved.token, unauthenticatedHint: `your session may have ended: run '${loginCommand}'` };
}
