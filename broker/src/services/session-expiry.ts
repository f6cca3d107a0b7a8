/**
 * Certificate expiry of live sessions: the TLS handshake checks a certificate's dates only
 * at connect, so a session outliving its certificate's notAfter is closed then (code
 * `CERT_EXPIRED`), one timer per session. The scheduler is injected (tests run in virtual
 * time); a notAfter further away than a timer can wait is reached in steps.
 */
import { expiryDrop } from '../domain/session-drop.js';
import type { LiveSession } from '../ports/live-sessions.js';

/** Runs `run` after `ms`; answers a function that cancels it. */
export type Schedule = (run: () => void, ms: number) => () => void;

/** The longest single wait of setTimeout (about 24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export const timerSchedule: Schedule = (run, ms) => {
  const timer = setTimeout(run, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

export interface SessionExpiryDeps {
  readonly now: () => number;
  readonly schedule?: Schedule;
  /** A session was closed because its certificate expired. */
  readonly expired?: (session: LiveSession, reason: string) => void;
}

export class SessionExpiry {
  readonly #now: () => number;
  readonly #schedule: Schedule;
  readonly #expired: (session: LiveSession, reason: string) => void;
  readonly #cancels = new Map<LiveSession, () => void>();

  constructor(deps: SessionExpiryDeps) {
    this.#now = deps.now;
    this.#schedule = deps.schedule ?? timerSchedule;
    this.#expired = deps.expired ?? (() => undefined);
  }

  /** Closes the session at its certificate's notAfter (at once if that has passed). */
  watch(session: LiveSession): void {
    const notAfter = session.identity.notAfter;
    if (notAfter === undefined) return;
    this.forget(session);
    this.#arm(session, notAfter);
  }

  /** The session closed: its timer goes. */
  forget(session: LiveSession): void {
    this.#cancels.get(session)?.();
    this.#cancels.delete(session);
  }

  /** Sessions with a pending expiry. */
  get size(): number {
    return this.#cancels.size;
  }

  /** Cancels every timer (shutdown). */
  clear(): void {
    for (const cancel of this.#cancels.values()) cancel();
    this.#cancels.clear();
  }

  #arm(session: LiveSession, notAfter: number): void {
    // notAfter is the last valid instant (RFC 5280 4.1.2.5): the session ends just after it.
    const left = notAfter - this.#now();
    if (left < 0) {
      this.#cancels.delete(session);
      if (session.closed) return;
      const drop = expiryDrop(session.identity.serial, notAfter);
      session.close(drop.reason, drop.code);
      this.#expired(session, drop.reason);
      return;
    }
    this.#cancels.set(session, this.#schedule(() => this.#arm(session, notAfter), Math.min(left + 1, MAX_TIMER_MS)));
  }
}
