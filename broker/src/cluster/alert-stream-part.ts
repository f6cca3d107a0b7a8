/**
 * The alert-stream part (issue 15 item 5, docs/adr/0013-alert-partitions.md): composed with
 * OUTPOST_REDIS_URL, after the broker and before alerts, on every node. It provides
 * `ports.alertStream` (the partitioned Redis streams the alerts part evaluates under leases) and
 * runs the forwarder: the spool consumer `alerts` — on a cluster node the spool's alerts cursor
 * belongs to the forwarder, not to a local engine — reads what the spool made durable (so the
 * spool/PUBACK rule is untouched: a batch is acknowledged to the device before it is forwarded)
 * and adds each record to its device's partition; the cursor moves only after Redis took the
 * batch, so a Redis outage delays alerts and loses nothing. ioredis is imported at start.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { concatMap, defer, from, retry, timer, type Subscription } from 'rxjs';
import { requirePort, type AlertStreamPort, type Part, type PartDeps, type Readiness } from '@outpost/kernel';
import { OutpostError } from '@outpost/protocol';
import type { AlertStreamRedis } from './alert-stream-redis.js';

export const ALERT_STREAM_PART_NAME = 'alert-stream';
/** The spool consumer the forwarder reads (the name the broker's spool already has for alerts). */
export const FORWARD_CONSUMER = 'alerts';

export interface AlertStreamPartOptions {
  readonly nodeId?: string;
  /** Key prefix in Redis; default `outpost:`. */
  readonly keyPrefix?: string;
  /** Partitions the devices are spread over; default 16 (the same on every node). */
  readonly partitions?: number;
  /** Each partition's stream is trimmed to about this many entries; default 20,000. */
  readonly maxLen?: number;
  /** Spool records per XADD round trip; default 500. */
  readonly batchRecords?: number;
  readonly commandTimeoutMs?: number;
  /** Backoff of the forwarder after a failed XADD: base and cap; default 100 ms and 5 s. */
  readonly retryBaseMs?: number;
  readonly retryMaxMs?: number;
}

export interface AlertStreamPart extends Part {
  readonly provides: { readonly alertStream: AlertStreamPort };
  /** Records forwarded since start (tests, benchmarks). */
  readonly forwarded: number;
}

export function createAlertStreamPart(options: AlertStreamPartOptions = {}): (deps: PartDeps) => AlertStreamPart {
  return (deps) => {
    const url = deps.config.redisUrl;
    if (url === undefined) throw new OutpostError('VALIDATION_FAILED', 'the alert-stream part needs OUTPOST_REDIS_URL (redis://host:port)');
    const partitions = options.partitions ?? 16;
    const maxLen = options.maxLen ?? 20_000;
    const batchRecords = options.batchRecords ?? 500;
    const commandTimeoutMs = options.commandTimeoutMs ?? 5_000;
    const retryBaseMs = options.retryBaseMs ?? 100;
    const retryMaxMs = options.retryMaxMs ?? 5_000;
    for (const [key, value, min, max] of [
      ['partitions', partitions, 1, 1024],
      ['maxLen', maxLen, 100, 100_000_000],
      ['batchRecords', batchRecords, 1, 100_000],
      ['commandTimeoutMs', commandTimeoutMs, 1, 600_000],
      ['retryBaseMs', retryBaseMs, 1, 600_000],
      ['retryMaxMs', retryMaxMs, 1, 600_000],
    ] as const) {
      if (!Number.isSafeInteger(value) || value < min || value > max) {
        throw new OutpostError('VALIDATION_FAILED', `invalid alert-stream options: ${key} must be a whole number from ${min} to ${max}, got ${String(value)}`);
      }
    }
    const log = deps.log.child({ part: ALERT_STREAM_PART_NAME });
    const spool = requirePort(deps.ports, 'ingestSpool', ALERT_STREAM_PART_NAME);
    const records = requirePort(deps.ports, 'telemetryRecords', ALERT_STREAM_PART_NAME);
    const nodeId = options.nodeId ?? deps.ports.cluster?.nodeId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    let streams: AlertStreamRedis | undefined;
    let forwarder: Subscription | undefined;
    let inFlight: Promise<unknown> = Promise.resolve();
    /** The cursor commits whose files are not written yet. */
    let committing: Promise<unknown> = Promise.resolve();
    let forwarded = 0;
    let failing = false;
    let closed = false;

    const started = (): AlertStreamRedis => {
      if (streams === undefined) throw new OutpostError('REDIS_UNAVAILABLE', 'the alert streams are not connected: the alert-stream part has not started');
      return streams;
    };
    const port: AlertStreamPort = {
      partitions,
      partitionOf: (deviceId) => started().partitionOf(deviceId),
      readPending: (p, count) => started().readPending(p, count),
      readNew: (ps, count, blockMs) => started().readNew(ps, count, blockMs),
      range: (p, fromId, toId, count) => started().range(p, fromId, toId, count),
      lastDelivered: (p) => started().lastDelivered(p),
      ack: (p, ids) => started().ack(p, ids),
    };

    const forward = async (entries: Parameters<typeof records.recordsOf>[0]): Promise<void> => {
      const { records: typed, unreadable } = records.recordsOf(entries);
      for (const bad of unreadable) log.warn({ seq: bad.seq, deviceId: bad.deviceId, reason: bad.reason }, 'alert streams: a spool record could not be read; not forwarded');
      await started().add(typed);
      const last = entries[entries.length - 1];
      // The commit counts at once (the reader's backpressure with it); the spool writes its cursor
      // file within cursorSyncMs, and the next read does not wait for that (close() does).
      if (last !== undefined) {
        const committed = spool.commit(FORWARD_CONSUMER, last.seq).catch((err: unknown) => {
          log.warn({ err, seq: last.seq }, 'alert streams: committing the spool cursor failed; the spool forwards those records again after a restart');
        });
        committing = Promise.all([committing, committed]);
      }
      forwarded += typed.length;
      if (failing) log.info({ records: typed.length }, 'alert streams: forwarding again');
      failing = false;
    };

    return {
      name: ALERT_STREAM_PART_NAME,
      provides: { alertStream: port },
      get forwarded() {
        return forwarded;
      },

      async start() {
        const { connectAlertStreamRedis } = await import('./alert-stream-redis.js');
        streams = await connectAlertStreamRedis({ url, log, nodeId, partitions, maxLen, commandTimeoutMs, ...(options.keyPrefix === undefined ? {} : { keyPrefix: options.keyPrefix }) });
        forwarder = spool
          .readBatches(FORWARD_CONSUMER, { maxRecords: batchRecords, maxWaitMs: 20 })
          .pipe(
            concatMap((entries) =>
              defer(() => {
                const work = forward(entries);
                inFlight = work.catch(() => undefined);
                return from(work);
              }),
            ),
            retry({
              delay: (err: unknown, count) => {
                if (!failing) log.error({ err, count }, 'alert streams: forwarding to Redis failed; the spool keeps the records and retries');
                failing = true;
                return timer(Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(count, 16)));
              },
            }),
          )
          .subscribe({ error: (err: unknown) => log.error({ err }, 'alert streams: the forwarder stopped') });
        log.info({ nodeId, partitions }, 'alert streams: forwarding the spool to Redis');
      },

      ready: (): Readiness => {
        if (closed || streams === undefined) return 'down';
        return streams.connected && !failing ? 'ok' : 'degraded';
      },

      async close() {
        closed = true;
        forwarder?.unsubscribe();
        await inFlight;
        await committing;
        await streams?.close();
      },
    };
  };
}
