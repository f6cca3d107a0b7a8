/**
 * The MQTT listener's TLS (SPEC "Listeners": client certificate required): `node:tls` with
 * TLS 1.2+, the platform's server certificate and CA chain, and session resumption (tickets
 * with keys that survive a credential swap, so a reconnect storm skips full handshakes).
 * Credentials are swapped live with `setSecureContext`: new handshakes use them, live
 * sessions keep theirs.
 *
 * A client certificate is required, but the check is ours rather than Node's
 * `rejectUnauthorized: true`: Node destroys an unauthorized socket without telling why
 * (the server only sees "socket hang up"), so an expired or foreign certificate could not be
 * counted and logged by reason. Here every socket whose chain did not verify against the
 * platform CA(s) — or that presented none — is destroyed before a single MQTT byte is read,
 * with `authorizationError` as the reason.
 *
 * Nothing about a socket is trusted before its handshake is done (issue 11, D1): each one has a
 * hard deadline (`handshakeTimeoutMs`, counted from accept, not from the last byte, so a client
 * trickling bytes cannot hold it), a failed or late handshake destroys the socket, and the
 * sockets still handshaking are capped per remote address and in total — one beyond a cap is
 * destroyed at once, before TLS reads a byte of it.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { TlsCredentials } from '@outpost/kernel';

export interface TlsListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly credentials: TlsCredentials;
  /** A TLS handshake not finished this long after accept is dropped (the socket destroyed). */
  readonly handshakeTimeoutMs: number;
  /** Most sockets handshaking at once; one more is destroyed at once. */
  readonly maxPendingHandshakes: number;
  /** Most sockets handshaking at once from one remote address; one more is destroyed at once. */
  readonly maxPendingHandshakesPerIp: number;
  /** How long a session ticket can resume a session, in seconds. */
  readonly sessionTimeoutS: number;
  /** 48 bytes; random unless given (several broker nodes would share them). */
  readonly ticketKeys?: Buffer;
  /** A connection with a verified client certificate. */
  onConnection(socket: TLSSocket): void;
  /**
   * A connection refused at the TLS layer: the handshake failed (`error.code`), or the client
   * certificate is missing or did not verify (`error.code` = Node's authorizationError, e.g.
   * `CERT_HAS_EXPIRED`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`).
   */
  onHandshakeError(error: Error & { code?: string }, remoteAddress: string | undefined): void;
  /** A socket destroyed on accept because too many handshakes are pending (`scope`: from its address, or in all). */
  onHandshakeRefused(remoteAddress: string | undefined, scope: 'ip' | 'total'): void;
}

export interface TlsListener {
  readonly address: AddressInfo;
  /** `mqtts://host:port` as bound. */
  readonly url: string;
  /** Sockets accepted whose TLS handshake is not done yet. */
  readonly pendingHandshakes: number;
  useCredentials(credentials: TlsCredentials): void;
  /** Stops accepting and destroys every connection still open (close the broker first). */
  close(): Promise<void>;
}

function secureOptions(credentials: TlsCredentials, ticketKeys: Buffer, sessionTimeoutS: number) {
  return {
    cert: credentials.cert,
    key: credentials.key,
    ca: credentials.ca,
    requestCert: true,
    // Enforced in the connection listener below, with the reason (see the header).
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2' as const,
    ticketKeys,
    sessionTimeout: sessionTimeoutS,
  };
}

export async function listenTls(options: TlsListenerOptions): Promise<TlsListener> {
  const ticketKeys = options.ticketKeys ?? randomBytes(48);
  // Sockets still handshaking, by `address|port` (the raw socket and its TLSSocket share it).
  const pending = new Map<string, { readonly ip: string; readonly timer: NodeJS.Timeout }>();
  const perIp = new Map<string, number>();
  const keyOf = (socket: Socket): string => `${socket.remoteAddress ?? '?'}|${String(socket.remotePort ?? '?')}`;
  /** Ends the pending state of a socket; false when it was not pending (already settled or refused). */
  const settle = (key: string): boolean => {
    const entry = pending.get(key);
    if (entry === undefined) return false;
    pending.delete(key);
    clearTimeout(entry.timer);
    const left = (perIp.get(entry.ip) ?? 1) - 1;
    if (left > 0) perIp.set(entry.ip, left);
    else perIp.delete(entry.ip);
    return true;
  };

  const server: Server = createServer(
    { ...secureOptions(options.credentials, ticketKeys, options.sessionTimeoutS), handshakeTimeout: options.handshakeTimeoutMs },
    (socket) => {
      settle(keyOf(socket));
      if (socket.authorized) return options.onConnection(socket);
      const code = refusalCode(socket);
      const reason = code === 'NO_CLIENT_CERTIFICATE' ? 'no client certificate was presented' : `the client certificate did not verify: ${code}`;
      options.onHandshakeError(Object.assign(new Error(reason), { code }), socket.remoteAddress);
      socket.destroy();
    },
  );
  const sockets = new Set<Socket>();
  // Registered after the TLS server's own connection listener, so the TLSSocket exists already;
  // destroying the raw socket ends both.
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    const key = keyOf(socket);
    const ip = socket.remoteAddress ?? '?';
    socket.once('close', () => {
      sockets.delete(socket);
      settle(key);
    });
    const scope = pending.size >= options.maxPendingHandshakes ? 'total' : (perIp.get(ip) ?? 0) >= options.maxPendingHandshakesPerIp ? 'ip' : undefined;
    if (scope !== undefined) {
      socket.destroy();
      options.onHandshakeRefused(socket.remoteAddress, scope);
      return;
    }
    const timer = setTimeout(() => {
      if (!settle(key)) return;
      const error = Object.assign(new Error(`the TLS handshake did not finish within ${options.handshakeTimeoutMs} ms`), { code: 'HANDSHAKE_TIMEOUT' });
      options.onHandshakeError(error, ip);
      socket.destroy();
    }, options.handshakeTimeoutMs);
    timer.unref();
    pending.set(key, { ip, timer });
    perIp.set(ip, (perIp.get(ip) ?? 0) + 1);
  });
  // Node reports a failed or timed-out handshake here but leaves the socket open: destroy it.
  server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
    const wasPending = settle(keyOf(socket));
    socket.destroy();
    if (wasPending) options.onHandshakeError(error, socket.remoteAddress);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    address,
    url: `mqtts://${host}:${address.port}`,
    get pendingHandshakes() {
      return pending.size;
    },
    useCredentials(credentials) {
      server.setSecureContext(secureOptions(credentials, ticketKeys, options.sessionTimeoutS));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const key of [...pending.keys()]) settle(key);
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** The verified client certificate of a TLS socket, in the shape the domain reads. */
export function peerCertificateOf(socket: TLSSocket): { subject: Record<string, string | string[] | undefined>; serialNumber: string; notAfter?: number } | undefined {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (cert === null || typeof cert !== 'object' || typeof cert.serialNumber !== 'string' || cert.serialNumber === '') return undefined;
  // `valid_to` as OpenSSL prints it ("Mar  1 12:00:00 2026 GMT"), which Date.parse reads.
  const notAfter = typeof cert.valid_to === 'string' ? Date.parse(cert.valid_to) : Number.NaN;
  return {
    subject: { ...(cert.subject as unknown as Record<string, string | string[] | undefined>) },
    serialNumber: cert.serialNumber,
    ...(Number.isFinite(notAfter) ? { notAfter } : {}),
  };
}

/** Why an unauthorized socket is refused: no certificate at all, or Node's verify error code. */
function refusalCode(socket: TLSSocket): string {
  const peer = socket.getPeerCertificate();
  if (peer === null || typeof peer !== 'object' || Object.keys(peer).length === 0) return 'NO_CLIENT_CERTIFICATE';
  // Typed as an Error, but Node sets the verify error's code (a string such as CERT_HAS_EXPIRED).
  const raw: unknown = socket.authorizationError;
  if (typeof raw === 'string') return raw;
  if (raw instanceof Error) return (raw as Error & { code?: string }).code ?? raw.message;
  return 'CERT_UNVERIFIED';
}
