/** `/api/v1/rollouts`: staged rollouts of a firmware artifact (viewer reads; operator acts). */
import type { AuditPort, AuthPort, Listeners } from '@outpost/kernel';
import { decodeCursor, encodeCursor, errorResponses, isString, pageOf } from '@outpost/kernel';
import type { Static } from 'typebox';
import { Type } from 'typebox';
import { parseRolloutBody } from '../domain/parse-rollout.js';
import type { RolloutService } from '../services/rollout-service.js';
import { CreateRolloutBody, DeviceOtaEntry, DeviceOtaParams, DeviceOtaQuery, IdParams, ResumeQuery, RolloutDetail, RolloutDeviceView, RolloutDevicesQuery, RolloutsQuery, RolloutView } from './rollout-schemas.js';

export interface RolloutRouteDeps {
  readonly service: RolloutService;
  readonly auth: AuthPort;
  readonly audit: AuditPort;
}

function isRolloutPosition(value: unknown): value is [number, string] {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === 'number' && typeof value[1] === 'string';
}

export function registerRolloutRoutes(app: Listeners['operator'], deps: RolloutRouteDeps): void {
  const { service, auth, audit } = deps;
  const tags = ['rollouts'];

  app.get<{ Querystring: Static<typeof RolloutsQuery> }>(
    '/api/v1/rollouts',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'List rollouts, newest first', querystring: RolloutsQuery, response: { 200: pageOf(RolloutView), ...errorResponses } } },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const after = decodeCursor(request.query.cursor, isRolloutPosition);
      const { views, rows } = await service.list({ limit, ...(request.query.state === undefined ? {} : { state: request.query.state }), ...(after === undefined ? {} : { after }) });
      const last = rows[rows.length - 1];
      return rows.length === limit && last !== undefined ? { items: views, nextCursor: encodeCursor([last.created_at, last.id]) } : { items: views };
    },
  );

  app.post<{ Body: Static<typeof CreateRolloutBody> }>(
    '/api/v1/rollouts',
    {
      onRequest: auth.guard('operator'),
      schema: { tags, summary: 'Create a rollout: target, waves, per-wave gate with health rules; starts now unless startAt or startNow:false', body: CreateRolloutBody, response: { 201: RolloutView, ...errorResponses } },
    },
    async (request, reply) => {
      const spec = parseRolloutBody(request.body);
      const view = await service.create(spec, auth.principal(request).username);
      audit.annotate(request, { action: 'rollout.create', target: `rollout:${view.id}` });
      return reply.code(201).send(view);
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/v1/rollouts/:id',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'Show a rollout: per-wave counts by state and gate status with its reason', params: IdParams, response: { 200: RolloutDetail, ...errorResponses } } },
    async (request) => service.detail(request.params.id),
  );

  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof RolloutDevicesQuery> }>(
    '/api/v1/rollouts/:id/devices',
    {
      onRequest: auth.guard('viewer'),
      schema: { tags, summary: "A rollout's devices in id order: state, percent, bytes, error", params: IdParams, querystring: RolloutDevicesQuery, response: { 200: pageOf(RolloutDeviceView), ...errorResponses } },
    },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const after = decodeCursor(request.query.cursor, isString);
      const items = await service.devices(request.params.id, {
        limit,
        ...(request.query.state === undefined ? {} : { state: request.query.state }),
        ...(request.query.wave === undefined ? {} : { wave: request.query.wave }),
        ...(after === undefined ? {} : { after }),
      });
      const last = items[items.length - 1];
      return items.length === limit && last !== undefined ? { items, nextCursor: encodeCursor(last.deviceId) } : { items };
    },
  );

  app.get<{ Params: Static<typeof DeviceOtaParams>; Querystring: Static<typeof DeviceOtaQuery> }>(
    '/api/v1/devices/:id/ota',
    {
      onRequest: auth.guard('viewer'),
      schema: {
        tags,
        summary: "A device's OTA history, newest rollout first: rollout, versions from and to, state, percent, failure reason, times",
        params: DeviceOtaParams,
        querystring: DeviceOtaQuery,
        response: { 200: pageOf(DeviceOtaEntry), ...errorResponses },
      },
    },
    async (request) => {
      const after = decodeCursor(request.query.cursor, isRolloutPosition);
      const { items, last } = await service.deviceHistory(request.params.id, { limit: request.query.limit ?? 100, ...(after === undefined ? {} : { after }) });
      return last === undefined ? { items } : { items, nextCursor: encodeCursor(last) };
    },
  );

  const action = (name: 'pause' | 'abort', summary: string): void => {
    app.post<{ Params: Static<typeof IdParams> }>(
      `/api/v1/rollouts/:id/${name}`,
      { onRequest: auth.guard('operator'), schema: { tags, summary, params: IdParams, response: { 200: RolloutView, ...errorResponses } } },
      async (request) => {
        audit.annotate(request, { action: `rollout.${name}`, target: `rollout:${request.params.id}` });
        return name === 'pause' ? service.pause(request.params.id) : service.abort(request.params.id, auth.principal(request).username);
      },
    );
  };
  action('pause', 'Pause: no new wave and no new job; devices already updating go on');
  action('abort', 'Abort (final): devices not yet started get their job again with cancel: true');

  app.post<{ Params: Static<typeof IdParams>; Querystring: Static<typeof ResumeQuery> }>(
    '/api/v1/rollouts/:id/resume',
    {
      onRequest: auth.guard('operator'),
      schema: { tags, summary: 'Resume a paused (or draft, or scheduled) rollout; ?skipGate=true passes the current wave past a count breach', params: IdParams, querystring: ResumeQuery, response: { 200: RolloutView, ...errorResponses } },
    },
    async (request) => {
      const skipGate = request.query.skipGate === true;
      audit.annotate(request, { action: skipGate ? 'rollout.resume-skip-gate' : 'rollout.resume', target: `rollout:${request.params.id}` });
      return service.resume(request.params.id, skipGate);
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    '/api/v1/rollouts/:id/retry',
    {
      onRequest: auth.guard('operator'),
      schema: { tags, summary: 'Give failed, rolled-back and timed-out devices a new job', params: IdParams, response: { 200: Type.Intersect([RolloutView, Type.Object({ retried: Type.Integer({ minimum: 0 }) })]), ...errorResponses } },
    },
    async (request) => {
      audit.annotate(request, { action: 'rollout.retry', target: `rollout:${request.params.id}` });
      return service.retry(request.params.id);
    },
  );
}
