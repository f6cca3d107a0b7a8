import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { OperatorService } from '../../operators/operator-service.js';
import { annotateAudit } from '../audit-hook.js';
import type { AuthPort } from '@outpost/kernel';
import { EpochMs, PageQuery as PageQuerySchema, decodeCursor, encodeCursor, errorResponses, isString, pageOf } from '@outpost/kernel';
import { RoleSchema } from '../schemas.js';

const UserSchema = Type.Object({ username: Type.String(), role: RoleSchema, createdAt: EpochMs });
const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });
const CreateBody = Type.Object(
  {
    username: Type.String({ pattern: '^[a-z][a-z0-9._-]{1,63}$', description: 'lower-case, 2–64 characters' }),
    password: Type.String({ minLength: 12, maxLength: 256 }),
    role: RoleSchema,
  },
  { additionalProperties: false },
);
const PatchBody = Type.Object(
  { password: Type.Optional(Type.String({ minLength: 12, maxLength: 256 })), role: Type.Optional(RoleSchema) },
  { additionalProperties: false, minProperties: 1 },
);
const ListQuery = Type.Object(PageQuerySchema, { additionalProperties: false });

export function registerUserRoutes(app: FastifyInstance, deps: { operators: OperatorService; auth: AuthPort }): void {
  const { operators, auth } = deps;
  const tags = ['users'];

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/v1/users',
    { onRequest: auth.guard('admin'), schema: { tags, summary: 'List operator accounts', querystring: ListQuery, response: { 200: pageOf(UserSchema), ...errorResponses } } },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const after = decodeCursor(request.query.cursor, isString);
      const items = await operators.listUsers({ limit, ...(typeof after === 'string' ? { after } : {}) });
      const last = items[items.length - 1];
      return items.length === limit && last !== undefined ? { items, nextCursor: encodeCursor(last.username) } : { items };
    },
  );

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/api/v1/users',
    { onRequest: auth.guard('admin'), schema: { tags, summary: 'Create an operator account', body: CreateBody, response: { 201: UserSchema, ...errorResponses } } },
    async (request, reply) => {
      annotateAudit(request, { target: request.body.username });
      const user = await operators.createUser(request.body);
      return reply.status(201).send(user);
    },
  );

  app.get<{ Params: Static<typeof NameParams> }>(
    '/api/v1/users/:name',
    { onRequest: auth.guard('admin'), schema: { tags, summary: 'Show an operator account', params: NameParams, response: { 200: UserSchema, ...errorResponses } } },
    async (request) => operators.getUser(request.params.name),
  );

  app.patch<{ Params: Static<typeof NameParams>; Body: Static<typeof PatchBody> }>(
    '/api/v1/users/:name',
    {
      onRequest: auth.guard('admin'),
      schema: { tags, summary: "Change a user's role or password (ends their sessions)", params: NameParams, body: PatchBody, response: { 200: UserSchema, ...errorResponses } },
    },
    async (request) => operators.updateUser(request.params.name, request.body),
  );

  app.delete<{ Params: Static<typeof NameParams> }>(
    '/api/v1/users/:name',
    { onRequest: auth.guard('admin'), schema: { tags, summary: 'Delete an operator account and its tokens', params: NameParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      await operators.deleteUser(request.params.name);
      return reply.status(204).send();
    },
  );
}
