import { Subject, type Observable } from 'rxjs';

export const LIVE_TOPICS = ['telemetry', 'alerts', 'status', 'rollouts'] as const;
export type LiveTopic = (typeof LIVE_TOPICS)[number];

export interface LiveEvent {
  readonly topic: LiveTopic;
  readonly deviceId?: string;
  readonly payload: unknown;
}

/** The port parts publish to; the SSE route and later the dashboard read from it. */
export interface LivePort {
  publish(event: LiveEvent): void;
}

/** In-process fan-out of live events (the seam for a cluster-wide bus later). */
export class LiveHub implements LivePort {
  readonly #subject = new Subject<LiveEvent>();

  get events(): Observable<LiveEvent> {
    return this.#subject.asObservable();
  }

  publish(event: LiveEvent): void {
    this.#subject.next(event);
  }

  close(): void {
    this.#subject.complete();
  }
}
