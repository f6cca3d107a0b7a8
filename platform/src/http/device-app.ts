import { createServer, type Server } from 'node:https';
import type { SecureContextOptions } from 'node:tls';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TlsCredentials } from '@outpost/kernel';
import { registerErrorHandling } from './error-handler.js';
import { DEFAULT_TIMEOUTS, type ListenerTimeouts } from './operator-app.js';
import { registerSecurityHeaders } from './security-headers.js';

/**
 * The device HTTPS listener (enroll, renew, firmware, CRL). Routes can be added
 * before credentials exist; the listener starts once the registry supplies the
 * server certificate, and `useCredentials` swaps it live on reissue or CA rotation.
 * A client certificate is requested, never required (enrollment has none yet).
 */
export interface DeviceApp {
  readonly app: FastifyInstance;
  useCredentials(credentials: TlsCredentials): void;
  readonly hasCredentials: boolean;
}

function secureOptions(c: TlsCredentials): SecureContextOptions {
  return { cert: c.cert, key: c.key, ca: c.ca, minVersion: 'TLSv1.2' };
}

export function buildDeviceApp(options: { log: FastifyBaseLogger; bodyLimit?: number; timeouts?: ListenerTimeouts }): DeviceApp {
  const timeouts = options.timeouts ?? DEFAULT_TIMEOUTS;
  let server: Server | undefined;
  let current: TlsCredentials | undefined;
  const app = Fastify({
    loggerInstance: options.log,
    bodyLimit: options.bodyLimit ?? 262_144,
    forceCloseConnections: true,
    serverFactory: (handler) => {
      server = createServer(
        {
          // Placeholder context until credentials arrive; the listener is not started before then.
          minVersion: 'TLSv1.2',
          requestCert: true,
          rejectUnauthorized: false,
          handshakeTimeout: timeouts.idleMs,
        },
        handler,
      );
      // fastify leaves a factory's server as it is: the timeouts are ours to set (issue 11, D1).
      server.setTimeout(timeouts.idleMs);
      server.keepAliveTimeout = timeouts.keepAliveMs;
      server.requestTimeout = timeouts.requestMs;
      server.headersTimeout = Math.min(server.headersTimeout, timeouts.requestMs);
      // Node reports a failed or timed-out TLS handshake but leaves the socket open: close it.
      server.on('tlsClientError', (_error, socket) => socket.destroy());
      if (current !== undefined) server.setSecureContext(secureOptions(current));
      return server;
    },
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: true } },
  }) as unknown as FastifyInstance;
  registerErrorHandling(app);
  registerSecurityHeaders(app);
  return {
    app,
    useCredentials(credentials) {
      current = credentials;
      server?.setSecureContext(secureOptions(credentials));
    },
    get hasCredentials() {
      return current !== undefined;
    },
  };
}
