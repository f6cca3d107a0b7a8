/** `/api/v1/alerts`: alerts (one per rule, device and firing episode) with their events; acknowledging. */
import type { Listeners } from '@outpost/kernel';
import type { Static } from 'typebox';
import { AckBody, AlertsQuery, AlertView, AlertWithEvents, decodeCursor, encodeCursor, errorResponses, IdParams, pageOf } from './schemas.js';
import type { AlertsRouteDeps } from './rule-routes.js';

function afterOf(cursor: unknown): { createdAt: number; id: string } | undefined {
  if (Array.isArray(cursor) && typeof cursor[0] === 'number' && typeof cursor[1] === 'string') return { createdAt: cursor[0], id: cursor[1] };
  return undefined;
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
      const after = afterOf(decodeCursor(request.query.cursor));
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
