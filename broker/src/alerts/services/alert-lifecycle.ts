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
import type { AlertRecord, AlertSource, AlertStore } from '../adapters/alert-store.js';
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

export class AlertLifecycle {
  readonly #deps: LifecycleDeps;
  readonly #listeners: ((event: AlertEvent) => void)[] = [];

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

  async apply(transition: Transition): Promise<AlertEvent | undefined> {
    const { alerts, metrics, now, newId, log } = this.#deps;
    const { ruleId, deviceId, source, state } = transition;
    const open = await alerts.findOpen(ruleId, deviceId, source);
    const at = now();
    const maintenance = this.#deps.isUpdating(deviceId);
    if (state === 'firing' && open !== undefined) {
      metrics.transitions.inc({ state, source, outcome: 'duplicate' });
      log.debug({ ruleId, deviceId, alertId: open.id }, 'alerts: firing while the alert is already open (kept the open one)');
      return undefined;
    }
    if (state === 'resolved' && open === undefined) {
      metrics.transitions.inc({ state, source, outcome: 'orphan' });
      log.debug({ ruleId, deviceId }, 'alerts: resolved with no open alert (nothing to resolve)');
      return undefined;
    }
    const alertId = open?.id ?? newId('al');
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
    if (open === undefined) {
      const record: AlertRecord = {
        id: alertId,
        ruleId,
        deviceId,
        source,
        severity: transition.severity,
        state: 'firing',
        value: transition.value,
        firedAt: transition.ts,
        maintenance,
        late: transition.late,
      };
      await alerts.open(record, event, at);
    } else {
      await alerts.resolve(open.id, event);
    }
    metrics.transitions.inc({ state, source, outcome: 'stored' });
    this.#deps.live.publish({ topic: 'alerts', deviceId, payload: event });
    if (event.maintenance || event.late) {
      metrics.suppressed.inc({ reason: event.maintenance ? 'maintenance' : 'late' });
      log.info({ ruleId, deviceId, alertId, state, maintenance, late: event.late }, 'alerts: event stored; notifies no one');
    } else {
      await this.#notify(event);
    }
    for (const listener of this.#listeners) listener(event);
    return event;
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
