import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { OperatorRouteDeps } from './operator-deps.js';
import { decodeCursor, EpochMs, errorResponses, isString, nullable, page, pageOf, PageQuery } from '@outpost/kernel';
import { GroupNameSchema } from './schemas.js';

const GroupView = Type.Object({
  name: Type.String(),
  description: nullable(Type.String()),
  createdAt: EpochMs,
  devices: Type.Optional(Type.Integer({ description: 'devices in the group (deleted ones not counted)' })),
});
const NameParams = Type.Object({ name: GroupNameSchema });
const PutBody = Type.Object({ description: Type.Optional(nullable(Type.String({ maxLength: 1024 }))) }, { additionalProperties: false });
const ListQuery = Type.Object(PageQuery, { additionalProperties: false });

const CountRow = { total: Type.Integer({ minimum: 0 }), online: Type.Integer({ minimum: 0 }) };
/** `GET /fleet/summary`: the fleet in numbers (deleted devices not counted), biggest first. */
export const FleetSummaryView = Type.Object({
  total: Type.Integer({ minimum: 0 }),
  online: Type.Integer({ minimum: 0 }),
  byStatus: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'devices per lifecycle state' }),
  byGroup: Type.Array(Type.Object({ name: Type.String(), ...CountRow })),
  byFirmware: Type.Array(Type.Object({ firmware: nullable(Type.Object({ name: Type.String(), version: Type.String() })), ...CountRow })),
});
export { GroupView };

/** Groups are created on first use (a token or a device naming them) or explicitly here. */
export function registerGroupRoutes(app: FastifyInstance, deps: OperatorRouteDeps): void {
  const { services, auth } = deps;
  const tags = ['groups'];

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/v1/groups',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'List groups with their device counts', querystring: ListQuery, response: { 200: pageOf(GroupView), ...errorResponses } } },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const after = decodeCursor(request.query.cursor, isString);
      return page(await services.devices.listGroups({ limit, ...(after === undefined ? {} : { after }) }), limit, (g) => g.name);
    },
  );

  app.get(
    '/api/v1/fleet/summary',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'Device counts: total, online, by lifecycle state, by group and by firmware', response: { 200: FleetSummaryView, ...errorResponses } } },
    async () => services.devices.summary(),
  );

  app.put<{ Params: Static<typeof NameParams>; Body: Static<typeof PutBody> }>(
    '/api/v1/groups/:name',
    { onRequest: auth.guard('operator'), schema: { tags, summary: 'Create a group or change its description', params: NameParams, body: PutBody, response: { 200: GroupView, ...errorResponses } } },
    async (request) => services.devices.putGroup(request.params.name, request.body.description ?? null),
  );
}
