/** `/api/v1/rules`: stored, versioned alert rules and their backtest. */
import type { AuditPort, AuthPort, Listeners } from '@outpost/kernel';
import type { Static } from 'typebox';
import { Type } from 'typebox';
import type { AlertsService } from '../services/alerts-service.js';
import { decodeCursor, encodeCursor, errorResponses, PageQuery, pageOf, isString } from '@outpost/kernel';
import { IdParams, parseTime, RuleBody, RuleView, TestBody, TestResult, TestUnsavedBody } from './schemas.js';

export interface AlertsRouteDeps {
  readonly service: AlertsService;
  readonly auth: AuthPort;
  readonly audit: AuditPort;
}

const ListQuery = Type.Object(PageQuery, { additionalProperties: false });

export function registerRuleRoutes(app: Listeners['operator'], deps: AlertsRouteDeps): void {
  const { service, auth, audit } = deps;
  const tags = ['rules'];

  app.get<{ Querystring: Static<typeof ListQuery> }>(
    '/api/v1/rules',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'List alert rules in id order', querystring: ListQuery, response: { 200: pageOf(RuleView), ...errorResponses } } },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const after = decodeCursor(request.query.cursor, isString);
      const items = await service.listRules(limit, after);
      const last = items[items.length - 1];
      return items.length === limit && last !== undefined ? { items, nextCursor: encodeCursor(last.id) } : { items };
    },
  );

  app.post<{ Body: Static<typeof RuleBody> }>(
    '/api/v1/rules',
    { onRequest: auth.guard('operator'), schema: { tags, summary: 'Create a rule (id generated unless given)', body: RuleBody, response: { 201: RuleView, ...errorResponses } } },
    async (request, reply) => {
      const given = (request.body as Record<string, unknown>)['id'];
      if (typeof given === 'string') audit.annotate(request, { target: given });
      const created = await service.createRule(request.body);
      audit.annotate(request, { target: created.id });
      return reply.status(201).send(created);
    },
  );

  app.post<{ Body: Static<typeof TestUnsavedBody> }>(
    '/api/v1/rules/test',
    {
      onRequest: auth.guard('viewer'),
      schema: { tags, summary: 'Backtest a rule that is not saved against stored telemetry', body: TestUnsavedBody, response: { 200: TestResult, ...errorResponses } },
    },
    async (request) => service.testUnsaved(request.body.rule, parseTime('from', request.body.from), parseTime('to', request.body.to)),
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/v1/rules/:id',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'Show a rule', params: IdParams, response: { 200: RuleView, ...errorResponses } } },
    async (request) => service.getRule(request.params.id),
  );

  app.put<{ Params: Static<typeof IdParams>; Body: Static<typeof RuleBody> }>(
    '/api/v1/rules/:id',
    { onRequest: auth.guard('operator'), schema: { tags, summary: 'Replace a rule (its version goes up; its state restarts)', params: IdParams, body: RuleBody, response: { 200: RuleView, ...errorResponses } } },
    async (request) => service.replaceRule(request.params.id, request.body),
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/v1/rules/:id',
    { onRequest: auth.guard('operator'), schema: { tags, summary: 'Delete a rule (its open alerts are resolved)', params: IdParams, response: { 204: Type.Null(), ...errorResponses } } },
    async (request, reply) => {
      await service.deleteRule(request.params.id);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof TestBody> }>(
    '/api/v1/rules/:id/test',
    {
      onRequest: auth.guard('viewer'),
      schema: {
        tags,
        summary: 'Backtest a rule: the transitions it would have made on stored telemetry in [from, to)',
        params: IdParams,
        body: TestBody,
        response: { 200: TestResult, ...errorResponses },
      },
    },
    async (request) => service.testRule(request.params.id, parseTime('from', request.body.from), parseTime('to', request.body.to)),
  );
}
