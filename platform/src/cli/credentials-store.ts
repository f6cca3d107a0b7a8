import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { CliError } from './cli-error.js';

/** What `outpost login` saves. */
export const SavedCredentialsSchema = Type.Object({
  server: Type.String({ minLength: 1 }),
  token: Type.String({ minLength: 1 }),
  expiresAt: Type.Optional(Type.Number()),
  username: Type.String(),
});
export type SavedCredentials = Static<typeof SavedCredentialsSchema>;

export interface CredentialsStore {
  readonly path: string;
  load(): Promise<SavedCredentials | undefined>;
  save(credentials: SavedCredentials): Promise<void>;
  /** Resolves true when a file was removed. */
  remove(): Promise<boolean>;
}

/** `OUTPOST_CLI_CONFIG`, else `~/.config/outpost/credentials.json`. */
export function credentialsPath(env: Readonly<Record<string, string | undefined>>, homeDir: string): string {
  const configured = env['OUTPOST_CLI_CONFIG'];
  return configured !== undefined && configured !== '' ? configured : join(homeDir, '.config', 'outpost', 'credentials.json');
}

function isNotFound(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}

/**
 * The credentials file: a secret, so it is written 0600 (directories the store
 * creates are 0700) and replaced atomically through a temporary file beside it.
 */
export function createCredentialsStore(path: string): CredentialsStore {
  return {
    path,

    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw new CliError('CLI_CREDENTIALS', `cannot read credentials file ${path}: ${(err as Error).message}`, { cause: err });
      }
      let data: unknown;
      try {
        data = JSON.parse(text);
      } catch (err) {
        throw new CliError('CLI_CREDENTIALS', `credentials file ${path} is not valid JSON; run 'outpost login' again`, { cause: err });
      }
      if (!Value.Check(SavedCredentialsSchema, data)) {
        throw new CliError('CLI_CREDENTIALS', `credentials file ${path} is not in the expected format; run 'outpost login' again`);
      }
      return data;
    },

    async save(credentials) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await writeFile(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
        await chmod(temporary, 0o600);
        await rename(temporary, path);
      } catch (err) {
        await rm(temporary, { force: true });
        throw new CliError('CLI_CREDENTIALS', `cannot write credentials file ${path}: ${(err as Error).message}`, { cause: err });
      }
    },

    async remove() {
      try {
        await rm(path);
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw new CliError('CLI_CREDENTIALS', `cannot remove credentials file ${path}: ${(err as Error).message}`, { cause: err });
      }
    },
  };
}
