/** Alerts (one per rule, device and firing episode) and their AlertEvents, in the state database. */
import type { AlertEvent, AlertState, Severity } from '@outpost/protocol';
import type { AlertsDb, AlertsTables } from './alerts-tables.js';

/** Where a transition was decided: the platform's engine, or a rule running on the device (EdgeAlert). */
export type AlertSource = 'platform' | 'edge';

export interface AlertRecord {
  readonly id: string;
  readonly ruleId: string;
  readonly deviceId: string;
  readonly source: AlertSource;
  readonly severity: Severity;
  readonly state: AlertState;
  readonly value: number | null;
  readonly firedAt: number;
  readonly resolvedAt?: number;
  readonly ack?: { readonly by: string; readonly at: number; readonly comment: string };
  readonly maintenance: boolean;
  readonly late: boolean;
}

export interface AlertFilter {
  readonly state?: AlertState;
  readonly deviceId?: string;
  readonly severity?: Severity;
  readonly ruleId?: string;
  readonly limit: number;
  /** Continue after this alert (newest first). */
  readonly after?: { readonly createdAt: number; readonly id: string };
}

type AlertRow = AlertsTables['alerts_alerts'];
type EventRow = AlertsTables['alerts_events'];

function alertOf(row: AlertRow): AlertRecord & { createdAt: number } {
  return {
    id: row.id,
    ruleId: row.rule_id,
    deviceId: row.device_id,
    source: row.source === 'edge' ? 'edge' : 'platform',
    severity: row.severity as Severity,
    state: row.state as AlertState,
    value: row.value,
    firedAt: row.fired_at,
    ...(row.resolved_at === null ? {} : { resolvedAt: row.resolved_at }),
    ...(row.ack_by === null || row.ack_at === null ? {} : { ack: { by: row.ack_by, at: row.ack_at, comment: row.ack_comment ?? '' } }),
    maintenance: row.maintenance === 1,
    late: row.late === 1,
    createdAt: row.created_at,
  };
}

function eventOf(row: EventRow): AlertEvent {
  return {
    v: 1,
    id: row.id,
    alertId: row.alert_id,
    ruleId: row.rule_id,
    deviceId: row.device_id,
    state: row.state === 'resolved' ? 'resolved' : 'firing',
    severity: row.severity as Severity,
    value: row.value,
    ts: row.ts,
    at: row.at,
    maintenance: row.maintenance === 1,
    late: row.late === 1,
  };
}

function eventRow(event: AlertEvent): EventRow {
  return {
    n: undefined,
    id: event.id,
    alert_id: event.alertId,
    rule_id: event.ruleId,
    device_id: event.deviceId,
    state: event.state,
    severity: event.severity,
    value: event.value,
    ts: event.ts,
    at: event.at,
    maintenance: event.maintenance ? 1 : 0,
    late: event.late ? 1 : 0,
  };
}

/** One write of a batch: a new firing alert, or the resolve of an open one — each with its event. */
export type AlertWrite =
  | { readonly kind: 'open'; readonly alert: AlertRecord; readonly event: AlertEvent; readonly createdAt: number }
  | { readonly kind: 'resolve'; readonly alertId: string; readonly event: AlertEvent };

function alertRow(alert: AlertRecord, createdAt: number): AlertRow {
  return {
    id: alert.id,
    rule_id: alert.ruleId,
    device_id: alert.deviceId,
    source: alert.source,
    severity: alert.severity,
    state: 'firing',
    value: alert.value,
    fired_at: alert.firedAt,
    resolved_at: null,
    ack_by: null,
    ack_at: null,
    ack_comment: null,
    maintenance: alert.maintenance ? 1 : 0,
    late: alert.late ? 1 : 0,
    open: 1,
    created_at: createdAt,
  };
}

export class AlertStore {
  readonly #db: AlertsDb;

  constructor(db: AlertsDb) {
    this.#db = db;
  }

  async findOpen(ruleId: string, deviceId: string, source: AlertSource): Promise<AlertRecord | undefined> {
    const row = await this.#db
      .selectFrom('alerts_alerts')
      .selectAll()
      .where('rule_id', '=', ruleId)
      .where('device_id', '=', deviceId)
      .where('source', '=', source)
      .where('open', '=', 1)
      .executeTakeFirst();
    return row === undefined ? undefined : alertOf(row);
  }

  /** A new firing alert and its first event, in one transaction. */
  async open(alert: AlertRecord, event: AlertEvent, createdAt: number): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx.insertInto('alerts_alerts').values(alertRow(alert, createdAt)).execute();
      await trx.insertInto('alerts_events').values(eventRow(event)).execute();
    });
  }

  /** Resolves an open alert with its resolving event, in one transaction. */
  async resolve(alertId: string, event: AlertEvent): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx.updateTable('alerts_alerts').set({ state: 'resolved', resolved_at: event.ts, open: 0 }).where('id', '=', alertId).execute();
      await trx.insertInto('alerts_events').values(eventRow(event)).execute();
    });
  }

  /** Every open alert's key (rule, device, source) and id: the lifecycle keeps them in memory. */
  async openAlerts(): Promise<{ id: string; ruleId: string; deviceId: string; source: AlertSource; firedAt: number }[]> {
    const rows = await this.#db.selectFrom('alerts_alerts').select(['id', 'rule_id', 'device_id', 'source', 'fired_at']).where('open', '=', 1).execute();
    return rows.map((row) => ({ id: row.id, ruleId: row.rule_id, deviceId: row.device_id, source: row.source === 'edge' ? 'edge' : 'platform', firedAt: Number(row.fired_at) }));
  }

  /** The opens and resolves of one batch of transitions, with their events, in one transaction. */
  async applyAll(writes: readonly AlertWrite[]): Promise<void> {
    if (writes.length === 0) return;
    await this.#db.transaction().execute(async (trx) => {
      for (const write of writes) {
        if (write.kind === 'open') await trx.insertInto('alerts_alerts').values(alertRow(write.alert, write.createdAt)).execute();
        else await trx.updateTable('alerts_alerts').set({ state: 'resolved', resolved_at: write.event.ts, open: 0 }).where('id', '=', write.alertId).execute();
      }
      await trx.insertInto('alerts_events').values(writes.map((write) => eventRow(write.event))).execute();
    });
  }

  /** Acknowledges a firing alert; undefined when there is none, the current record when it is not firing. */
  async acknowledge(id: string, ack: { by: string; at: number; comment: string }): Promise<{ changed: boolean; alert: AlertRecord } | undefined> {
    const result = await this.#db
      .updateTable('alerts_alerts')
      .set({ state: 'acknowledged', ack_by: ack.by, ack_at: ack.at, ack_comment: ack.comment })
      .where('id', '=', id)
      .where('state', '=', 'firing')
      .executeTakeFirst();
    const alert = await this.get(id);
    return alert === undefined ? undefined : { changed: Number(result.numUpdatedRows) > 0, alert };
  }

  async get(id: string): Promise<(AlertRecord & { createdAt: number }) | undefined> {
    const row = await this.#db.selectFrom('alerts_alerts').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : alertOf(row);
  }

  async events(alertId: string): Promise<AlertEvent[]> {
    const rows = await this.#db.selectFrom('alerts_events').selectAll().where('alert_id', '=', alertId).orderBy('n').execute();
    return rows.map(eventOf);
  }

  async list(filter: AlertFilter): Promise<(AlertRecord & { createdAt: number })[]> {
    let q = this.#db.selectFrom('alerts_alerts').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit);
    if (filter.state !== undefined) q = q.where('state', '=', filter.state);
    if (filter.deviceId !== undefined) q = q.where('device_id', '=', filter.deviceId);
    if (filter.severity !== undefined) q = q.where('severity', '=', filter.severity);
    if (filter.ruleId !== undefined) q = q.where('rule_id', '=', filter.ruleId);
    const after = filter.after;
    if (after !== undefined) {
      q = q.where((eb) => eb.or([eb('created_at', '<', after.createdAt), eb.and([eb('created_at', '=', after.createdAt), eb('id', '<', after.id)])]));
    }
    return (await q.execute()).map(alertOf);
  }

  /**
   * The newest firing time (sample time) stored for (rule, device, source), open or not: a
   * replayed firing no later than it was stored already (cluster evaluators, ADR 0013).
   */
  async lastFiredAt(ruleId: string, deviceId: string, source: AlertSource): Promise<number | undefined> {
    const row = await this.#db
      .selectFrom('alerts_alerts')
      .select((eb) => eb.fn.max('fired_at').as('fired'))
      .where('rule_id', '=', ruleId)
      .where('device_id', '=', deviceId)
      .where('source', '=', source)
      .executeTakeFirst();
    const fired = row?.fired;
    return fired === null || fired === undefined ? undefined : Number(fired);
  }

  /** Open alerts of a rule (e.g. when the rule is deleted). */
  async openOfRule(ruleId: string): Promise<AlertRecord[]> {
    const rows = await this.#db.selectFrom('alerts_alerts').selectAll().where('rule_id', '=', ruleId).where('open', '=', 1).execute();
    return rows.map(alertOf);
  }
}
