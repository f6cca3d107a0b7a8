/** `/api/v1/channels`: notification channels (webhook, MQTT) and their delivery log. */
import type { Listeners } from '@outpost/kernel';
import type { Static } from 'typebox';
import { Type } from 'typebox';
import type { Delivery } from '../adapters/channel-store.js';
import { decodeCursor, encodeCursor, errorResponses, PageQuery, pageOf, isNumber, isString } from '@outpost/kernel';
import { ChannelBody, ChannelView, DeliveryView, IdParams } from './schemas.js';
import type { AlertsRouteDeps } from './rule-routes.js';

const ListQuery = Type.Object(PageQuery, { additionalProperties: false });

function deliveryView(d: Delivery) {
  return {
    id: d.id,
    eventId: d.eventId,
    state: d.state,
    attempts: d.attempts,
    ...(d.lastStatus === undefined ? {} : { statusCode: d.lastStatus }),
    ...(d.lastError === undefined ? {} : { error: d.lastError }),
    ...(d.lastLatencyMs === undefined ? {} : { latencyMs: d.lastLatencyMs }),
    ...(d.state === 'pending' && d.nextAttemptAt !== undefined ? { nextRetryAt: d.nextAttemptAt } : {}),
    createdAt: d.createdAt,
    updatedAt: d.updatedAt,
  };
}

export function registerChannelRoutes(app: Listeners['operator'], deps: AlertsRouteDeps): void {
  const { service, auth, audit } = deps;
  const tags = ['channels'];

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/v1/channels',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'List notification channels', querystring: ListQuery, response: { 200: pageOf(ChannelView), ...errorResponses } } },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const after = decodeCursor(request.query.cursor, isString);
      const items = await service.listChannels(limit, after);
      const last = items[items.length - 1];
      return items.length === limit && last !== undefined ? { items, nextCursor: encodeCursor(last.id) } : { items };
    },
  );

  app.post<{ Body: Static<typeof ChannelBody> }>(
    '/api/v1/channels',
    { onRequest: auth.guard('admin'), schema: { tags, summary: 'Create a channel (webhook: url + secret; mqtt: integrations/alerts)', body: ChannelBody, response: { 201: ChannelView, ...errorResponses } } },
    async (request, reply) => {
      const created = await service.createChannel(request.body);
      audit.annotate(request, { target: created.id });
      return reply.status(201).send(created);
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/v1/channels/:id',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'Show a channel (never its secret)', params: IdParams, response: { 200: ChannelView, ...errorResponses } } },
    async (request) => service.getChannel(request.params.id),
  );

  app.put<{ Params: Static<typeof IdParams>; Body: Static<typeof ChannelBody> }>(
    '/api/v1/channels/:id',
    { onRequest: auth.guard('admin'), schema: { tags, summary: 'Replace a channel (a webhook keeps its secret unless a new one is given)', params: IdParams, body: ChannelBody, response: { 200: ChannelView, ...errorResponses } } },
    async (request) => service.replaceChannel(request.params.id, request.body),
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/v1/channels/:id',
    { onRequest: auth.guard('admin'), schema: { tags, summary: 'Delete a channel no rule uses', params: IdParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      await service.deleteChannel(request.params.id);
      return reply.status(204).send();
    },
  );

  app.get<{ Params: Static<typeof IdParams>; Querystring: Static<typeof ListQuery> }>(
    '/api/v1/channels/:id/deliveries',
    {
      onRequest: auth.guard('viewer'),
      schema: { tags, summary: "A channel's delivery log, newest first: attempts, status, error, next retry", params: IdParams, querystring: ListQuery, response: { 200: pageOf(DeliveryView), ...errorResponses } },
    },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const before = decodeCursor(request.query.cursor, isNumber);
      const rows = await service.deliveries(request.params.id, limit, before);
      const last = rows[rows.length - 1];
      const items = rows.map(deliveryView);
      return rows.length === limit && last !== undefined ? { items, nextCursor: encodeCursor(last.id) } : { items };
    },
  );
}
