import type { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';

/**
 * The client certificate of the request's TLS connection as PEM, or undefined when none was
 * presented (or the request did not come over TLS). The device listener requests a
 * certificate without requiring or verifying it (enrollment has none yet), so callers verify
 * the chain, validity and revocation themselves.
 */
export function peerCertificatePem(request: FastifyRequest): string | undefined {
  const socket = request.raw.socket as Partial<TLSSocket> | undefined;
  if (socket === undefined || typeof socket.getPeerCertificate !== 'function') return undefined;
  const peer = socket.getPeerCertificate(false);
  const raw: unknown = (peer as { raw?: unknown } | null)?.raw;
  if (!Buffer.isBuffer(raw) || raw.length === 0) return undefined;
  const body = raw.toString('base64').replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}
