import type { Role } from './roles.js';

/** Who is calling: a person signed in, or an API token acting with its own role. */
export interface Principal {
  readonly username: string;
  readonly role: Role;
  readonly via: 'session' | 'stream' | 'api-token';
  readonly tokenId?: string;
}
