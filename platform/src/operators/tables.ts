import type { Role } from '@outpost/kernel';

export type UsersTable = {
  username: string;
  role: Role;
  password_hash: string;
  created_at: number;
  updated_at: number;
};

export type SessionsTable = {
  token_hash: string;
  kind: 'session' | 'stream';
  username: string;
  created_at: number;
  expires_at: number;
  /** A stream token's grant: `session:<token hash>` or `api:<token id>`; null for a session. */
  parent: string | null;
};

export type ApiTokensTable = {
  id: string;
  name: string;
  token_hash: string;
  role: Role;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  last_used_at: number | null;
};

export type OperatorTables = {
  users: UsersTable;
  sessions: SessionsTable;
  api_tokens: ApiTokensTable;
};
