/**
 * Absence of one device for one rule, on arrival time. The tracker holds no timer: it says
 * when it is next due (`due()`), and the operator calls `elapse(now)` then.
 *
 * - Fires once when no sample arrived for `absenceMs` (one alert per silence, however long).
 * - Resolves on the next sample that arrives; a device that reconnects resolves and starts over.
 * - `cooldownMs`: after a resolve, the next firing waits until `cooldownMs` has passed.
 * - `minStateMs`: a sample arriving less than `minStateMs` after the firing holds the resolve
 *   until then; a new firing waits at least `minStateMs` after the resolve.
 */
import type { AlertTransition } from '@outpost/protocol';

export interface AbsenceTiming {
  readonly absenceMs: number;
  readonly cooldownMs: number;
  readonly minStateMs: number;
}

export interface AbsenceDecision {
  readonly state: AlertTransition;
  /** Arrival time of the sample that ended the silence, or when the silence was detected. */
  readonly ts: number;
}

export class AbsenceTracker {
  readonly #timing: AbsenceTiming;
  #lastArrival: number;
  #firedAt: number | undefined;
  #resolvedAt: number | undefined;
  /** Arrival time of a sample whose resolve waits for minStateMs. */
  #heldResolve: number | undefined;

  /** Starts watching at `now`, as if a sample had just arrived; `firedAt`: the silence already fired (an alert open). */
  constructor(timing: AbsenceTiming, now: number, firedAt?: number) {
    this.#timing = timing;
    this.#lastArrival = now;
    this.#firedAt = firedAt;
  }

  get firing(): boolean {
    return this.#firedAt !== undefined;
  }

  /** A sample arrived (`now` on the scheduler; `arrivedAt` as stamped on the sample). */
  arrive(now: number, arrivedAt: number): AbsenceDecision | undefined {
    this.#lastArrival = now;
    if (this.#firedAt === undefined || this.#heldResolve !== undefined) return undefined;
    if (now - this.#firedAt < this.#timing.minStateMs) {
      this.#heldResolve = arrivedAt;
      return undefined;
    }
    return this.#resolve(now, arrivedAt);
  }

  /** When `elapse` must next be called, or undefined when nothing can happen before a sample. */
  due(): number | undefined {
    const { absenceMs, cooldownMs, minStateMs } = this.#timing;
    if (this.#firedAt !== undefined) {
      return this.#heldResolve === undefined ? undefined : this.#firedAt + minStateMs;
    }
    const silent = this.#lastArrival + absenceMs;
    if (this.#resolvedAt === undefined) return silent;
    return Math.max(silent, this.#resolvedAt + cooldownMs, this.#resolvedAt + minStateMs);
  }

  /** Time passed to `now`: the transition due by then, if any. */
  elapse(now: number): AbsenceDecision | undefined {
    const due = this.due();
    if (due === undefined || now < due) return undefined;
    if (this.#heldResolve !== undefined) return this.#resolve(now, this.#heldResolve);
    this.#firedAt = now;
    return { state: 'firing', ts: now };
  }

  #resolve(now: number, arrivedAt: number): AbsenceDecision {
    this.#firedAt = undefined;
    this.#heldResolve = undefined;
    this.#resolvedAt = now;
    return { state: 'resolved', ts: arrivedAt };
  }
}
