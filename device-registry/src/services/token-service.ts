import { OutpostError } from '@outpost/protocol';
import type { DeviceStore } from '../adapters/device-store.js';
import type { TokenStore } from '../adapters/token-store.js';
import type { EnrollmentToken } from '../domain/enrollment-token.js';
import { hashTokenSecret, newTokenId, newTokenSecret } from './token-secrets.js';

export interface CreateTokenInput {
  readonly group: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly maxUses: number;
  readonly ttlSeconds: number;
  readonly deviceIdPrefix?: string;
}

/** Enrollment tokens: created (secret shown once), listed, revoked. */
export class TokenService {
  readonly #tokens: TokenStore;
  readonly #devices: DeviceStore;
  readonly #now: () => number;

  constructor(deps: { tokens: TokenStore; devices: DeviceStore; now: () => number }) {
    this.#tokens = deps.tokens;
    this.#devices = deps.devices;
    this.#now = deps.now;
  }

  async create(input: CreateTokenInput, createdBy: string): Promise<{ token: EnrollmentToken; secret: string }> {
    const now = this.#now();
    const secret = newTokenSecret();
    const token: EnrollmentToken = {
      id: newTokenId(),
      group: input.group,
      tags: input.tags ?? {},
      deviceIdPrefix: input.deviceIdPrefix ?? null,
      maxUses: input.maxUses,
      uses: 0,
      expiresAt: now + input.ttlSeconds * 1000,
      revokedAt: null,
      createdBy,
      createdAt: now,
    };
    await this.#devices.ensureGroup(input.group, now);
    await this.#tokens.insert(token, hashTokenSecret(secret));
    return { token, secret };
  }

  list(options: { limit: number; after?: string }): Promise<EnrollmentToken[]> {
    return this.#tokens.list(options);
  }

  /** Revokes a token; revoking it again is a no-op. */
  async revoke(id: string): Promise<void> {
    const token = await this.#tokens.byId(id);
    if (token === undefined) throw new OutpostError('ENROLL_TOKEN_NOT_FOUND', `no enrollment token ${id}`);
    await this.#tokens.revoke(id, this.#now());
  }
}
