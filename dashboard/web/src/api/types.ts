/**
 * The answers of the operator API (SPEC "HTTP API") as the app reads them. Payloads that travel
 * on the live stream are protocol's own types (type-only imports: nothing of protocol is bundled);
 * the API views are written here from the route schemas, since the server packages that own
 * them are never imported into the browser bundle.
 */
import type { AlertEvent, DeviceStatus, TelemetryBatch } from '@outpost/protocol';

export type { AlertEvent, DeviceStatus, TelemetryBatch };
export type Role = 'viewer' | 'operator' | 'admin';

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string;
}

export interface LoginAnswer {
  readonly token: string;
  readonly expiresAt: number;
  readonly role: Role;
}

export interface Certificate {
  readonly serial: string;
  readonly subject: string;
  readonly fingerprint: string;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly revokedAt: number | null;
  readonly status: 'valid' | 'expired' | 'not-yet-valid' | 'revoked';
}

export interface Outbox {
  readonly depth: number;
  readonly bytes: number;
  readonly maxBytes?: number;
  readonly dropped: number;
  readonly droppedSamples?: number;
  readonly refused: number;
  readonly at: number;
}

export interface Device {
  readonly id: string;
  readonly status: 'active' | 'suspended' | 'revoked' | 'decommissioned';
  readonly online: boolean;
  readonly lastSeen: number | null;
  readonly group: string;
  readonly tags: Record<string, string>;
  readonly metadata: Record<string, string>;
  readonly hardware: string | null;
  readonly agentVersion: string | null;
  readonly firmware: { readonly name: string; readonly version: string; readonly slot: 'a' | 'b' } | null;
  readonly outbox?: Outbox | null;
  readonly createdAt: number;
  readonly certificates?: Certificate[];
  readonly certificateExpiresAt?: number | null;
}

export interface FleetSummary {
  readonly total: number;
  readonly online: number;
  readonly byStatus: Record<string, number>;
  readonly byGroup: { readonly name: string; readonly total: number; readonly online: number }[];
  readonly byFirmware: { readonly firmware: { readonly name: string; readonly version: string } | null; readonly total: number; readonly online: number }[];
}

export interface Group {
  readonly name: string;
  readonly devices: number;
}

export interface Series {
  readonly metric: string;
  readonly every: string;
  readonly fn: string;
  readonly from: number;
  readonly to: number;
  readonly points: { readonly ts: number; readonly value: number | boolean | string }[];
}

export interface Latest {
  readonly deviceId: string;
  readonly metrics: Record<string, { readonly ts: number; readonly value: number | boolean | string }>;
}

export interface MetricList {
  readonly deviceId: string;
  readonly metrics: { readonly name: string; readonly type: 'number' | 'boolean' | 'string' }[];
}

export type Severity = 'info' | 'warning' | 'critical';

export interface Alert {
  readonly id: string;
  readonly ruleId: string;
  readonly deviceId: string;
  readonly severity: Severity;
  readonly state: 'firing' | 'acknowledged' | 'resolved';
  readonly value: number | null;
  readonly firedAt: number;
  readonly resolvedAt?: number;
  readonly ack?: { readonly by: string; readonly at: number; readonly comment: string };
  readonly maintenance: boolean;
  readonly late: boolean;
}

export interface Rule {
  readonly id: string;
  readonly name: string;
  readonly kind: 'threshold' | 'absence' | 'rate';
  readonly metric: string;
  readonly condition?: string;
  readonly threshold?: number;
  readonly severity: Severity;
  readonly enabled: boolean;
  readonly version: number;
  readonly [key: string]: unknown;
}

export interface BacktestResult {
  readonly ruleId: string;
  readonly from: number;
  readonly to: number;
  readonly samples: number;
  readonly devices: number;
  readonly counts: { readonly firing: number; readonly resolved: number };
  readonly transitions: { readonly deviceId: string; readonly state: 'firing' | 'resolved'; readonly value: number | null; readonly ts: number; readonly severity: Severity }[];
}

export interface ConfigView {
  readonly desired: unknown;
  readonly reported: unknown;
  readonly [key: string]: unknown;
}

export interface Command {
  readonly id: string;
  readonly name: string;
  readonly args: Record<string, unknown>;
  readonly state: 'queued' | 'delivered' | 'succeeded' | 'failed' | 'expired';
  readonly createdAt?: number;
  readonly result?: { readonly ok: boolean; readonly output?: string; readonly error?: { readonly code: string; readonly message: string } } | null;
  readonly [key: string]: unknown;
}

export interface EnrollmentToken {
  readonly id: string;
  readonly group: string;
  readonly maxUses: number;
  readonly uses: number;
  readonly state: string;
  readonly expiresAt: number;
  readonly createdBy: string;
}

export interface CreatedEnrollmentToken {
  readonly id: string;
  readonly token: string;
  readonly expiresAt: number;
  readonly caFingerprint: string;
  readonly enrollCommand: string;
}

export interface User {
  readonly username: string;
  readonly role: Role;
  readonly [key: string]: unknown;
}

export interface ApiToken {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly [key: string]: unknown;
}

export interface LiveMessage<P> {
  readonly deviceId?: string;
  readonly payload: P;
}

export interface Artifact {
  readonly id: string;
  readonly name: string;
  readonly version: string;
  readonly type: string;
  readonly hardware: string[];
  readonly size: number;
  readonly sha256: string;
  readonly keyId: string;
  readonly securityVersion: number | null;
  readonly uploadedBy: string;
  readonly uploadedAt: number;
}

export type RolloutState = 'draft' | 'scheduled' | 'running' | 'paused' | 'aborted' | 'succeeded' | 'failed';

export interface Rollout {
  readonly id: string;
  readonly name: string;
  readonly artifactId: string;
  readonly state: RolloutState;
  readonly target: unknown;
  readonly currentWave: number;
  readonly waveCount: number;
  readonly devices: number;
  readonly counts: Record<string, number>;
  readonly reason: { readonly code: string; readonly message: string; readonly at: number } | null;
  readonly createdBy: string;
  readonly createdAt: number;
}

export interface RolloutDetail extends Rollout {
  readonly wavesProgress: {
    readonly index: number;
    readonly size: number;
    readonly counts: Record<string, number>;
    readonly startedAt: number | null;
    readonly gate: { readonly status: 'pending' | 'waiting' | 'soaking' | 'passed' | 'breached' | 'skipped'; readonly reason: string };
  }[];
}

export interface DeviceOtaEntry {
  readonly rolloutId: string;
  readonly rolloutName: string;
  readonly rolloutState: RolloutState;
  readonly artifact: { readonly id: string; readonly name: string; readonly version: string } | null;
  readonly from: { readonly id: string; readonly name: string; readonly version: string } | null;
  readonly wave: number;
  readonly state: string;
  readonly percent: number | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly attempts: number;
  readonly rolloutCreatedAt: number;
  readonly queuedAt: number | null;
  readonly finishedAt: number | null;
  readonly updatedAt: number;
}

export interface RolloutDevice {
  readonly deviceId: string;
  readonly wave: number;
  readonly state: string;
  readonly percent: number | null;
  readonly bytes: number | null;
  readonly error: { readonly code: string; readonly message: string } | null;
  readonly attempts: number;
  readonly updatedAt: number;
}
