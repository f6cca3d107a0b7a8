/** `/api/v1/signing-keys`: the trusted OTA signing keys (the current TrustSet), and changes to it. */
import type { AuditPort, AuthPort, Listeners } from '@outpost/kernel';
import { decodeCursor, errorResponses, isNumber, page, PageQuery, pageOf } from '@outpost/kernel';
import type { TrustSet } from '@outpost/protocol';
import { Type, type Static } from 'typebox';
import type { TrustSetStore } from '../adapters/trust-set-store.js';
import type { TrustService } from '../services/trust-service.js';
import { KeyIdParams, SigningKeysView, TrustSetBody, TrustSetHistoryItem } from './schemas.js';

export interface KeyRouteDeps {
  readonly trust: TrustService;
  readonly store: TrustSetStore;
  readonly auth: AuthPort;
  readonly audit: AuditPort;
}

async function keysView(trust: TrustService, store: TrustSetStore): Promise<Static<typeof SigningKeysView>> {
  const set = await trust.current();
  const first = await store.firstVersions();
  return {
    version: set.version,
    keys: set.keys.map((k) => ({ keyId: k.keyId, alg: k.alg, publicKey: k.publicKey, addedInVersion: first.get(k.keyId)?.version ?? set.version, addedAt: first.get(k.keyId)?.at ?? 0 })),
    trustSet: set,
  };
}

const HistoryQuery = Type.Object(PageQuery, { additionalProperties: false });

export function registerKeyRoutes(app: Listeners['operator'], deps: KeyRouteDeps): void {
  const { trust, store, auth, audit } = deps;
  const tags = ['signing-keys'];
  const actorOf = (request: Parameters<AuthPort['principal']>[0]): string => auth.principal(request).username;
  const changed = (set: TrustSet, keyIds: string): string => `${keyIds}@v${set.version}`;

  app.get(
    '/api/v1/signing-keys',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'The trusted OTA signing keys: the current TrustSet and when each key joined it', response: { 200: SigningKeysView, ...errorResponses } } },
    async () => keysView(trust, store),
  );

  app.get<{ Querystring: Static<typeof HistoryQuery> }>(
    '/api/v1/signing-keys/history',
    { onRequest: auth.guard('viewer'), schema: { tags, summary: 'Every TrustSet version, newest first', querystring: HistoryQuery, response: { 200: pageOf(TrustSetHistoryItem), ...errorResponses } } },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const before = decodeCursor(request.query.cursor, isNumber);
      const rows = await store.history(limit, before);
      return page(
        rows.map((r) => ({ version: r.set.version, trustSet: r.set, actor: r.actor, createdAt: r.createdAt })),
        limit,
        (item) => item.version,
      );
    },
  );

  app.post<{ Body: Static<typeof TrustSetBody> }>(
    '/api/v1/signing-keys',
    {
      onRequest: auth.guard('admin'),
      schema: {
        tags,
        summary: 'Register keys: the body carries the next TrustSet (version current+1, every current key kept), signed offline by a key of the current set (`outpost keys register`); the first set is taken as it is. Published retained to every device.',
        body: TrustSetBody,
        response: { 201: SigningKeysView, ...errorResponses },
      },
    },
    async (request, reply) => {
      const before = await trust.current();
      const next = await trust.register(request.body.trustSet, actorOf(request));
      const added = next.keys.filter((k) => !before.keys.some((b) => b.keyId === k.keyId)).map((k) => k.keyId);
      audit.annotate(request, { target: changed(next, added.join(',')) });
      return reply.status(201).send(await keysView(trust, store));
    },
  );

  app.delete<{ Params: Static<typeof KeyIdParams>; Body: Static<typeof TrustSetBody> }>(
    '/api/v1/signing-keys/:keyId',
    {
      onRequest: auth.guard('admin'),
      schema: {
        tags,
        summary: 'Remove a key: the body carries the next TrustSet without it, signed offline by a key of the current set (`outpost keys remove`). The last key is never removed.',
        params: KeyIdParams,
        body: TrustSetBody,
        response: { 200: SigningKeysView, ...errorResponses },
      },
    },
    async (request) => {
      const next = await trust.remove(request.params.keyId, request.body.trustSet, actorOf(request));
      audit.annotate(request, { target: changed(next, request.params.keyId) });
      return keysView(trust, store);
    },
  );
}
