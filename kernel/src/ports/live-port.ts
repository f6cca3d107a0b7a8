import type { Observable } from 'rxjs';

export const LIVE_TOPICS = ['telemetry', 'alerts', 'status', 'rollouts'] as const;
export type LiveTopic = (typeof LIVE_TOPICS)[number];

export interface LiveEvent {
  readonly topic: LiveTopic;
  readonly deviceId?: string;
  readonly payload: unknown;
}

/** The port parts publish to (provided by the platform); the SSE route and the dashboard read from it. */
export interface LivePort {
  publish(event: LiveEvent): void;
  /**
   * Every event published, hot (issue 13: the rollouts' health gates read the alerts part's
   * AlertEvents, as alerts is composed after OTA). The platform's hub provides it; optional so
   * a publish-only stand-in in a test still fits.
   */
  readonly events?: Observable<LiveEvent>;
}
