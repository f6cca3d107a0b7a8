import { api } from './client.js';
import { signOut } from '../state/session.js';

export type LiveTopic = 'telemetry' | 'alerts' | 'status' | 'rollouts';

export interface LiveOptions {
  readonly topics: readonly LiveTopic[];
  /** Only these devices (all when absent). */
  readonly devices?: readonly string[];
  /** Each event as it arrives: its topic and the parsed `data` (`{deviceId?, payload}`). */
  readonly onEvent: (topic: LiveTopic, data: unknown) => void;
  /** Connected or not (for a "live" badge). */
  readonly onState?: (connected: boolean) => void;
}

/**
 * A live stream (`GET /api/v1/live`) through EventSource. EventSource cannot send a bearer
 * header, so every connection — the first and each reconnect — asks for a NEW single-use,
 * short-lived stream token (`POST /auth/stream-token`); the browser's own retry would reuse a
 * spent token, so the stream is closed on error and reopened here with backoff. Answers close().
 */
export function openLive(options: LiveOptions): () => void {
  let closed = false;
  let source: EventSource | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let backoffMs = 500;

  const connect = async (): Promise<void> => {
    if (closed) return;
    let token: string;
    try {
      token = (await api<{ token: string }>('POST', '/auth/stream-token')).token;
    } catch {
      schedule();
      return;
    }
    if (closed) return;
    const query = new URLSearchParams({ topics: options.topics.join(','), access_token: token });
    if (options.devices !== undefined) query.set('devices', options.devices.join(','));
    const es = new EventSource(`/api/v1/live?${query.toString()}`);
    source = es;
    es.onopen = () => {
      backoffMs = 500;
      options.onState?.(true);
    };
    es.onerror = () => {
      es.close();
      options.onState?.(false);
      schedule();
    };
    for (const topic of options.topics) {
      es.addEventListener(topic, (event) => {
        options.onEvent(topic, JSON.parse((event as MessageEvent<string>).data) as unknown);
      });
    }
    // The server ends a stream whose session ended (logout, user deleted, role changed).
    es.addEventListener('closed', () => {
      es.close();
      closed = true;
      options.onState?.(false);
      signOut('Your session ended. Sign in again.');
    });
  };
  const schedule = (): void => {
    if (closed) return;
    retry = setTimeout(() => void connect(), backoffMs);
    backoffMs = Math.min(backoffMs * 2, 10_000);
  };
  void connect();
  return () => {
    closed = true;
    if (retry !== undefined) clearTimeout(retry);
    source?.close();
  };
}

/** Runs `paint` at most once per animation frame however many times `request()` is called. */
export function frameCoalescer(paint: () => void): { request(): void; cancel(): void } {
  let frame: number | undefined;
  return {
    request() {
      frame ??= requestAnimationFrame(() => {
        frame = undefined;
        paint();
      });
    },
    cancel() {
      if (frame !== undefined) cancelAnimationFrame(frame);
      frame = undefined;
    },
  };
}
