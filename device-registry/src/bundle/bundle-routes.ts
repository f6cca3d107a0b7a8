import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { OperatorRouteDeps } from '../http/operator-deps.js';
import { ErrorBody, errorResponses } from '@outpost/kernel';
import { GroupNameSchema, TagMap } from '../http/schemas.js';
import { BUNDLE_PREFIX, createAgentPayloads, createBundleService, type AgentPayload } from '@outpost/edge-agent/bundle';
import { locateAgentPackage } from './locate-agent.js';

const CreateBody = Type.Object(
  {
    group: GroupNameSchema,
    tags: Type.Optional(TagMap),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 * 86_400, default: 86_400, description: "lifetime of the bundle's one-time enrollment token in seconds" })),
    allowLoopback: Type.Optional(
      Type.Boolean({ default: false, description: 'build the bundle even though OUTPOST_PUBLIC_HOST is a loopback address (for a device on this machine)' }),
    ),
  },
  { additionalProperties: false },
);

export interface BundleRouteOptions {
  /** `OUTPOST_PUBLIC_HOST`: the host in the bundle's server URL. */
  readonly publicHost: string;
  /** `OUTPOST_DATA_DIR`: the packed agent is cached in `DIR/agent-bundles`. */
  readonly dataDir: string;
  /** The agent package to ship; default: the one installed with this server. */
  readonly agentDir?: string;
}

/** Headers of the answer that tell the CLI what it downloaded (the body is the archive). */
export const BUNDLE_HEADERS = {
  tokenId: 'x-outpost-token-id',
  expiresAt: 'x-outpost-token-expires-at',
  server: 'x-outpost-server-url',
  agentVersion: 'x-outpost-agent-version',
} as const;

/** `POST /api/v1/agent-bundles`: the install bundle as a download (operator role, audited). */
export function registerBundleRoutes(app: FastifyInstance, deps: OperatorRouteDeps, options: BundleRouteOptions): void {
  const { services, auth, audit, now } = deps;
  let payloads: Promise<{ get(): Promise<AgentPayload>; packageDir: string }> | undefined;
  const agent = async (): Promise<{ payload: AgentPayload; packageDir: string }> => {
    payloads ??= (async () => {
      const packageDir = options.agentDir ?? (await locateAgentPackage());
      return { ...createAgentPayloads({ agentDir: packageDir, cacheDir: join(options.dataDir, 'agent-bundles'), prefix: BUNDLE_PREFIX, log: app.log }), packageDir };
    })();
    const found = await payloads.catch((err: unknown) => {
      payloads = undefined; // the agent may be installed later
      throw err;
    });
    return { payload: await found.get(), packageDir: found.packageDir };
  };
  const bundles = createBundleService({
    publicHost: options.publicHost,
    deviceApiUrl: deps.deviceApiUrl,
    caChainPem: () => services.ca.chainPem(),
    caFingerprint: () => services.ca.active().fingerprint,
    agent,
    createToken: async ({ createdBy, ...input }) => {
      const { token, secret } = await services.tokens.create({ ...input, maxUses: 1 }, createdBy);
      return { id: token.id, secret, expiresAt: token.expiresAt };
    },
    now,
  });

  app.post<{ Body: Static<typeof CreateBody> }>(
    '/api/v1/agent-bundles',
    {
      onRequest: auth.guard('operator'),
      schema: {
        tags: ['enrollment-tokens'],
        summary: 'Build an agent install bundle (.tar.gz) holding the agent, a one-time enrollment token for the group, the CA chain and install.sh',
        body: CreateBody,
        response: { 200: Type.String({ description: 'the bundle, application/gzip' }), ...errorResponses, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const bundle = await bundles.create({
        createdBy: auth.principal(request).username,
        group: body.group,
        ttlSeconds: body.ttlSeconds ?? 86_400,
        allowLoopback: body.allowLoopback ?? false,
        ...(body.tags === undefined ? {} : { tags: body.tags }),
      });
      audit.annotate(request, { target: bundle.manifest.tokenId });
      return reply
        .status(200)
        .header('content-type', 'application/gzip')
        .header('content-disposition', `attachment; filename="${bundle.filename}"`)
        .header('content-length', String(bundle.size))
        .header('cache-control', 'no-store')
        .header(BUNDLE_HEADERS.tokenId, bundle.manifest.tokenId)
        .header(BUNDLE_HEADERS.expiresAt, String(bundle.manifest.expiresAt))
        .header(BUNDLE_HEADERS.server, bundle.manifest.server)
        .header(BUNDLE_HEADERS.agentVersion, bundle.manifest.agentVersion)
        .send(bundle.stream);
    },
  );
}
