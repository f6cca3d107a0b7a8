import type { Kysely } from 'kysely';
import { Subject, type Observable } from 'rxjs';
import type { StateDatabase } from '../db/database.js';
import { ApiError } from '../http/api-error.js';
import { generatePassword } from './generate-password.js';
import { hashPassword, passwordProblem, verifyPassword } from './passwords.js';
import type { Principal, Revocation } from '@outpost/kernel';
import { roleAtLeast, type Role } from '@outpost/kernel';
import { hashToken, newId, newSecretToken } from './secret-tokens.js';
import type { OperatorTables } from './tables.js';

export const USERNAME_RE = /^[a-z][a-z0-9._-]{1,63}$/;

export interface User {
  username: string;
  role: Role;
  createdAt: number;
}

export interface ApiTokenInfo {
  id: string;
  name: string;
  role: Role;
  createdBy: string;
  createdAt: number;
  expiresAt?: number;
  lastUsedAt?: number;
}

export interface OperatorServiceOptions {
  readonly now: () => number;
  readonly sessionTtlMs: number;
  readonly streamTokenTtlMs: number;
}

// A dummy hash keeps a login for an unknown user as slow as for a known one.
let timingDummy: Promise<string> | undefined;

/** Users, roles, sessions and API tokens, on the shared state database. */
export class OperatorService {
  readonly #db: Kysely<OperatorTables>;
  readonly #options: OperatorServiceOptions;
  readonly #revocations = new Subject<Revocation>();

  constructor(db: StateDatabase, options: OperatorServiceOptions) {
    this.#db = db.withTables<OperatorTables>();
    this.#options = options;
  }

  /** Sessions, tokens and users that ended or changed, as they happen (live streams close on them). */
  get revocations(): Observable<Revocation> {
    return this.#revocations.asObservable();
  }

  close(): void {
    this.#revocations.complete();
  }

  async countUsers(): Promise<number> {
    const row = await this.#db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** Creates the first admin when there are no users; returns the password when it generated one. */
  async ensureInitialAdmin(password: string | undefined): Promise<{ created: boolean; generatedPassword?: string }> {
    if ((await this.countUsers()) > 0) return { created: false };
    const chosen = password ?? generatePassword();
    await this.createUser({ username: 'admin', password: chosen, role: 'admin' });
    return password === undefined ? { created: true, generatedPassword: chosen } : { created: true };
  }

  async createUser(input: { username: string; password: string; role: Role }): Promise<User> {
    if (!USERNAME_RE.test(input.username)) {
      throw new ApiError('VALIDATION_FAILED', `username "${input.username}" must match ${USERNAME_RE.source}`);
    }
    const problem = passwordProblem(input.password);
    if (problem !== undefined) throw new ApiError('VALIDATION_FAILED', problem);
    const now = this.#options.now();
    const existing = await this.#db.selectFrom('users').select('username').where('username', '=', input.username).executeTakeFirst();
    if (existing !== undefined) throw new ApiError('CONFLICT', `user "${input.username}" already exists`);
    await this.#db
      .insertInto('users')
      .values({ username: input.username, role: input.role, password_hash: await hashPassword(input.password), created_at: now, updated_at: now })
      .execute();
    return { username: input.username, role: input.role, createdAt: now };
  }

  async listUsers(options: { limit: number; after?: string }): Promise<User[]> {
    let query = this.#db.selectFrom('users').select(['username', 'role', 'created_at']).orderBy('username').limit(options.limit);
    if (options.after !== undefined) query = query.where('username', '>', options.after);
    const rows = await query.execute();
    return rows.map((r) => ({ username: r.username, role: r.role, createdAt: r.created_at }));
  }

  async getUser(username: string): Promise<User> {
    const row = await this.#db.selectFrom('users').select(['username', 'role', 'created_at']).where('username', '=', username).executeTakeFirst();
    if (row === undefined) throw new ApiError('NOT_FOUND', `user "${username}" does not exist`);
    return { username: row.username, role: row.role, createdAt: row.created_at };
  }

  async updateUser(username: string, patch: { password?: string; role?: Role }): Promise<User> {
    const user = await this.getUser(username);
    if (patch.role !== undefined && patch.role !== 'admin' && user.role === 'admin') await this.#refuseLastAdmin(username, 'demote');
    const set: Partial<OperatorTables['users']> = { updated_at: this.#options.now() };
    if (patch.role !== undefined) set.role = patch.role;
    if (patch.password !== undefined) {
      const problem = passwordProblem(patch.password);
      if (problem !== undefined) throw new ApiError('VALIDATION_FAILED', problem);
      set.password_hash = await hashPassword(patch.password);
    }
    await this.#db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set(set).where('username', '=', username).execute();
      // A new password or a lower role ends the user's sessions.
      await trx.deleteFrom('sessions').where('username', '=', username).execute();
    });
    this.#revocations.next({ kind: 'user', username, reason: patch.role !== undefined && patch.role !== user.role ? `the role of ${username} changed` : `the password of ${username} changed` });
    return this.getUser(username);
  }

  async deleteUser(username: string): Promise<void> {
    const user = await this.getUser(username);
    if (user.role === 'admin') await this.#refuseLastAdmin(username, 'delete');
    // Sessions and the user's API tokens go with it (foreign keys cascade).
    await this.#db.deleteFrom('users').where('username', '=', username).execute();
    this.#revocations.next({ kind: 'user', username, reason: `the user ${username} was deleted` });
  }

  async #refuseLastAdmin(username: string, verb: string): Promise<void> {
    const admins = await this.#db.selectFrom('users').select('username').where('role', '=', 'admin').execute();
    if (admins.length <= 1 && admins[0]?.username === username) {
      throw new ApiError('CONFLICT', `cannot ${verb} "${username}": it is the last admin`);
    }
  }

  /** Checks a password; answers a session token, or undefined for any mismatch (no hint which). */
  async login(username: string, password: string): Promise<{ token: string; expiresAt: number; role: Role } | undefined> {
    const row = await this.#db.selectFrom('users').select(['username', 'role', 'password_hash']).where('username', '=', username).executeTakeFirst();
    if (row === undefined) {
      timingDummy ??= hashPassword(generatePassword());
      await verifyPassword(password, await timingDummy);
      return undefined;
    }
    if (!(await verifyPassword(password, row.password_hash))) return undefined;
    const { token, expiresAt } = await this.#issueSession(row.username, 'session', this.#options.sessionTtlMs);
    return { token, expiresAt, role: row.role };
  }

  /**
   * A short-lived token that only opens the live stream (EventSource cannot send headers):
   * single-use, and bound to the session or API token that asked for it — it dies with it.
   */
  async issueStreamToken(principal: Principal): Promise<{ token: string; expiresAt: number }> {
    return this.#issueSession(principal.username, 'stream', this.#options.streamTokenTtlMs, principal.grant ?? null);
  }

  async #issueSession(username: string, kind: 'session' | 'stream', ttlMs: number, parent: string | null = null): Promise<{ token: string; expiresAt: number }> {
    const now = this.#options.now();
    const token = newSecretToken(kind);
    const expiresAt = now + ttlMs;
    await this.#db.deleteFrom('sessions').where('expires_at', '<=', now).execute();
    await this.#db.insertInto('sessions').values({ token_hash: hashToken(token), kind, username, created_at: now, expires_at: expiresAt, parent }).execute();
    return { token, expiresAt };
  }

  /** Ends a session, the stream tokens it asked for, and the live streams it opened. */
  async logout(token: string): Promise<void> {
    const grant = `session:${hashToken(token)}`;
    await this.#db.deleteFrom('sessions').where((eb) => eb.or([eb('token_hash', '=', hashToken(token)), eb('parent', '=', grant)])).execute();
    this.#revocations.next({ kind: 'grant', grant, reason: 'the session ended (logout)' });
  }

  /**
   * The principal as it stands now — user still there, its grant (session or API token) still
   * valid — or undefined. Open live streams re-check with it.
   */
  async recheck(principal: Principal): Promise<Principal | undefined> {
    const now = this.#options.now();
    const user = await this.#db.selectFrom('users').select(['username', 'role']).where('username', '=', principal.username).executeTakeFirst();
    if (user === undefined) return undefined;
    const grant = principal.grant;
    if (grant?.startsWith('session:') === true) {
      const row = await this.#db.selectFrom('sessions').select('expires_at').where('token_hash', '=', grant.slice('session:'.length)).where('kind', '=', 'session').executeTakeFirst();
      if (row === undefined || row.expires_at <= now) return undefined;
      return { ...principal, role: user.role };
    }
    if (grant?.startsWith('api:') === true) {
      const row = await this.#db.selectFrom('api_tokens').select(['role', 'expires_at']).where('id', '=', grant.slice('api:'.length)).executeTakeFirst();
      if (row === undefined || (row.expires_at !== null && row.expires_at <= now)) return undefined;
      return { ...principal, role: roleAtLeast(user.role, row.role) ? row.role : user.role };
    }
    return { ...principal, role: user.role };
  }

  /** Resolves a bearer token to a principal, or undefined when unknown, expired or revoked. */
  async authenticate(token: string): Promise<Principal | undefined> {
    const now = this.#options.now();
    const hash = hashToken(token);
    if (token.startsWith('opa_')) {
      const row = await this.#db
        .selectFrom('api_tokens')
        .innerJoin('users', 'users.username', 'api_tokens.created_by')
        .select(['api_tokens.id', 'api_tokens.role', 'api_tokens.expires_at', 'api_tokens.last_used_at', 'users.username', 'users.role as userRole'])
        .where('api_tokens.token_hash', '=', hash)
        .executeTakeFirst();
      if (row === undefined || (row.expires_at !== null && row.expires_at <= now)) return undefined;
      if (row.last_used_at === null || now - row.last_used_at > 60_000) {
        await this.#db.updateTable('api_tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
      }
      // A token never acts above its owner's current role.
      const role = roleAtLeast(row.userRole, row.role) ? row.role : row.userRole;
      return { username: row.username, role, via: 'api-token', tokenId: row.id, grant: `api:${row.id}` };
    }
    const row = await this.#db
      .selectFrom('sessions')
      .innerJoin('users', 'users.username', 'sessions.username')
      .select(['sessions.kind', 'sessions.expires_at', 'sessions.parent', 'users.username', 'users.role'])
      .where('sessions.token_hash', '=', hash)
      .executeTakeFirst();
    if (row === undefined || row.expires_at <= now) return undefined;
    if (row.kind === 'session') return { username: row.username, role: row.role, via: 'session', grant: `session:${hash}` };
    // A stream token is used once: whoever deletes it first has it.
    const consumed = await this.#db.deleteFrom('sessions').where('token_hash', '=', hash).executeTakeFirst();
    if (consumed.numDeletedRows !== 1n) return undefined;
    const streaming: Principal = { username: row.username, role: row.role, via: 'stream', ...(row.parent === null ? {} : { grant: row.parent }) };
    // It lives no longer than the session or API token that asked for it.
    return row.parent === null ? streaming : this.recheck(streaming);
  }

  async createApiToken(owner: Principal, input: { name: string; role?: Role; ttlSeconds?: number }): Promise<ApiTokenInfo & { token: string }> {
    const role = input.role ?? owner.role;
    if (!roleAtLeast(owner.role, role)) {
      throw new ApiError('FORBIDDEN', `a ${owner.role} cannot create a token with role ${role}`);
    }
    const now = this.#options.now();
    const id = newId();
    const token = newSecretToken('api');
    const expiresAt = input.ttlSeconds === undefined ? null : now + input.ttlSeconds * 1000;
    await this.#db
      .insertInto('api_tokens')
      .values({ id, name: input.name, token_hash: hashToken(token), role, created_by: owner.username, created_at: now, expires_at: expiresAt, last_used_at: null })
      .execute();
    return { id, token, name: input.name, role, createdBy: owner.username, createdAt: now, ...(expiresAt === null ? {} : { expiresAt }) };
  }

  /** Admins see every token; others see their own. */
  async listApiTokens(viewer: Principal, options: { limit: number; after?: string }): Promise<ApiTokenInfo[]> {
    let query = this.#db.selectFrom('api_tokens').select(['id', 'name', 'role', 'created_by', 'created_at', 'expires_at', 'last_used_at']).orderBy('id').limit(options.limit);
    if (viewer.role !== 'admin') query = query.where('created_by', '=', viewer.username);
    if (options.after !== undefined) query = query.where('id', '>', options.after);
    const rows = await query.execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      role: r.role,
      createdBy: r.created_by,
      createdAt: r.created_at,
      ...(r.expires_at === null ? {} : { expiresAt: r.expires_at }),
      ...(r.last_used_at === null ? {} : { lastUsedAt: r.last_used_at }),
    }));
  }

  async revokeApiToken(viewer: Principal, id: string): Promise<void> {
    const row = await this.#db.selectFrom('api_tokens').select(['id', 'created_by']).where('id', '=', id).executeTakeFirst();
    if (row === undefined || (viewer.role !== 'admin' && row.created_by !== viewer.username)) {
      throw new ApiError('NOT_FOUND', `API token "${id}" does not exist`);
    }
    await this.#db.deleteFrom('api_tokens').where('id', '=', id).execute();
    const grant = `api:${id}`;
    await this.#db.deleteFrom('sessions').where('parent', '=', grant).execute();
    this.#revocations.next({ kind: 'grant', grant, reason: 'the API token was revoked' });
  }
}
