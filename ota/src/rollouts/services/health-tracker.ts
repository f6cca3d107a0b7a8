/**
 * What the health gates read about each device, kept in memory from the broker's inbox and
 * the live hub: when it was last heard from (telemetry, status, presence), when it restarted
 * (DeviceStatus uptime going down), and its alerts (AlertEvents of the alerts part). Hot
 * streams only: after a restart the tracker starts empty and `since` covers the gap.
 */
import type { Severity } from '@outpost/protocol';
import type { HealthFigures } from '../domain/gate.js';

interface AlertMark {
  readonly severity: string;
  firing: boolean;
  readonly firedAt: number;
}

/** A device the gate judges and since when (its update's end, or the rollout's start). */
export interface Judged {
  readonly deviceId: string;
  readonly since: number;
}

/** An AlertEvent as the alerts part publishes it on the live hub, narrowed from `unknown`. */
export function asAlertEvent(payload: unknown): { alertId: string; deviceId: string; state: 'firing' | 'resolved'; severity: string; at: number } | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const p = payload as Record<string, unknown>;
  if (typeof p['alertId'] !== 'string' || typeof p['deviceId'] !== 'string' || typeof p['severity'] !== 'string') return undefined;
  if (p['state'] !== 'firing' && p['state'] !== 'resolved') return undefined;
  const at = typeof p['at'] === 'number' ? p['at'] : typeof p['ts'] === 'number' ? p['ts'] : undefined;
  if (at === undefined) return undefined;
  return { alertId: p['alertId'], deviceId: p['deviceId'], state: p['state'], severity: p['severity'], at };
}

export class HealthTracker {
  readonly #lastSeen = new Map<string, number>();
  readonly #uptime = new Map<string, { readonly uptimeS: number; readonly at: number }>();
  /** Restarts as `[when seen, when the uptime before it was seen]`. */
  readonly #restarts = new Map<string, [number, number][]>();
  readonly #alerts = new Map<string, Map<string, AlertMark>>();

  seen(deviceId: string, at: number): void {
    const last = this.#lastSeen.get(deviceId);
    if (last === undefined || at > last) this.#lastSeen.set(deviceId, at);
  }

  /** An online DeviceStatus: a lower uptime than the last one is a restart. */
  uptime(deviceId: string, uptimeS: number, at: number): void {
    const last = this.#uptime.get(deviceId);
    this.#uptime.set(deviceId, { uptimeS, at });
    if (last !== undefined && uptimeS < last.uptimeS) {
      const list = this.#restarts.get(deviceId) ?? [];
      list.push([at, last.at]);
      if (list.length > 100) list.splice(0, list.length - 100);
      this.#restarts.set(deviceId, list);
    }
  }

  alert(event: { alertId: string; deviceId: string; state: 'firing' | 'resolved'; severity: string; at: number }): void {
    let marks = this.#alerts.get(event.deviceId);
    if (marks === undefined) {
      marks = new Map();
      this.#alerts.set(event.deviceId, marks);
    }
    const mark = marks.get(event.alertId);
    if (event.state === 'firing') marks.set(event.alertId, { severity: event.severity, firing: true, firedAt: event.at });
    else if (mark !== undefined) mark.firing = false;
    if (marks.size > 200) {
      const oldest = [...marks.entries()].filter(([, m]) => !m.firing).sort((a, b) => a[1].firedAt - b[1].firedAt)[0];
      if (oldest !== undefined) marks.delete(oldest[0]);
    }
  }

  forget(deviceId: string): void {
    this.#lastSeen.delete(deviceId);
    this.#uptime.delete(deviceId);
    this.#restarts.delete(deviceId);
    this.#alerts.delete(deviceId);
  }

  figures(devices: readonly Judged[], rules: { windowMs: number; silenceAfterMs: number; alertSeverities: readonly Severity[] }, now: number): Omit<HealthFigures, 'rolledBack'> {
    const severities = new Set<string>(rules.alertSeverities);
    let silent = 0;
    let restarting = 0;
    let alerting = 0;
    for (const { deviceId, since } of devices) {
      const from = Math.max(since, now - rules.windowMs);
      const seen = Math.max(this.#lastSeen.get(deviceId) ?? 0, since);
      if (now - seen > rules.silenceAfterMs) silent += 1;
      // A restart counts when the uptime before it was also seen after `since`: the restart an
      // update itself causes (activation) is not held against the new version.
      if ((this.#restarts.get(deviceId) ?? []).some(([at, before]) => at >= from && before >= since)) restarting += 1;
      const marks = this.#alerts.get(deviceId);
      if (marks !== undefined && [...marks.values()].some((m) => severities.has(m.severity) && (m.firing || m.firedAt >= from))) alerting += 1;
    }
    return { devices: devices.length, silent, restarting, alerting };
  }
}
