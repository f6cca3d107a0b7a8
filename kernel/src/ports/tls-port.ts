import type { Observable } from 'rxjs';

/** Server TLS credentials the registry issues; the device listener starts once they exist. */
export interface TlsCredentials {
  readonly cert: string;
  readonly key: string;
  /** PEM chain of the platform CA(s), sent in the handshake and used to verify clients. */
  readonly ca: string;
}

/** Provided by the registry as `ports.tls`. */
export interface TlsPort {
  current(): TlsCredentials | undefined;
  /** Emits whenever the credentials are (re)issued, e.g. on SAN change or CA rotation. */
  readonly changes: Observable<TlsCredentials>;
}
