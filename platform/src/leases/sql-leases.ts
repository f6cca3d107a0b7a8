import { sql } from 'kysely';
import type { Clock, Lease, LeasePort, Log, StateDatabase } from '@outpost/kernel';
import type { LeaseTables } from './lease-migrations.js';

export interface SqlLeasesOptions {
  readonly db: StateDatabase;
  /** This node's name in the `holder` column (host, pid and a random suffix). */
  readonly holder: string;
  readonly ttlMs: number;
  readonly clock: Clock;
  readonly log: Log;
}

interface Holding {
  readonly name: string;
  token: number | undefined;
  /** Local time until which this node may act as holder (a margin before the row expires). */
  until: number;
}

/**
 * Leases in the state database (ADR 0011), one row per name in `leases`. Each node tries every
 * ttl/3: the holder extends its row (matching holder and token), the others take an expired row
 * over with `token + 1` — one UPDATE each, so two nodes never both win, on SQLite as on PostgreSQL.
 * `held()` answers from memory and turns false at 80 % of the ttl after the last successful renewal,
 * before another node may take over (a margin for clock skew and a tick in progress). `close()`
 * expires the rows this node holds, so another node takes over at its next try.
 */
export class SqlLeases implements LeasePort {
  readonly #o: SqlLeasesOptions;
  readonly #db;
  readonly #holdings = new Map<string, Holding>();
  readonly #leases = new Map<string, Lease>();
  #timer: NodeJS.Timeout | undefined;
  #round: Promise<void> | undefined;
  #closed = false;

  constructor(options: SqlLeasesOptions) {
    this.#o = options;
    this.#db = options.db.withTables<LeaseTables>();
  }

  lease(name: string): Lease {
    const known = this.#leases.get(name);
    if (known !== undefined) return known;
    const holding: Holding = { name, token: undefined, until: 0 };
    this.#holdings.set(name, holding);
    const lease: Lease = {
      name,
      held: () => !this.#closed && holding.token !== undefined && this.#o.clock.now() < holding.until,
      token: () => (lease.held() ? holding.token : undefined),
    };
    this.#leases.set(name, lease);
    if (this.#timer !== undefined) this.#renewSoon();
    return lease;
  }

  /** One round at once (so a lease asked for at start-up is held before the parts start), then every ttl/3. */
  async start(): Promise<void> {
    await this.#renewAll();
    this.#timer = setInterval(() => this.#renewSoon(), Math.max(1, Math.floor(this.#o.ttlMs / 3)));
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#round;
    for (const holding of this.#holdings.values()) {
      if (holding.token === undefined) continue;
      try {
        await this.#db.updateTable('leases').set({ expires_at: 0 }).where('name', '=', holding.name).where('holder', '=', this.#o.holder).where('token', '=', holding.token).execute();
        this.#o.log.info({ lease: holding.name, token: holding.token }, `lease ${holding.name} released`);
      } catch (err) {
        this.#o.log.warn({ err, lease: holding.name }, `lease ${holding.name} not released (it expires by itself)`);
      }
      holding.token = undefined;
    }
  }

  #renewSoon(): void {
    if (this.#round !== undefined || this.#closed) return;
    this.#round = this.#renewAll().finally(() => {
      this.#round = undefined;
    });
  }

  async #renewAll(): Promise<void> {
    for (const holding of this.#holdings.values()) {
      if (this.#closed) return;
      try {
        await this.#renew(holding);
      } catch (err) {
        this.#o.log.warn({ err, lease: holding.name }, `lease ${holding.name}: the state database did not answer; held only until its margin ends`);
      }
    }
  }

  async #renew(holding: Holding): Promise<void> {
    const { holder, ttlMs, clock, log } = this.#o;
    const startedAt = clock.now();
    const expiresAt = startedAt + ttlMs;
    const until = startedAt + Math.floor(ttlMs * 0.8);
    if (holding.token !== undefined) {
      const renewed = await this.#db
        .updateTable('leases')
        .set({ expires_at: expiresAt })
        .where('name', '=', holding.name)
        .where('holder', '=', holder)
        .where('token', '=', holding.token)
        .executeTakeFirst();
      if (Number(renewed.numUpdatedRows) === 1) {
        holding.until = until;
        return;
      }
      log.warn({ lease: holding.name, token: holding.token }, `lease ${holding.name} lost: another node took it over`);
      holding.token = undefined;
      holding.until = 0;
    }
    await this.#db
      .insertInto('leases')
      .values({ name: holding.name, holder: '', expires_at: 0, token: 0 })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const taken = await this.#db
      .updateTable('leases')
      .set({ holder, expires_at: expiresAt, token: sql<number>`token + 1` })
      .where('name', '=', holding.name)
      .where('expires_at', '<=', startedAt)
      .executeTakeFirst();
    if (Number(taken.numUpdatedRows) !== 1) return;
    const row = await this.#db.selectFrom('leases').select(['token', 'holder']).where('name', '=', holding.name).executeTakeFirst();
    if (row === undefined || row.holder !== holder) return;
    holding.token = Number(row.token);
    holding.until = until;
    log.info({ lease: holding.name, token: holding.token, holder }, `lease ${holding.name} taken (token ${holding.token})`);
  }
}
