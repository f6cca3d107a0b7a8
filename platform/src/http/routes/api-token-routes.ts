import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { OperatorService } from '../../operators/operator-service.js';
import { annotateAudit } from '../audit-hook.js';
import type { AuthPort } from '@outpost/kernel';
import { EpochMs, PageQuery as PageQuerySchema, decodeCursor, encodeCursor, errorResponses, isString, pageOf } from '@outpost/kernel';
import { RoleSchema } from '../schemas.js';

const TokenInfo = Type.Object({
  id: Type.String(),
  name: Type.String(),
  role: RoleSchema,
  createdBy: Type.String(),
  createdAt: EpochMs,
  expiresAt: Type.Optional(EpochMs),
  lastUsedAt: Type.Optional(EpochMs),
});
const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    role: Type.Optional(RoleSchema),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 10 * 365 * 86_400, description: 'no expiry when absent' })),
  },
  { additionalProperties: false },
);
const Created = Type.Object({
  id: Type.String(),
  token: Type.String({ description: 'shown only in this answer' }),
  name: Type.String(),
  role: RoleSchema,
  createdBy: Type.String(),
  createdAt: EpochMs,
  expiresAt: Type.Optional(EpochMs),
});
const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) });
const ListQuery = Type.Object(PageQuerySchema, { additionalProperties: false });

export function registerApiTokenRoutes(app: FastifyInstance, deps: { operators: OperatorService; auth: AuthPort }): void {
  const { operators, auth } = deps;
  const tags = ['api-tokens'];

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/v1/api-tokens',
    {
      onRequest: auth.guard('viewer'),
      schema: { tags, summary: 'List API tokens (admins see all, others their own)', querystring: ListQuery, response: { 200: pageOf(TokenInfo), ...errorResponses } },
    },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const after = decodeCursor(request.query.cursor, isString);
      const items = await operators.listApiTokens(auth.principal(request), { limit, ...(typeof after === 'string' ? { after } : {}) });
      const last = items[items.length - 1];
      return items.length === limit && last !== undefined ? { items, nextCursor: encodeCursor(last.id) } : { items };
    },
  );

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/api/v1/api-tokens',
    {
      onRequest: auth.guard('viewer'),
      schema: { tags, summary: 'Create an API token (at most your own role); the token is shown once', body: CreateBody, response: { 201: Created, ...errorResponses } },
    },
    async (request, reply) => {
      const created = await operators.createApiToken(auth.principal(request), request.body);
      annotateAudit(request, { target: created.id });
      return reply.status(201).send(created);
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/v1/api-tokens/:id',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'Revoke an API token', params: IdParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      await operators.revokeApiToken(auth.principal(request), request.params.id);
      return reply.status(204).send();
    },
  );
}
