/** Notification channels and the durable delivery log, in the state database. */
import type { Severity } from '@outpost/protocol';
import { sql } from 'kysely';
import { stateDialectOf } from '@outpost/kernel';
import type { AlertsDb, AlertsTables } from './alerts-tables.js';
import type { SecretSealer } from './secret-sealer.js';

export type ChannelType = 'webhook' | 'mqtt';

export interface Channel {
  readonly id: string;
  readonly name: string;
  readonly type: ChannelType;
  /** Webhook target. */
  readonly url?: string;
  /** Webhook HMAC secret; never leaves the server. */
  readonly secret?: string;
  readonly minSeverity?: Severity;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export type DeliveryState = 'pending' | 'delivered' | 'failed';

export interface Delivery {
  readonly id: number;
  readonly channelId: string;
  readonly eventId: string;
  /** The exact bytes sent (and signed), so every retry carries the same signature. */
  readonly body: string;
  readonly state: DeliveryState;
  readonly attempts: number;
  readonly lastStatus?: number;
  readonly lastError?: string;
  readonly lastLatencyMs?: number;
  readonly nextAttemptAt?: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

type ChannelRow = AlertsTables['alerts_channels'];
type DeliveryRow = AlertsTables['alerts_deliveries'];

function channelOf(row: ChannelRow, sealer: SecretSealer): Channel {
  return {
    id: row.id,
    name: row.name,
    type: row.type === 'mqtt' ? 'mqtt' : 'webhook',
    ...(row.url === null ? {} : { url: row.url }),
    ...(row.secret === null ? {} : { secret: sealer.open(row.id, row.secret) }),
    ...(row.min_severity === null ? {} : { minSeverity: row.min_severity as Severity }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function deliveryOf(row: DeliveryRow): Delivery {
  return {
    id: Number(row.n),
    channelId: row.channel_id,
    eventId: row.event_id,
    body: row.body,
    state: row.state as DeliveryState,
    attempts: row.attempts,
    ...(row.last_status === null ? {} : { lastStatus: row.last_status }),
    ...(row.last_error === null ? {} : { lastError: row.last_error }),
    ...(row.last_latency_ms === null ? {} : { lastLatencyMs: row.last_latency_ms }),
    ...(row.next_attempt_at === null ? {} : { nextAttemptAt: row.next_attempt_at }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function channelRow(channel: Channel, sealer: SecretSealer): ChannelRow {
  return {
    id: channel.id,
    name: channel.name,
    type: channel.type,
    url: channel.url ?? null,
    secret: channel.secret === undefined ? null : sealer.seal(channel.id, channel.secret),
    min_severity: channel.minSeverity ?? null,
    created_at: channel.createdAt,
    updated_at: channel.updatedAt,
  };
}

/** Channels with their webhook secrets sealed at rest (see secret-sealer.ts). */
export class ChannelStore {
  readonly #db: AlertsDb;
  readonly #sealer: SecretSealer;

  constructor(db: AlertsDb, sealer: SecretSealer) {
    this.#db = db;
    this.#sealer = sealer;
  }

  /**
   * Seals the secrets of rows written before sealing existed; answers how many. The old bytes
   * are overwritten (secure_delete while rewriting) and the WAL is checkpointed and truncated,
   * so the plaintext does not linger in the files.
   */
  async sealPlaintextSecrets(): Promise<number> {
    const rows = await this.#db.selectFrom('alerts_channels').select(['id', 'secret']).where('secret', 'is not', null).execute();
    const plain = rows.filter((row): row is { id: string; secret: string } => row.secret !== null && !this.#sealer.isSealed(row.secret));
    if (plain.length === 0) return 0;
    if (stateDialectOf(this.#db) === 'postgres') {
      // PostgreSQL has no secure_delete: the rows are rewritten, and VACUUM reclaims the old versions.
      for (const row of plain) {
        await this.#db.updateTable('alerts_channels').set({ secret: this.#sealer.seal(row.id, row.secret) }).where('id', '=', row.id).where('secret', '=', row.secret).execute();
      }
      return plain.length;
    }
    await sql`PRAGMA secure_delete = ON`.execute(this.#db);
    try {
      for (const row of plain) {
        await this.#db.updateTable('alerts_channels').set({ secret: this.#sealer.seal(row.id, row.secret) }).where('id', '=', row.id).where('secret', '=', row.secret).execute();
      }
    } finally {
      await sql`PRAGMA secure_delete = OFF`.execute(this.#db);
    }
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(this.#db);
    return plain.length;
  }

  async all(): Promise<Channel[]> {
    return (await this.#db.selectFrom('alerts_channels').selectAll().orderBy('id').execute()).map((row) => channelOf(row, this.#sealer));
  }

  async list(options: { limit: number; after?: string }): Promise<Channel[]> {
    let q = this.#db.selectFrom('alerts_channels').selectAll().orderBy('id').limit(options.limit);
    if (options.after !== undefined) q = q.where('id', '>', options.after);
    return (await q.execute()).map((row) => channelOf(row, this.#sealer));
  }

  async get(id: string): Promise<Channel | undefined> {
    const row = await this.#db.selectFrom('alerts_channels').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : channelOf(row, this.#sealer);
  }

  /** False when the id is taken. */
  async insert(channel: Channel): Promise<boolean> {
    const result = await this.#db.insertInto('alerts_channels').values(channelRow(channel, this.#sealer)).onConflict((c) => c.column('id').doNothing()).executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async replace(channel: Channel): Promise<boolean> {
    const { id: _id, created_at: _created, ...rest } = channelRow(channel, this.#sealer);
    const result = await this.#db.updateTable('alerts_channels').set(rest).where('id', '=', channel.id).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.#db.deleteFrom('alerts_channels').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async enqueue(delivery: { channelId: string; eventId: string; body: string; at: number }): Promise<number> {
    // RETURNING, not insertId: PostgreSQL reports no insert id (issue 15).
    const result = await this.#db
      .insertInto('alerts_deliveries')
      .values({
        n: undefined,
        channel_id: delivery.channelId,
        event_id: delivery.eventId,
        body: delivery.body,
        state: 'pending',
        attempts: 0,
        last_status: null,
        last_error: null,
        last_latency_ms: null,
        next_attempt_at: delivery.at,
        created_at: delivery.at,
        updated_at: delivery.at,
      })
      .returning('n')
      .executeTakeFirstOrThrow();
    return Number(result.n);
  }

  /** Pending deliveries due by `now`, oldest first. */
  async due(now: number, limit: number): Promise<Delivery[]> {
    const rows = await this.#db
      .selectFrom('alerts_deliveries')
      .selectAll()
      .where('state', '=', 'pending')
      .where('next_attempt_at', '<=', now)
      .orderBy('n')
      .limit(limit)
      .execute();
    return rows.map(deliveryOf);
  }

  /** The earliest next attempt of any pending delivery. */
  async nextDue(): Promise<number | undefined> {
    const row = await this.#db
      .selectFrom('alerts_deliveries')
      .select((eb) => eb.fn.min('next_attempt_at').as('next'))
      .where('state', '=', 'pending')
      .executeTakeFirst();
    const next = row?.next;
    return next === null || next === undefined ? undefined : Number(next);
  }

  async recordAttempt(
    id: number,
    outcome: { state: DeliveryState; attempts: number; status?: number; error?: string; latencyMs?: number; nextAttemptAt?: number; at: number },
  ): Promise<void> {
    await this.#db
      .updateTable('alerts_deliveries')
      .set({
        state: outcome.state,
        attempts: outcome.attempts,
        last_status: outcome.status ?? null,
        last_error: outcome.error ?? null,
        last_latency_ms: outcome.latencyMs ?? null,
        next_attempt_at: outcome.nextAttemptAt ?? null,
        updated_at: outcome.at,
      })
      .where('n', '=', id)
      .execute();
  }

  /** A channel's deliveries, newest first. */
  async deliveries(channelId: string, options: { limit: number; before?: number }): Promise<Delivery[]> {
    let q = this.#db.selectFrom('alerts_deliveries').selectAll().where('channel_id', '=', channelId).orderBy('n', 'desc').limit(options.limit);
    if (options.before !== undefined) q = q.where('n', '<', options.before);
    return (await q.execute()).map(deliveryOf);
  }
}
