/**
 * Lets @influxdata/influxdb-client's WriteApi (batching, retries, backoff) write to InfluxDB 1.x.
 *
 * The client posts to `/api/v2/write?org=&bucket=&precision=`, which InfluxDB 2.x/3.x/Cloud
 * answer but 1.x (Debian's 1.6.7 in our tests) does not. This Transport wraps the client's own
 * node transport and rewrites only that path to `/write?db=&rp=&precision=` (precision
 * ns→n, us→u); every other request passes through unchanged. The WriteApi's org and bucket
 * are ignored: the target is the `db` and `rp` given here.
 *
 * Requests go through one keep-alive agent with few sockets (default 4), so a burst of
 * batches queues here instead of ballooning influxd's memory. `drain()` waits for requests
 * already sent, which `WriteApi.close()` does not.
 */
import http from 'node:http';
import https from 'node:https';
import {
  InfluxDB,
  type CommunicationObserver,
  type ResponseStartedFn,
  type SendOptions,
  type Transport,
  type WriteApi,
  type WriteOptions,
  type WritePrecisionType,
} from '@influxdata/influxdb-client';

export interface InfluxV1TransportOptions {
  /** Base URL of InfluxDB, e.g. "http://127.0.0.1:8086" (a path prefix is kept). */
  readonly url: string;
  /** Target database of every write. */
  readonly db: string;
  /** Target retention policy; the database's default when absent. */
  readonly rp?: string;
  /** Sent as the `u`/`p` query parameters of writes when given. */
  readonly username?: string;
  readonly password?: string;
  /** Sockets per agent, i.e. requests in parallel (default 4). */
  readonly maxSockets?: number;
  /** Socket idle timeout of a request in milliseconds (default 10 000). */
  readonly timeoutMs?: number;
}

export interface InfluxV1Transport extends Transport {
  /** The keep-alive agent all requests share. */
  readonly agent: http.Agent;
  /** Requests sent through this transport whose response has not ended yet. */
  readonly inFlight: number;
  /**
   * Resolves true once no request is in flight, or false when `timeoutMs` passes first.
   * Call after `WriteApi.close()`, which does not wait for batches already sent.
   */
  drain(timeoutMs?: number): Promise<boolean>;
  /** Destroys the agent's sockets. Use after drain(); requests sent later fail. */
  close(): void;
}

export interface InfluxV1WriteTarget {
  readonly db: string;
  readonly rp?: string;
  readonly username?: string;
  readonly password?: string;
}

export class InfluxV1WriteError extends Error {
  constructor(
    readonly code: 'TELEMETRY_ERR_INFLUX_DRAIN_TIMEOUT',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'InfluxV1WriteError';
  }
}

const V2_WRITE_PATH = '/api/v2/write';

const V1_PRECISION: Readonly<Record<string, string>> = { ns: 'n', us: 'u', ms: 'ms', s: 's' };

/**
 * Maps a v2 write path (`/api/v2/write?org=&bucket=&precision=ns[&consistency=]`) to the 1.x
 * `/write?db=&rp=&precision=n[&consistency=][&u=&p=]`; returns any other path unchanged.
 */
export function toV1WritePath(path: string, target: InfluxV1WriteTarget): string {
  const queryStart = path.indexOf('?');
  const pathname = queryStart === -1 ? path : path.slice(0, queryStart);
  if (pathname !== V2_WRITE_PATH) return path;

  const v2 = new URLSearchParams(queryStart === -1 ? '' : path.slice(queryStart + 1));
  const v1 = new URLSearchParams({ db: target.db });
  if (target.rp !== undefined && target.rp !== '') v1.set('rp', target.rp);
  const precision = v2.get('precision');
  // 1.x knows n, u, ms, s, m, h: anything else goes on as it is, for influxd to refuse.
  if (precision !== null) v1.set('precision', V1_PRECISION[precision] ?? precision);
  const consistency = v2.get('consistency');
  if (consistency !== null) v1.set('consistency', consistency);
  if (target.username !== undefined) v1.set('u', target.username);
  if (target.password !== undefined) v1.set('p', target.password);
  return `/write?${v1.toString()}`;
}

/** Creates the 1.x transport; pass it as `new InfluxDB({ url, transport })`. */
export function createInfluxV1Transport(options: InfluxV1TransportOptions): InfluxV1Transport {
  const target: InfluxV1WriteTarget = Object.freeze({
    db: options.db,
    rp: options.rp,
    username: options.username,
    password: options.password,
  });
  const agentOptions: http.AgentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 4 };
  const agent = new URL(options.url).protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  const inner = new InfluxDB({
    url: options.url,
    timeout: options.timeoutMs ?? 10_000,
    transportOptions: { agent },
  }).transport;

  let inFlight = 0;
  const drainWaiters = new Set<() => void>();
  const begin = (): (() => void) => {
    inFlight += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      inFlight -= 1;
      if (inFlight === 0) {
        for (const wake of [...drainWaiters]) wake();
      }
    };
  };

  return {
    agent,
    chunkCombiner: inner.chunkCombiner,
    get inFlight() {
      return inFlight;
    },

    send(path: string, body: string, sendOptions: SendOptions, callbacks?: Partial<CommunicationObserver<Uint8Array>>) {
      const end = begin();
      // Delegate member by member: the observer may be a class instance with prototype methods.
      const observer = callbacks ?? {};
      const tracked: Partial<CommunicationObserver<Uint8Array>> = {
        next: (data) => observer.next?.(data),
        responseStarted: (headers, statusCode) => observer.responseStarted?.(headers, statusCode),
        error: (error) => {
          end();
          observer.error?.(error);
        },
        complete: () => {
          end();
          observer.complete?.();
        },
      };
      // The node transport pauses on `next() === false` only when the observer can resume.
      if (observer.useCancellable) tracked.useCancellable = (cancellable) => observer.useCancellable?.(cancellable);
      if (observer.useResume) tracked.useResume = (resume) => observer.useResume?.(resume);
      try {
        inner.send(toV1WritePath(path, target), body, sendOptions, tracked);
      } catch (error) {
        end();
        throw error;
      }
    },

    async request(path: string, body: unknown, sendOptions: SendOptions, responseStarted?: ResponseStartedFn) {
      const end = begin();
      try {
        return (await inner.request(toV1WritePath(path, target), body, sendOptions, responseStarted)) as unknown;
      } finally {
        end();
      }
    },

    async *iterate(path: string, body: unknown, sendOptions: SendOptions) {
      const end = begin();
      try {
        yield* inner.iterate(toV1WritePath(path, target), body, sendOptions);
      } finally {
        end();
      }
    },

    drain(timeoutMs = 30_000) {
      if (inFlight === 0) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const done = (drained: boolean): void => {
          clearTimeout(timer);
          drainWaiters.delete(wake);
          resolve(drained);
        };
        const wake = (): void => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        drainWaiters.add(wake);
      });
    },

    close() {
      agent.destroy();
    },
  };
}

export interface InfluxV1WriterOptions extends InfluxV1TransportOptions {
  /** Timestamp precision of points and numeric timestamps (default "ns"). */
  readonly precision?: WritePrecisionType;
  /** The WriteApi's batching and retry options. */
  readonly writeOptions?: Partial<WriteOptions>;
  /** How long close() waits for requests already sent (default 30 s). */
  readonly drainTimeoutMs?: number;
}

export interface InfluxV1Writer {
  readonly writeApi: WriteApi;
  readonly transport: InfluxV1Transport;
  /**
   * Flushes and closes the WriteApi, waits for every request already sent, then closes the
   * agent. Rejects when the final flush fails or requests are still running at the deadline.
   */
  close(): Promise<void>;
}

/** A WriteApi bound to an InfluxDB 1.x database, with a close() that really waits. */
export function createInfluxV1WriteApi(options: InfluxV1WriterOptions): InfluxV1Writer {
  const transport = createInfluxV1Transport(options);
  const client = new InfluxDB({ url: options.url, transport });
  // org and bucket are not used by 1.x: the transport writes to options.db / options.rp.
  const writeApi = client.getWriteApi('', options.db, options.precision ?? 'ns', options.writeOptions);
  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    let flushError: unknown;
    try {
      await writeApi.close();
    } catch (error) {
      flushError = error;
    }
    const drained = await transport.drain(options.drainTimeoutMs);
    transport.close();
    if (flushError !== undefined) throw flushError;
    if (!drained) {
      throw new InfluxV1WriteError(
        'TELEMETRY_ERR_INFLUX_DRAIN_TIMEOUT',
        `${transport.inFlight} write request(s) to InfluxDB still in flight when the writer closed`,
      );
    }
  };
  return {
    writeApi,
    transport,
    close: () => {
      closing ??= close();
      return closing;
    },
  };
}
