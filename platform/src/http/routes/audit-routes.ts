import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { AuditLog } from '../../audit/audit-log.js';
import type { AuthPort } from '@outpost/kernel';
import { EpochMs, PageQuery as PageQuerySchema, decodeCursor, encodeCursor, errorResponses, isNumber, pageOf } from '@outpost/kernel';
import { parseTimeParam } from '../time-param.js';

const Entry = Type.Object({
  id: Type.Integer(),
  at: EpochMs,
  actor: Type.String(),
  action: Type.String({ description: 'e.g. users.create, devices.suspend, auth.login' }),
  target: Type.Union([Type.String(), Type.Null()]),
  outcome: Type.Union([Type.Literal('success'), Type.Literal('failure')]),
  status: Type.Union([Type.Integer(), Type.Null()]),
  errorCode: Type.Union([Type.String(), Type.Null()]),
  ip: Type.Union([Type.String(), Type.Null()]),
});
const Query = Type.Object(
  {
    actor: Type.Optional(Type.String({ maxLength: 64 })),
    action: Type.Optional(Type.String({ pattern: '^[a-z0-9.-]{1,64}$', description: 'an action, or a prefix such as "users"' })),
    from: Type.Optional(Type.String({ maxLength: 40, description: 'epoch ms or RFC 3339' })),
    to: Type.Optional(Type.String({ maxLength: 40, description: 'epoch ms or RFC 3339' })),
    ...PageQuerySchema,
  },
  { additionalProperties: false },
);

export function registerAuditRoutes(app: FastifyInstance, deps: { audit: AuditLog; auth: AuthPort }): void {
  app.get<{ Querystring: Static<typeof Query> }>(
    '/api/v1/audit',
    {
      onRequest: deps.auth.guard('admin'),
      schema: { tags: ['audit'], summary: 'The audit log of operator actions, newest first', querystring: Query, response: { 200: pageOf(Entry), ...errorResponses } },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 100;
      const before = decodeCursor(q.cursor, isNumber);
      const from = parseTimeParam('from', q.from);
      const to = parseTimeParam('to', q.to);
      const items = await deps.audit.list({
        limit,
        ...(q.actor === undefined ? {} : { actor: q.actor }),
        ...(q.action === undefined ? {} : { action: q.action }),
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        ...(typeof before === 'number' ? { before } : {}),
      });
      const last = items[items.length - 1];
      return items.length === limit && last !== undefined ? { items, nextCursor: encodeCursor(last.id) } : { items };
    },
  );
}
