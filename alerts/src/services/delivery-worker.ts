/**
 * The durable outbox of notifications: each (event, channel) is a row in the delivery log,
 * attempted until it succeeds or `maxAttempts` is reached, with exponential backoff between
 * attempts (`retryBaseMs` × 2^(n−1), at most `retryMaxMs`). Pending rows survive a restart:
 * `start()` picks them up. Webhooks are signed; MQTT channels publish to
 * `integrations/alerts` with QoS 1.
 */
import { topics } from '@outpost/protocol';
import type { Channel, ChannelStore, Delivery } from '../adapters/channel-store.js';
import type { AlertsMetrics } from '../adapters/alerts-metrics.js';
import { sendWebhook } from '../adapters/webhook-sender.js';
import type { WebhookTargetGuard } from '../adapters/webhook-target.js';

export interface DeliveryLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface DeliveryWorkerDeps {
  readonly channels: ChannelStore;
  publishMqtt(message: { topic: string; payload: Buffer; qos: 0 | 1; retain: boolean }): Promise<void>;
  /** Checked again at every delivery (DNS rebinding, D8). */
  readonly webhookTargets: WebhookTargetGuard;
  readonly metrics: AlertsMetrics;
  readonly log: DeliveryLog;
  readonly now: () => number;
  readonly options: { readonly webhookTimeoutMs: number; readonly retryBaseMs: number; readonly retryMaxMs: number; readonly maxAttempts: number; readonly concurrency: number };
  /**
   * Cluster nodes (ADR 0011): deliveries are attempted only while this node holds the lease, and
   * the holder looks for due rows at least every `pollMs` (other nodes enqueue them). Absent = one process.
   */
  readonly lease?: { held(): boolean; readonly pollMs: number };
}

const PAGE = 100;

export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}

export class DeliveryWorker {
  readonly #deps: DeliveryWorkerDeps;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #closed = true;
  #pending = 0;

  constructor(deps: DeliveryWorkerDeps) {
    this.#deps = deps;
  }

  get pending(): number {
    return this.#pending;
  }

  start(): void {
    this.#closed = false;
    this.wake();
  }

  /** Looks for due deliveries now (after an enqueue). */
  wake(): void {
    if (this.#closed) return;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#running = this.#drain()
      .catch((err: unknown) => this.#deps.log.error({ err }, 'alerts: the delivery worker failed; retrying'))
      .finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.wake();
        } else void this.#schedule();
      });
  }

  /** Resolves when nothing is being attempted right now. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.idle();
  }

  async #schedule(): Promise<void> {
    if (this.#closed) return;
    const lease = this.#deps.lease;
    let next: number | undefined = lease === undefined ? undefined : this.#deps.now() + lease.pollMs;
    try {
      if (lease === undefined || lease.held()) {
        const due = await this.#deps.channels.nextDue();
        if (due !== undefined) next = next === undefined ? due : Math.min(next, due);
      }
    } catch (err) {
      this.#deps.log.error({ err }, 'alerts: could not read the delivery log');
      next = this.#deps.now() + this.#deps.options.retryBaseMs;
    }
    if (next === undefined || this.#closed || this.#running !== undefined) return;
    const delay = Math.max(0, next - this.#deps.now());
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.wake();
    }, delay);
    this.#timer.unref();
  }

  async #drain(): Promise<void> {
    if (this.#deps.lease?.held() === false) return;
    const channels = new Map<string, Channel | undefined>();
    for (;;) {
      const due = await this.#deps.channels.due(this.#deps.now(), PAGE);
      this.#pending = due.length;
      if (due.length === 0) return;
      const queue = [...due];
      const workers = Array.from({ length: Math.min(this.#deps.options.concurrency, queue.length) }, async () => {
        for (let delivery = queue.shift(); delivery !== undefined && !this.#closed; delivery = queue.shift()) {
          if (!channels.has(delivery.channelId)) channels.set(delivery.channelId, await this.#deps.channels.get(delivery.channelId));
          await this.#attempt(delivery, channels.get(delivery.channelId));
        }
      });
      await Promise.all(workers);
      if (this.#closed || due.length < PAGE) return;
    }
  }

  async #attempt(delivery: Delivery, channel: Channel | undefined): Promise<void> {
    const { metrics, log, now, options } = this.#deps;
    const attempts = delivery.attempts + 1;
    let outcome: { ok: boolean; status?: number; error?: string; latencyMs?: number };
    if (channel === undefined) {
      outcome = { ok: false, error: 'the channel was deleted' };
    } else if (channel.type === 'webhook') {
      outcome = await sendWebhook({ url: channel.url ?? '', secret: channel.secret ?? '', body: delivery.body, eventId: delivery.eventId, timeoutMs: options.webhookTimeoutMs, guard: this.#deps.webhookTargets });
      metrics.webhookSeconds.observe((outcome.latencyMs ?? 0) / 1000);
    } else {
      try {
        await this.#deps.publishMqtt({ topic: topics.integrationsAlerts(), payload: Buffer.from(delivery.body, 'utf8'), qos: 1, retain: false });
        outcome = { ok: true };
      } catch (err) {
        outcome = { ok: false, error: (err as Error).message.slice(0, 500) };
      }
    }
    const type = channel?.type ?? 'deleted';
    const at = now();
    const base = {
      attempts,
      at,
      ...(outcome.status === undefined ? {} : { status: outcome.status }),
      ...(outcome.error === undefined ? {} : { error: outcome.error }),
      ...(outcome.latencyMs === undefined ? {} : { latencyMs: Math.round(outcome.latencyMs * 1000) / 1000 }),
    };
    if (outcome.ok) {
      metrics.notifications.inc({ type, result: 'sent' });
      await this.#deps.channels.recordAttempt(delivery.id, { ...base, state: 'delivered' });
      return;
    }
    const giveUp = channel === undefined || attempts >= options.maxAttempts;
    metrics.notifications.inc({ type, result: giveUp ? 'given-up' : 'failed' });
    if (giveUp) {
      log.error({ channelId: delivery.channelId, eventId: delivery.eventId, attempts, error: outcome.error }, 'alerts: notification given up');
      await this.#deps.channels.recordAttempt(delivery.id, { ...base, state: 'failed' });
      return;
    }
    const nextAttemptAt = at + backoffMs(attempts, options.retryBaseMs, options.retryMaxMs);
    log.warn({ channelId: delivery.channelId, eventId: delivery.eventId, attempts, error: outcome.error, nextAttemptAt }, 'alerts: notification failed; will retry');
    await this.#deps.channels.recordAttempt(delivery.id, { ...base, state: 'pending', nextAttemptAt });
  }
}
