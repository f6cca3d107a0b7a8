import { Subject, type Observable } from 'rxjs';
import type { LiveEvent, LivePort } from '@outpost/kernel';

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
