/**
 * The answers of the operator API (SPEC "HTTP API") as the app reads them. The API views come from
 * the routes' own schemas: each part exports its answers as types (`RegistryApi`, `OtaApi`,
 * `AlertsApi`, `DashboardApi`, each `Static<typeof Schema>`), imported here type-only — erased
 * from the bundle, so they cost no bytes, and a route whose answer changes breaks this app's
 * type check. Payloads that travel on the live stream are protocol's own types.
 */
import type { AlertEvent, DeviceStatus, TelemetryBatch } from '@outpost/protocol';
// The parts' answer types, type-only (never bundled; eslint allows these four only as `import type`).
import type { AlertsApi } from '@outpost/alerts';
import type { DashboardApi } from '@outpost/dashboard';
import type { RegistryApi } from '@outpost/device-registry';
import type { OtaApi } from '@outpost/ota';

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

export type Certificate = RegistryApi.Certificate;

export type Outbox = NonNullable<Device['outbox']>;

export type Device = RegistryApi.Device;

export type FleetSummary = RegistryApi.FleetSummary;

export type Group = RegistryApi.Group;

export type Series = DashboardApi.Series;

export type Latest = DashboardApi.Latest;

export type MetricList = DashboardApi.MetricList;

export type Severity = Alert['severity'];

export type Alert = AlertsApi.Alert;

export type Rule = AlertsApi.Rule;

export type BacktestResult = AlertsApi.BacktestResult;

export type ConfigView = RegistryApi.DeviceConfig;

export type Command = RegistryApi.Command;

export type EnrollmentToken = RegistryApi.EnrollmentToken;

export type CreatedEnrollmentToken = RegistryApi.CreatedEnrollmentToken;

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

export type Artifact = OtaApi.Artifact;

export type RolloutState = Rollout['state'];

export type Rollout = OtaApi.Rollout;

export type RolloutDetail = OtaApi.RolloutDetail;

export type DeviceOtaEntry = OtaApi.DeviceOtaEntry;

export type RolloutDevice = OtaApi.RolloutDevice;
