import type { FastifyInstance } from 'fastify';
import { isDeviceId } from '@outpost/protocol';
import { bufferTime, filter, type Observable } from 'rxjs';
import { Type, type Static } from 'typebox';
import { ApiError } from '../http/api-error.js';
import type { AuthPort } from '@outpost/kernel';
import { errorResponses } from '@outpost/kernel';
import type { Principal, Revocation } from '@outpost/kernel';
import { roleAtLeast } from '@outpost/kernel';
import { LIVE_TOPICS, type LiveEvent, type LiveTopic } from '@outpost/kernel';

/** What the live route needs to keep its streams honest (issue 11, D4): the operator service. */
export interface LiveSessions {
  /** Users deleted or changed, sessions ended, API tokens revoked, as they happen. */
  readonly revocations: Observable<Revocation>;
  /** The principal as it stands now, or undefined when its user or session is gone. */
  recheck(principal: Principal): Promise<Principal | undefined>;
}

export interface LiveRouteOptions {
  /** Events arriving within this window go out together; status and rollout updates for one device collapse to the newest. */
  readonly coalesceMs: number;
  readonly heartbeatMs: number;
  /** Most events held for one slow client; older ones are dropped and counted in an `overflow` event. */
  readonly maxPending: number;
  /** How often each open stream re-checks its principal (expiry and anything missed). */
  readonly recheckMs: number;
}

const Query = Type.Object(
  {
    devices: Type.Optional(Type.String({ maxLength: 8192, description: 'comma-separated device ids; all devices when absent' })),
    topics: Type.Optional(Type.String({ maxLength: 128, description: `comma-separated: ${LIVE_TOPICS.join(', ')}; all when absent` })),
    access_token: Type.Optional(Type.String({ maxLength: 256, description: 'a stream token from POST /api/v1/auth/stream-token' })),
  },
  { additionalProperties: false },
);

const COLLAPSIBLE = new Set<LiveTopic>(['status', 'rollouts']);

/** Collapses status/rollout updates per device to the newest, keeping the order of everything else. */
export function coalesce(events: readonly LiveEvent[]): LiveEvent[] {
  const newest = new Map<string, number>();
  events.forEach((e, i) => {
    if (COLLAPSIBLE.has(e.topic)) newest.set(`${e.topic}\u0000${e.deviceId ?? ''}`, i);
  });
  return events.filter((e, i) => !COLLAPSIBLE.has(e.topic) || newest.get(`${e.topic}\u0000${e.deviceId ?? ''}`) === i);
}

function parseList(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

interface OpenStream {
  readonly principal: Principal;
  end(reason: string): void;
}

export function registerLiveRoute(app: FastifyInstance, deps: { events: Observable<LiveEvent>; auth: AuthPort; sessions: LiveSessions; options: LiveRouteOptions }): void {
  const { options } = deps;
  // A stream closes the moment its user is deleted or changed, or its session or token ends.
  const streams = new Set<OpenStream>();
  const revoked = deps.sessions.revocations.subscribe((revocation) => {
    for (const stream of [...streams]) {
      const hit = revocation.kind === 'user' ? stream.principal.username === revocation.username : stream.principal.grant === revocation.grant;
      if (hit) stream.end(revocation.reason);
    }
  });
  app.addHook('onClose', async () => revoked.unsubscribe());
  app.get<{ Querystring: Static<typeof Query> }>(
    '/api/v1/live',
    {
      onRequest: deps.auth.guard('viewer', { allowStreamToken: true }),
      schema: {
        tags: ['live'],
        summary: 'Server-Sent Events: `event: <topic>`, `data: {deviceId?, payload}`, filtered by devices and topics',
        querystring: Query,
        produces: ['text/event-stream'],
        response: { ...errorResponses },
      },
    },
    async (request, reply) => {
      const devices = parseList(request.query.devices);
      const topics = parseList(request.query.topics);
      const badDevice = devices?.find((d): boolean => !isDeviceId(d));
      if (badDevice !== undefined) throw new ApiError('VALIDATION_FAILED', `devices: "${badDevice.slice(0, 70)}" is not a device id`);
      const badTopic = topics?.find((t) => !(LIVE_TOPICS as readonly string[]).includes(t));
      if (badTopic !== undefined) throw new ApiError('VALIDATION_FAILED', `topics: "${badTopic.slice(0, 40)}" is not one of ${LIVE_TOPICS.join(', ')}`);
      const deviceSet = devices === undefined ? undefined : new Set(devices);
      const topicSet = topics === undefined ? undefined : new Set(topics);

      const principal = deps.auth.principal(request);
      reply.hijack();
      const raw = reply.raw;
      // The stream sends heartbeats and is re-checked; the listener's idle timeout is not for it.
      request.raw.socket.setTimeout(0);
      raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      raw.write(`retry: 2000\n: connected\n\n`);

      let pending: LiveEvent[] = [];
      let dropped = 0;
      const flush = (): void => {
        if (pending.length === 0 && dropped === 0) return;
        let out = '';
        if (dropped > 0) out += `event: overflow\ndata: ${JSON.stringify({ dropped })}\n\n`;
        for (const e of coalesce(pending)) {
          out += `event: ${e.topic}\ndata: ${JSON.stringify(e.deviceId === undefined ? { payload: e.payload } : { deviceId: e.deviceId, payload: e.payload })}\n\n`;
        }
        pending = [];
        dropped = 0;
        raw.write(out);
      };
      const subscription = deps.events
        .pipe(
          filter((e) => (topicSet === undefined || topicSet.has(e.topic)) && (deviceSet === undefined || (e.deviceId !== undefined && deviceSet.has(e.deviceId)))),
          bufferTime(options.coalesceMs),
          filter((batch) => batch.length > 0),
        )
        .subscribe({
          next: (batch) => {
            pending.push(...batch);
            if (pending.length > options.maxPending) {
              dropped += pending.length - options.maxPending;
              pending = pending.slice(pending.length - options.maxPending);
            }
            // A client that is not reading keeps its events pending (bounded) instead of growing our buffers.
            if (raw.writableNeedDrain) return;
            flush();
          },
          // The hub completes at shutdown: send what is left and end the stream.
          complete: () => {
            if (!raw.destroyed) {
              flush();
              raw.end();
            }
          },
        });
      raw.on('drain', flush);
      const heartbeat = setInterval(() => raw.write(': ping\n\n'), options.heartbeatMs);
      heartbeat.unref();
      let checking = false;
      const recheck = setInterval(() => {
        if (checking) return;
        checking = true;
        deps.sessions.recheck(principal).then(
          (now) => {
            checking = false;
            if (now === undefined) stream.end('the session ended or the user is gone');
            else if (!roleAtLeast(now.role, 'viewer')) stream.end(`${now.username} may no longer read the live stream`);
          },
          (err: unknown) => {
            checking = false;
            request.log.warn({ err }, 'live stream: re-checking its session failed');
          },
        );
      }, options.recheckMs);
      recheck.unref();
      const stream: OpenStream = {
        principal,
        end(reason) {
          if (raw.destroyed || raw.writableEnded) return;
          request.log.info({ username: principal.username, reason }, `live stream closed: ${reason}`);
          raw.end(`event: closed\ndata: ${JSON.stringify({ code: 'UNAUTHENTICATED', reason })}\n\n`);
          end();
        },
      };
      streams.add(stream);
      const end = (): void => {
        streams.delete(stream);
        clearInterval(heartbeat);
        clearInterval(recheck);
        subscription.unsubscribe();
      };
      raw.on('close', end);
    },
  );
}
