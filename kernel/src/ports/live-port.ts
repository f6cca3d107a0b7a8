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
}
