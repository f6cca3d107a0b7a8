/**
 * Where an accepted device → platform message goes (issue 4, item 7), before its PUBACK:
 * telemetry into the ingest sink (durable) and the live hub; status, reported config and
 * command results into the registry; everything onto the typed inbox streams. A failure
 * rejects, so the hook withholds the acknowledgement and the agent retries.
 */
import type { RegistryPort, LivePort, DeviceInbox, InboxMessage, OtaProgressHandler, PresenceChange } from '@outpost/kernel';
import { Subject } from 'rxjs';
import type { InboundMessage } from '../domain/inbound-message.js';
import type { BrokerMetrics } from '../ports/broker-metrics.js';
import type { IngestSink } from '../ports/ingest-sink.js';
import type { Log } from '../ports/log.js';

export interface InboxRouterDeps {
  readonly registry: RegistryPort;
  readonly sink: IngestSink;
  readonly live: LivePort;
  readonly metrics: BrokerMetrics;
  readonly log: Log;
  /** A monotonic clock in ms for latency figures. */
  readonly elapsedMs: () => number;
  /** A device's last-seen time is written at most this often from its traffic. */
  readonly seenIntervalMs: number;
}

export class InboxRouter {
  readonly #deps: InboxRouterDeps;
  readonly #telemetry = new Subject<InboxMessage<InboundPayload<'telemetry'>>>();
  readonly #status = new Subject<InboxMessage<InboundPayload<'status'>>>();
  readonly #reported = new Subject<InboxMessage<InboundPayload<'configReported'>>>();
  readonly #results = new Subject<InboxMessage<InboundPayload<'commandResult'>>>();
  readonly #alerts = new Subject<InboxMessage<InboundPayload<'alerts'>>>();
  readonly #progress = new Subject<InboxMessage<InboundPayload<'otaProgress'>>>();
  readonly #presence = new Subject<PresenceChange>();
  readonly #seen = new Map<string, number>();
  /** The OTA part's store for progress reports, awaited before the PUBACK (issue 13). */
  #progressHandler: OtaProgressHandler | undefined;
  readonly inbox: DeviceInbox;

  constructor(deps: InboxRouterDeps) {
    this.#deps = deps;
    this.inbox = Object.freeze({
      telemetry: this.#telemetry.asObservable(),
      status: this.#status.asObservable(),
      reportedConfig: this.#reported.asObservable(),
      commandResults: this.#results.asObservable(),
      alerts: this.#alerts.asObservable(),
      otaProgress: this.#progress.asObservable(),
      presence: this.#presence.asObservable(),
      handleOtaProgress: (handler: OtaProgressHandler): (() => void) => {
        this.#progressHandler = handler;
        return () => {
          if (this.#progressHandler === handler) this.#progressHandler = undefined;
        };
      },
    });
  }

  /**
   * Stores what must be stored; resolves when the message may be acknowledged. `queued` is
   * called once a telemetry batch has its place in the spool and only its fsync is awaited.
   */
  async route(message: InboundMessage, raw: Uint8Array, queued?: () => void): Promise<void> {
    const { registry, live } = this.#deps;
    const { deviceId, receivedAt } = message;
    this.#markSeen(deviceId, receivedAt);
    switch (message.kind) {
      case 'telemetry': {
        const started = this.#deps.elapsedMs();
        const stored = this.#deps.sink.append(deviceId, raw, message.payload);
        queued?.();
        await stored;
        this.#deps.metrics.appendLatency((this.#deps.elapsedMs() - started) / 1000);
        live.publish({ topic: 'telemetry', deviceId, payload: message.payload });
        this.#telemetry.next({ deviceId, payload: message.payload, receivedAt });
        return;
      }
      case 'status': {
        const status = message.payload;
        await registry.recordStatus(
          deviceId,
          status.state === 'online'
            ? { online: true, at: receivedAt, agentVersion: status.agentVersion, outbox: status.outbox, ...(status.firmware === undefined ? {} : { firmware: status.firmware }) }
            : { online: false, at: receivedAt },
        );
        live.publish({ topic: 'status', deviceId, payload: status });
        this.#status.next({ deviceId, payload: status, receivedAt });
        return;
      }
      case 'configReported':
        await registry.configs.recordReported(deviceId, message.payload);
        this.#reported.next({ deviceId, payload: message.payload, receivedAt });
        return;
      case 'commandResult': {
        const result = message.payload;
        const known = await registry.commands.markCommand(deviceId, result.id, result.ok ? 'succeeded' : 'failed', {
          ok: result.ok,
          at: result.at,
          ...(result.output === undefined ? {} : { output: result.output }),
          ...(result.error === undefined ? {} : { error: result.error }),
        });
        if (!known) this.#deps.log.info({ deviceId, commandId: result.id }, 'command result for an unknown or already finished command');
        this.#results.next({ deviceId, payload: result, receivedAt });
        return;
      }
      case 'alerts':
        this.#alerts.next({ deviceId, payload: message.payload, receivedAt });
        return;
      case 'otaProgress': {
        const progress = { deviceId, payload: message.payload, receivedAt };
        // Stored before the PUBACK, so a gate never misses a report; a rejection withholds it.
        if (this.#progressHandler !== undefined) await this.#progressHandler(progress);
        this.#progress.next(progress);
        return;
      }
    }
  }

  presence(change: PresenceChange): void {
    if (!change.online) this.#seen.delete(change.deviceId);
    this.#presence.next(change);
  }

  /** Last seen from any traffic, throttled (status messages and presence write it anyway). */
  #markSeen(deviceId: string, at: number): void {
    const last = this.#seen.get(deviceId);
    if (last !== undefined && at - last < this.#deps.seenIntervalMs) return;
    this.#seen.set(deviceId, at);
    this.#deps.registry.markSeen(deviceId, at).catch((err: unknown) => this.#deps.log.warn({ err, deviceId }, 'could not record last seen'));
  }

  complete(): void {
    for (const subject of [this.#telemetry, this.#status, this.#reported, this.#results, this.#alerts, this.#progress, this.#presence]) subject.complete();
  }
}

type InboundPayload<K extends InboundMessage['kind']> = Extract<InboundMessage, { kind: K }>['payload'];
