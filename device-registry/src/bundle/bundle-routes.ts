import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Type, type Static } from 'typebox';
import type { OperatorRouteDeps } from '../http/operator-deps.js';
import { ErrorBody, errorResponses } from '@outpost/kernel';
import { GroupNameSchema, TagMap } from '../http/schemas.js';
import { BUNDLE_PREFIX, createAgentPayloads, createBundleService, createRuntimeStore, parseRuntimeChoice, type AgentPayload, type RuntimeChoice } from '@outpost/edge-agent/bundle';
import { OutpostError } from '@outpost/protocol';
import { locateAgentPackage } from './locate-agent.js';

const CreateBody = Type.Object(
  {
    group: GroupNameSchema,
    tags: Type.Optional(TagMap),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 365 * 86_400, default: 86_400, description: "lifetime of the bundle's one-time enrollment token in seconds" })),
    allowLoopback: Type.Optional(
      Type.Boolean({ default: false, description: 'build the bundle even though OUTPOST_PUBLIC_HOST is a loopback address (for a device on this machine)' }),
    ),
    runtime: Type.Optional(
      Type.String({
        maxLength: 40,
        description: 'the Node.js runtime the bundle carries: "none", an architecture (arm64, armv7l, x64: its default line) or ARCH@VERSION (arm64@24, armv7l@20.11.0); default: OUTPOST_AGENT_RUNTIME',
      }),
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
  /** `OUTPOST_AGENT_RUNTIME`: the runtime of a bundle whose request names none (`none`, `arm64`, `arm64@24`…). */
  readonly agentRuntime?: string;
}

/** Headers of the answer that tell the CLI what it downloaded (the body is the archive). */
export const BUNDLE_HEADERS = {
  tokenId: 'x-outpost-token-id',
  expiresAt: 'x-outpost-token-expires-at',
  server: 'x-outpost-server-url',
  agentVersion: 'x-outpost-agent-version',
  /** `ARCH@VERSION` of the Node.js runtime inside, or `none`. */
  runtime: 'x-outpost-agent-runtime',
} as const;

/** How long a bundle with a runtime not yet cached may take to start (fetch + pack). */
const RUNTIME_BUILD_TIMEOUT_MS = 600_000;

function runtimeChoice(text: string, what: string): RuntimeChoice | undefined {
  const parsed = parseRuntimeChoice(text);
  if (!parsed.ok) throw new OutpostError('BUNDLE_RUNTIME_INVALID', `invalid ${what} ${parsed.reason}`, { status: 400 });
  return parsed.value;
}

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
  // Node.js runtimes for bundles (issue 17), fetched from the npm registry and kept in DATA_DIR/runtimes.
  const runtimes = createRuntimeStore({ cacheDir: join(options.dataDir, 'runtimes'), prefix: BUNDLE_PREFIX, log: app.log });
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
    runtime: (choice) => runtimes.get(choice),
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
      const runtime = body.runtime === undefined ? runtimeChoice(options.agentRuntime ?? 'none', 'OUTPOST_AGENT_RUNTIME') : runtimeChoice(body.runtime, 'runtime');
      // A runtime not yet cached is fetched (20-55 MB) and packed (~100 MB) before the first byte
      // is sent: the connection's idle timeout (OUTPOST_HTTP_IDLE_TIMEOUT) waits meanwhile.
      const socket = request.raw.socket;
      const idleMs = socket.timeout;
      if (runtime !== undefined) socket.setTimeout(RUNTIME_BUILD_TIMEOUT_MS);
      const bundle = await bundles
        .create({
          ...(runtime === undefined ? {} : { runtime }),
          createdBy: auth.principal(request).username,
          group: body.group,
          ttlSeconds: body.ttlSeconds ?? 86_400,
          allowLoopback: body.allowLoopback ?? false,
          ...(body.tags === undefined ? {} : { tags: body.tags }),
        })
        .finally(() => {
          if (runtime !== undefined && !socket.destroyed) socket.setTimeout(idleMs ?? 0);
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
        .header(BUNDLE_HEADERS.runtime, bundle.manifest.runtime === undefined ? 'none' : `${bundle.manifest.runtime.arch}@${bundle.manifest.runtime.version}`)
        .send(bundle.stream);
    },
  );
}
