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
  },
  { additionalProperties: false },
);
export type Manifest = Static<typeof Manifest>;
