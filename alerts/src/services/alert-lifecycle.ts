/**
 * Turns rule transitions into the Alert resource and its AlertEvents (one per transition):
 * firing opens an alert for (rule, device, source), resolved closes it; acknowledging is the
 * operator's. Every stored event goes to the live hub; outbound channels hear only events that
 * are neither `late` nor `maintenance`.
 *
 * Transitions that do not change an alert are counted and logged, not stored: a firing while
 * the (rule, device) alert is already open (the engine restarted or the rule changed and its
 * fresh state fired again) and a resolve with nothing open.
 */
import type { AlertEvent, Rule, Severity } from '@outpost/protocol';
import type { AlertRecord, AlertSource, AlertStore, AlertWrite } from '../adapters/alert-store.js';
import type { AlertsMetrics } from '../adapters/alerts-metrics.js';
import type { Channel, ChannelStore } from '../adapters/channel-store.js';

export interface Transition {
  readonly ruleId: string;
  readonly deviceId: string;
  readonly state: 'firing' | 'resolved';
  readonly value: number | null;
  readonly ts: number;
  readonly severity: Severity;
  readonly late: boolean;
  readonly source: AlertSource;
}

export interface LifecycleDeps {
  readonly alerts: AlertStore;
  readonly channels: ChannelStore;
  readonly metrics: AlertsMetrics;
  readonly now: () => number;
  readonly newId: (prefix: string) => string;
  readonly isUpdating: (deviceId: string) => boolean;
  /** The platform rule of this id (for its channels), if there is one. */
  readonly rule: (ruleId: string) => Rule | undefined;
  readonly live: { publish(event: { topic: 'alerts'; deviceId: string; payload: AlertEvent }): void };
  /** A delivery row was written: look for due deliveries. */
  readonly wakeDeliveries: () => void;
  readonly log: { debug(object: object, message: string): void; info(object: object, message: string): void };
}

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };

export function severityAtLeast(severity: Severity, min: Severity | undefined): boolean {
  return min === undefined || SEVERITY_RANK[severity] >= SEVERITY_RANK[min];
}

function openKey(ruleId: string, deviceId: string, source: AlertSource): string {
  return `${source}\u0000${ruleId}\u0000${deviceId}`;
}

export class AlertLifecycle {
  readonly #deps: LifecycleDeps;
  readonly #listeners: ((event: AlertEvent) => void)[] = [];
  /** Open alerts: (rule, device, source) → alert id; loaded on first use, then kept in step with the writes. */
  #open: Map<string, string> | undefined;
  #serial: Promise<unknown> = Promise.resolve();

  constructor(deps: LifecycleDeps) {
    this.#deps = deps;
  }

  /** Every stored AlertEvent, after it is stored (tests and benchmarks listen here). */
  onEvent(listener: (event: AlertEvent) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }

  /** One transition (an operator's rule deletion, an EdgeAlert); see applyAll. */
  async apply(transition: Transition): Promise<AlertEvent | undefined> {
    return (await this.applyAll([transition]))[0];
  }

  /**
   * The transitions of one batch, decided against the open alerts kept in memory (loaded once
   * from the store) and stored in one transaction; then published, notified and handed to the
   * listeners. A failed transaction leaves memory as it was, so a retry decides the same.
   * Calls run one at a time. Resolves with the stored event of each transition (or undefined).
   */
  applyAll(transitions: readonly Transition[]): Promise<(AlertEvent | undefined)[]> {
    const next = this.#serial.then(() => this.#applyAll(transitions));
    this.#serial = next.catch(() => undefined);
    return next;
  }

  /**
   * Forget the open alerts kept in memory; the next call reloads them (cluster nodes, ADR 0013:
   * another node stored transitions for a partition this node just took over).
   */
  refreshOpen(): Promise<void> {
    const next = this.#serial.then(() => {
      this.#open = undefined;
    });
    this.#serial = next.catch(() => undefined);
    return next;
  }

  async #openAlerts(): Promise<Map<string, string>> {
    if (this.#open !== undefined) return this.#open;
    const open = new Map<string, string>();
    for (const alert of await this.#deps.alerts.openAlerts()) open.set(openKey(alert.ruleId, alert.deviceId, alert.source), alert.id);
    this.#open = open;
    return open;
  }

  async #applyAll(transitions: readonly Transition[]): Promise<(AlertEvent | undefined)[]> {
    const { alerts, metrics, now, newId, log } = this.#deps;
    const open = await this.#openAlerts();
    const undo: [key: string, previous: string | undefined][] = [];
    const writes: AlertWrite[] = [];
    const results: (AlertEvent | undefined)[] = [];
    const stored: { readonly event: AlertEvent; readonly source: AlertSource }[] = [];
    const skipped: { readonly transition: Transition; readonly outcome: 'duplicate' | 'orphan'; readonly alertId?: string }[] = [];
    for (const transition of transitions) {
      const { ruleId, deviceId, source, state } = transition;
      const key = openKey(ruleId, deviceId, source);
      const openId = open.get(key);
      if (state === 'firing' && openId !== undefined) {
        skipped.push({ transition, outcome: 'duplicate', alertId: openId });
        results.push(undefined);
        continue;
      }
      if (state === 'resolved' && openId === undefined) {
        skipped.push({ transition, outcome: 'orphan' });
        results.push(undefined);
        continue;
      }
      const at = now();
      const maintenance = this.#deps.isUpdating(deviceId);
      const alertId = openId ?? newId('al');
      const event: AlertEvent = {
        v: 1,
        id: newId('ev'),
        alertId,
        ruleId,
        deviceId,
        state,
        severity: transition.severity,
        value: transition.value,
        ts: transition.ts,
        at,
        maintenance,
        late: transition.late,
      };
      undo.push([key, openId]);
      if (openId === undefined) {
        const alert: AlertRecord = { id: alertId, ruleId, deviceId, source, severity: transition.severity, state: 'firing', value: transition.value, firedAt: transition.ts, maintenance, late: transition.late };
        writes.push({ kind: 'open', alert, event, createdAt: at });
        open.set(key, alertId);
      } else {
        writes.push({ kind: 'resolve', alertId: openId, event });
        open.delete(key);
      }
      results.push(event);
      stored.push({ event, source });
    }
    try {
      await alerts.applyAll(writes);
    } catch (err) {
      for (const [key, previous] of undo.reverse()) {
        if (previous === undefined) open.delete(key);
        else open.set(key, previous);
      }
      throw err;
    }
    for (const { transition, outcome, alertId } of skipped) {
      const { ruleId, deviceId, state, source } = transition;
      metrics.transitions.inc({ state, source, outcome });
      if (outcome === 'duplicate') log.debug({ ruleId, deviceId, alertId }, 'alerts: firing while the alert is already open (kept the open one)');
      else log.debug({ ruleId, deviceId }, 'alerts: resolved with no open alert (nothing to resolve)');
    }
    for (const { event, source } of stored) await this.#stored(event, source);
    return results;
  }

  async #stored(event: AlertEvent, source: AlertSource): Promise<void> {
    const { metrics, log } = this.#deps;
    const { ruleId, deviceId, alertId, state, maintenance } = event;
    metrics.transitions.inc({ state, source, outcome: 'stored' });
    this.#deps.live.publish({ topic: 'alerts', deviceId, payload: event });
    if (event.maintenance || event.late) {
      metrics.suppressed.inc({ reason: event.maintenance ? 'maintenance' : 'late' });
      log.info({ ruleId, deviceId, alertId, state, maintenance, late: event.late }, 'alerts: event stored; notifies no one');
    } else {
      await this.#notify(event);
    }
    for (const listener of this.#listeners) listener(event);
  }

  async #notify(event: AlertEvent): Promise<void> {
    const ids = this.#deps.rule(event.ruleId)?.channels ?? [];
    if (ids.length === 0) return;
    const body = JSON.stringify(event);
    let queued = 0;
    for (const id of new Set(ids)) {
      const channel: Channel | undefined = await this.#deps.channels.get(id);
      if (channel === undefined || !severityAtLeast(event.severity, channel.minSeverity)) continue;
      await this.#deps.channels.enqueue({ channelId: channel.id, eventId: event.id, body, at: event.at });
      queued++;
    }
    if (queued > 0) this.#deps.wakeDeliveries();
  }
}
