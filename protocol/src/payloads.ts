/**
 * The payload registry: every payload of SPEC's payload table by name. The codec takes one of
 * these names; topic metadata (topic-kinds.ts) names the payload each topic carries.
 */
import type { Static } from 'typebox';
import { Alert, AlertEvent } from './schemas/alert.js';
import { Collector } from './schemas/collector.js';
import { Command, CommandResult } from './schemas/command.js';
import { AgentConfig, DesiredConfig } from './schemas/desired-config.js';
import { DeviceStatus } from './schemas/device-status.js';
import { EdgeAlert } from './schemas/edge-alert.js';
import { Limits } from './schemas/limits.js';
import { Manifest } from './schemas/manifest.js';
import { OtaJob, OtaProgress } from './schemas/ota.js';
import { PublishError } from './schemas/publish-error.js';
import { RegistryEvent } from './schemas/registry-event.js';
import { RenewalRequest } from './schemas/renewal-request.js';
import { ReportedConfig } from './schemas/reported-config.js';
import { Rule } from './schemas/rule.js';
import { TelemetryBatch } from './schemas/telemetry.js';
import { TrustSet } from './schemas/trust-set.js';

export const PAYLOAD_SCHEMAS = {
  TelemetryBatch,
  DeviceStatus,
  EdgeAlert,
  DesiredConfig,
  Collector,
  Limits,
  ReportedConfig,
  Command,
  CommandResult,
  TrustSet,
  OtaJob,
  OtaProgress,
  PublishError,
  Manifest,
  Rule,
  AlertEvent,
  Alert,
  AgentConfig,
  RegistryEvent,
  RenewalRequest,
} as const;

export type PayloadKind = keyof typeof PAYLOAD_SCHEMAS;

/** The static type of a payload kind: `PayloadOf<'TelemetryBatch'>` is TelemetryBatch. */
export type PayloadOf<K extends PayloadKind> = Static<(typeof PAYLOAD_SCHEMAS)[K]>;

export const PAYLOAD_KINDS = Object.freeze(Object.keys(PAYLOAD_SCHEMAS)) as readonly PayloadKind[];

export function isPayloadKind(value: unknown): value is PayloadKind {
  return typeof value === 'string' && Object.hasOwn(PAYLOAD_SCHEMAS, value);
}
