/** Manifest: what an OTA artifact is, signed over `manifestSigningBytes` (canonical.ts). */
import Type from 'typebox';
import type { Static } from 'typebox';
import { CommandLine, Count, DurationS, EpochMs, Id, Name, Semver, V1 } from './common.js';

export const ManifestType = Type.Enum(['archive', 'agent', 'script']);
export type ManifestType = Static<typeof ManifestType>;

export const Manifest = Type.Object(
  {
    v: V1,
    id: Id,
    /** The artifact's name; for apps also its directory (`DIR/apps/{name}`). */
    name: Name,
    version: Semver,
    type: ManifestType,
    /** Hardware identifiers the artifact runs on (e.g. `raspberrypi4`, `arm64`). */
    hardware: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', maxLength: 64 }), {
      minItems: 1,
      maxItems: 64,
    }),
    /** Artifact size in bytes. */
    size: Count,
    /** Lower-case hex SHA-256 of the artifact. */
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$', maxLength: 64, description: '64 lower-case hex digits' }),
    createdAt: EpochMs,
    activate: Type.Optional(Type.Object({ cmd: CommandLine, timeoutS: DurationS }, { additionalProperties: false })),
    healthCheck: Type.Optional(
      Type.Object(
        { cmd: CommandLine, timeoutS: DurationS, intervalS: DurationS, attempts: Type.Integer({ minimum: 1, maximum: 1000 }) },
        { additionalProperties: false },
      ),
    ),
    minAgentVersion: Type.Optional(Semver),
    // Optional, additive (SPEC "Manifest"): per-chunk SHA-256 so a device verifies each chunk before
    // writing it (every chunk is chunkSize bytes but the last), and a monotonic anti-rollback counter.
    /** Bytes per chunk of `chunks` (e.g. 1 MiB); present together with `chunks`. */
    chunkSize: Type.Optional(Type.Integer({ minimum: 1024, maximum: 268_435_456 })),
    /** Lower-case hex SHA-256 of each chunk, in order. */
    chunks: Type.Optional(Type.Array(Type.String({ pattern: '^[0-9a-f]{64}$', maxLength: 64 }), { maxItems: 65_536 })),
    /** Anti-rollback: a device never installs a lower securityVersion than the one it runs. */
    securityVersion: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
  },
  { additionalProperties: false },
);
export type Manifest = Static<typeof Manifest>;
