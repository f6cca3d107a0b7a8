/**
 * The registry's tables in the one state database (all prefixed `registry_`). Booleans are
 * 0/1 integers, times epoch ms, maps JSON text. Types are aliases, as `withTables` needs.
 */

export type CaStatus = 'active' | 'previous' | 'retired';

export type CaTable = {
  id: string;
  generation: number;
  common_name: string;
  cert_pem: string;
  /** The CA private key sealed with the secret key (never stored in clear). */
  sealed_key: string;
  fingerprint: string;
  serial: string;
  status: CaStatus;
  not_before: number;
  not_after: number;
  created_at: number;
  retired_at: number | null;
  /** Number of the last CRL this CA signed. */
  crl_number: number;
};

export type ServerCertTable = {
  /** Always 1: the platform has one server certificate. */
  id: number;
  ca_id: string;
  cert_pem: string;
  sealed_key: string;
  /** JSON array of the SANs it was issued for, the CN first. */
  names: string;
  serial: string;
  not_after: number;
  issued_at: number;
};

export type EnrollmentTokenTable = {
  id: string;
  token_hash: string;
  group_name: string;
  tags: string;
  device_id_prefix: string | null;
  max_uses: number;
  uses: number;
  expires_at: number;
  revoked_at: number | null;
  created_by: string;
  created_at: number;
};

export type EnrollmentAttemptTable = {
  token_id: string;
  /** sha256 of the CSR's public key: the same CSR retried maps to the same device. */
  key_fingerprint: string;
  device_id: string;
  serial: string;
  created_at: number;
};

export type DeviceTable = {
  id: string;
  status: 'active' | 'suspended' | 'revoked' | 'decommissioned';
  group_name: string;
  tags: string;
  metadata: string;
  hardware: string | null;
  agent_version: string | null;
  firmware_name: string | null;
  firmware_version: string | null;
  firmware_slot: string | null;
  online: number;
  last_seen: number | null;
  /** JSON of the latest DeviceStatus outbox figures (DeviceOutbox); null before the first. Migration 0003. */
  outbox_status: string | null;
  enrolled_with: string | null;
  created_at: number;
  updated_at: number;
};

export type CertificateTable = {
  serial: string;
  kind: 'device' | 'integration';
  /** The certificate's CN: the device id, or the integration's name. */
  subject: string;
  device_id: string | null;
  role: string | null;
  fingerprint: string;
  not_before: number;
  not_after: number;
  revoked_at: number | null;
  ca_id: string;
  pem: string;
  created_at: number;
  /** The serial of the certificate this one was renewed from (null: enrolled or an integration). Migration 0002. */
  renewed_from: string | null;
};

export type GroupTable = {
  name: string;
  description: string | null;
  created_at: number;
};

export type DesiredConfigTable = {
  device_id: string;
  version: number;
  config: string;
  created_by: string;
  created_at: number;
};

export type ReportedConfigTable = {
  device_id: string;
  version: number;
  applied: number;
  error: string | null;
  at: number;
};

export type CommandTable = {
  id: string;
  device_id: string;
  name: string;
  args: string;
  state: 'queued' | 'delivered' | 'succeeded' | 'failed' | 'expired';
  result: string | null;
  created_by: string;
  created_at: number;
  expires_at: number;
  updated_at: number;
};

export type RegistryTables = {
  registry_cas: CaTable;
  registry_server_cert: ServerCertTable;
  registry_enrollment_tokens: EnrollmentTokenTable;
  registry_enrollment_attempts: EnrollmentAttemptTable;
  registry_devices: DeviceTable;
  registry_certificates: CertificateTable;
  registry_groups: GroupTable;
  registry_desired_configs: DesiredConfigTable;
  registry_reported_configs: ReportedConfigTable;
  registry_commands: CommandTable;
};
