/** `/api/v1/alerts`: alerts (one per rule, device and firing episode) with their events; acknowledging. */
import type { Listeners } from '@outpost/kernel';
import type { Static } from 'typebox';
import { decodeCursor, encodeCursor, errorResponses, pageOf } from '@outpost/kernel';
import { AckBody, AlertsQuery, AlertView, AlertWithEvents, IdParams } from './schemas.js';
import type { AlertsRouteDeps } from './rule-routes.js';

/** An alerts page position: `[createdAt, id]` of the last alert. */
function isAlertPosition(cursor: unknown): cursor is [number, string] {
  return Array.isArray(cursor) && cursor.length === 2 && typeof cursor[0] === 'number' && typeof cursor[1] === 'string';
}

export function registerAlertRoutes(app: Listeners['operator'], deps: AlertsRouteDeps): void {
  const { service, auth, audit } = deps;
  const tags = ['alerts'];

  app.get<{ Querystring: Static<typeof AlertsQuery> }>(
    '/api/v1/alerts',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'List alerts, newest first, with filters', querystring: AlertsQuery, response: { 200: pageOf(AlertView), ...errorResponses } } },
    async (request) => {
      const { state, device, severity, rule } = request.query;
      const limit = request.query.limit ?? 100;
      const position = decodeCursor(request.query.cursor, isAlertPosition);
      const after = position === undefined ? undefined : { createdAt: position[0], id: position[1] };
      const rows = await service.listAlerts({
        limit,
        ...(state === undefined ? {} : { state }),
        ...(device === undefined ? {} : { deviceId: device }),
        ...(severity === undefined ? {} : { severity }),
        ...(rule === undefined ? {} : { ruleId: rule }),
        ...(after === undefined ? {} : { after }),
      });
      const last = rows[rows.length - 1];
      const items = rows.map((r) => r.view);
      return rows.length === limit && last !== undefined ? { items, nextCursor: encodeCursor([last.createdAt, last.view.id]) } : { items };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/v1/alerts/:id',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'Show an alert with its events', params: IdParams, response: { 200: AlertWithEvents, ...errorResponses } } },
    async (request) => service.getAlert(request.params.id),
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof AckBody> }>(
    '/api/v1/alerts/:id/ack',
    { onRequest: auth.guard('operator'), schema: { tags, summary: 'Acknowledge a firing alert', params: IdParams, body: AckBody, response: { 200: AlertView, ...errorResponses } } },
    async (request) => {
      const principal = auth.principal(request);
      const alert = await service.acknowledge(request.params.id, principal.username, request.body?.comment ?? '');
      audit.annotate(request, { target: alert.id });
      return alert;
    },
  );
}
