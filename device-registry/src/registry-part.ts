import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { Part, PartDeps, PartFactory, Readiness } from '@outpost/kernel';
import { registerBundleRoutes } from './bundle/bundle-routes.js'; // issue 7 item 8: agent install bundle
import { registryMigrations } from './adapters/migrations.js';
import type { RegistryTables } from './adapters/tables.js';
import { RateLimiter } from './domain/rate-limiter.js';
import { registerCaRoutes } from './http/ca-routes.js';
import { registerCertificateRoutes } from './http/certificate-routes.js';
import { registerDeviceAdminRoutes } from './http/device-admin-routes.js';
import { registerDeviceListenerRoutes } from './http/device-listener-routes.js';
import { EMPTY_TRUST_SET, type AnswerContext } from './http/enrollment-answer.js';
import { registerGroupRoutes } from './http/group-routes.js';
import { registerInstructionRoutes } from './http/instruction-routes.js';
import type { OperatorRouteDeps } from './http/operator-deps.js';
import { registerTokenRoutes } from './http/token-routes.js';
import { createRegistryServices } from './services/registry-services.js';

export const PART_NAME = 'registry';

export interface RegistryPartOptions {
  /** Enrollments (and signed renewals) per client IP per window; default `OUTPOST_ENROLL_RATE_LIMIT` per minute. */
  readonly enrollRateLimit?: { readonly limit: number; readonly windowMs: number };
  /** How often the server certificate's expiry is checked; default 12 h. */
  readonly serverCertCheckMs?: number;
  /** The random part of assigned device ids (tests make it predictable). */
  readonly randomSuffix?: () => string;
}

/**
 * The device registry as a platform part: platform CA, device HTTPS routes (enroll, renew,
 * CRL), the operator API for tokens, devices, groups, config, commands, certificates and the
 * CA, and the `tls` and `registry` ports.
 */
export function createRegistryPart(options: RegistryPartOptions = {}): PartFactory {
  return (deps: PartDeps): Part => {
    const now = (): number => deps.clock.now();
    const services = createRegistryServices({
      db: deps.db.withTables<RegistryTables>(),
      config: deps.config,
      secretKey: deps.secretKey,
      now,
      ...(options.randomSuffix === undefined ? {} : { randomSuffix: options.randomSuffix }),
    });
    const rate = options.enrollRateLimit ?? { limit: deps.config.enrollRateLimitPerMin, windowMs: 60_000 };
    const limiter = new RateLimiter({ limit: rate.limit, windowMs: rate.windowMs, now });
    let deviceApp: FastifyInstance | undefined;
    let timer: NodeJS.Timeout | undefined;
    let state: Readiness = 'down';

    const devicePort = (): number => {
      if (deps.config.device.port !== 0) return deps.config.device.port;
      const address = deviceApp?.server.address() as AddressInfo | string | null | undefined;
      return typeof address === 'object' && address !== null ? address.port : 0;
    };
    // The broker is composed after the registry: it announces its bound port through `mqttListener`.
    let boundMqttPort: number | undefined;
    const mqttPort = (): number => (deps.config.mqtt.port !== 0 ? deps.config.mqtt.port : (boundMqttPort ?? 0));
    const host = deps.config.publicHost.includes(':') ? `[${deps.config.publicHost}]` : deps.config.publicHost;
    const deviceApiUrl = (): string => `https://${host}:${devicePort()}`;
    const answer: AnswerContext = { config: deps.config, chainPem: () => services.ca.chainPem(), devicePort, mqttPort, trust: () => EMPTY_TRUST_SET };

    const refreshTls = async (): Promise<void> => {
      try {
        await services.tls.refresh();
      } catch (err) {
        deps.log.error({ err }, 'registry: could not refresh the server certificate');
      }
    };

    return {
      name: PART_NAME,
      provides: {
        tls: services.tls,
        registry: services.port,
        mqttListener: {
          bound: ({ port }: { readonly port: number }) => {
            boundMqttPort = port;
          },
        },
      },

      routes({ operator, device }) {
        deviceApp = device;
        registerDeviceListenerRoutes(device, { services, answer, limiter, audit: deps.audit });
        const operatorDeps: OperatorRouteDeps = { services, auth: deps.auth, audit: deps.audit, now, deviceApiUrl };
        registerTokenRoutes(operator, operatorDeps);
        registerDeviceAdminRoutes(operator, operatorDeps);
        registerInstructionRoutes(operator, operatorDeps);
        registerGroupRoutes(operator, operatorDeps);
        registerCertificateRoutes(operator, operatorDeps);
        registerCaRoutes(operator, operatorDeps);
        // issue 7 item 8: POST /api/v1/agent-bundles (see bundle/bundle-routes.ts)
        registerBundleRoutes(operator, operatorDeps, {
          publicHost: deps.config.publicHost,
          dataDir: deps.config.dataDir,
          ...(deps.config.agentRuntime === undefined ? {} : { agentRuntime: deps.config.agentRuntime }),
        });
      },

      async start() {
        await deps.migrate(PART_NAME, registryMigrations);
        await services.ca.ensure();
        await services.tls.refresh();
        timer = setInterval(() => void refreshTls(), options.serverCertCheckMs ?? 12 * 3_600_000);
        timer.unref();
        state = 'ok';
        deps.log.info({ ca: services.ca.active().fingerprint, serverNames: deps.config.serverNames }, 'registry ready');
      },

      ready: () => state,

      async close() {
        state = 'down';
        if (timer !== undefined) clearInterval(timer);
        services.events.complete();
        services.tls.close();
        services.ca.close();
      },
    };
  };
}
