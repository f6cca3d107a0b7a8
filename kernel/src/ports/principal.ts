import type { Role } from './roles.js';

/** Who is calling: a person signed in, or an API token acting with its own role. */
export interface Principal {
  readonly username: string;
  readonly role: Role;
  readonly via: 'session' | 'stream' | 'api-token';
  readonly tokenId?: string;
  /**
   * What keeps this principal signed in: `session:<token hash>` or `api:<token id>` (for a
   * stream token, the session or API token that asked for it). Ending it ends live streams.
   */
  readonly grant?: string;
}

/** A credential that ended (or a user that changed): open live streams it covers close (issue 11, D4). */
export type Revocation =
  | { readonly kind: 'grant'; readonly grant: string; readonly reason: string }
  | { readonly kind: 'user'; readonly username: string; readonly reason: string };
