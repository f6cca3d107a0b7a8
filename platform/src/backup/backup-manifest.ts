/**
 * What a backup archive holds and how it proves itself (docs/adr/0012-backup.md). The archive
 * is a .tar.gz of `state.db` (the state database, CA and keys sealed inside it as they are on
 * disk), `firmware/sha256/<hex>` (firmware blobs), then `manifest.json` (versions, the server's
 * listener settings, and the size and SHA-256 of every entry) and `manifest.mac`.
 *
 * The secret key that seals the CA and keys is never in the archive. Two HMACs made with it let a
 * restore check, without opening anything, that it was given the right key (`keyCheck`) and
 * that the manifest is the one the server wrote (`manifest.mac`, over its exact bytes).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { OutpostError } from '@outpost/protocol';

export const BACKUP_FORMAT = 1;
export const MANIFEST_ENTRY = 'manifest.json';
export const MAC_ENTRY = 'manifest.mac';
export const STATE_DB_ENTRY = 'state.db';
const BLOB_ENTRY = /^firmware\/sha256\/[0-9a-f]{64}$/;

export interface BackupEntry {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

/** The listener settings the backed-up server ran with: devices reach the restored one only if they match. */
export interface BackedUpServer {
  readonly publicHost: string;
  readonly serverNames: readonly string[];
  readonly httpPort: number;
  readonly devicePort: number;
  readonly mqttPort: number;
  /** `embedded`, or the InfluxDB URL (its data is not in the archive: back InfluxDB up with its own tools). */
  readonly telemetry: string;
}

export interface BackupManifest {
  readonly v: typeof BACKUP_FORMAT;
  readonly kind: 'outpost-backup';
  readonly createdAt: number;
  readonly outpostVersion: string;
  readonly nodeVersion: string;
  readonly sqliteVersion: string;
  readonly database: 'sqlite';
  /** HMAC-SHA256 of a fixed label under the secret key, hex: which key the sealed material needs. */
  readonly keyCheck: string;
  readonly server: BackedUpServer;
  readonly entries: readonly BackupEntry[];
}

/** Entry names a backup may hold; anything else in an archive is refused (no path of the archive's choosing is written). */
export function isBackupEntry(path: string): boolean {
  return path === STATE_DB_ENTRY || BLOB_ENTRY.test(path);
}

export function keyCheckOf(secretKey: Buffer): string {
  return createHmac('sha256', secretKey).update('outpost backup key check v1').digest('hex');
}

/** The MAC of the manifest's exact bytes, under a key derived from the secret key. */
export function manifestMacOf(secretKey: Buffer, manifestBytes: Buffer): string {
  const macKey = createHmac('sha256', secretKey).update('outpost backup manifest v1').digest();
  return createHmac('sha256', macKey).update(manifestBytes).digest('hex');
}

export function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

function invalidManifest(reason: string): OutpostError {
  return new OutpostError('BACKUP_MANIFEST_INVALID', `the backup's manifest.json is invalid: ${reason}`);
}

const HEX64 = /^[0-9a-f]{64}$/;

/** Parses and checks manifest.json's shape (its MAC is checked apart, with the key). */
export function parseManifest(bytes: Buffer): BackupManifest {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw invalidManifest('not JSON');
  }
  if (typeof value !== 'object' || value === null) throw invalidManifest('not an object');
  const m = value as Record<string, unknown>;
  if (m['kind'] !== 'outpost-backup') throw invalidManifest('kind is not "outpost-backup"');
  if (m['v'] !== BACKUP_FORMAT) throw invalidManifest(`format version ${JSON.stringify(m['v'])}; this outpost reads version ${BACKUP_FORMAT}`);
  if (m['database'] !== 'sqlite') throw invalidManifest('database is not "sqlite"');
  if (typeof m['keyCheck'] !== 'string' || !HEX64.test(m['keyCheck'])) throw invalidManifest('keyCheck is not 64 hex digits');
  for (const field of ['outpostVersion', 'nodeVersion', 'sqliteVersion']) if (typeof m[field] !== 'string') throw invalidManifest(`${field} is not a string`);
  if (typeof m['createdAt'] !== 'number') throw invalidManifest('createdAt is not a number');
  const server = m['server'] as Record<string, unknown> | undefined;
  if (typeof server !== 'object' || server === null || typeof server['publicHost'] !== 'string' || typeof server['telemetry'] !== 'string') throw invalidManifest('server is incomplete');
  if (!Array.isArray(m['entries'])) throw invalidManifest('entries is not a list');
  const seen = new Set<string>();
  for (const entry of m['entries'] as unknown[]) {
    const e = entry as Record<string, unknown>;
    if (typeof e['path'] !== 'string' || !isBackupEntry(e['path'])) throw invalidManifest(`an entry path is not one a backup holds: ${JSON.stringify(e['path'])}`);
    if (typeof e['size'] !== 'number' || !Number.isSafeInteger(e['size']) || e['size'] < 0) throw invalidManifest(`${e['path']}: size is not a whole number`);
    if (typeof e['sha256'] !== 'string' || !HEX64.test(e['sha256'])) throw invalidManifest(`${e['path']}: sha256 is not 64 hex digits`);
    if (seen.has(e['path'])) throw invalidManifest(`${e['path']} is listed twice`);
    seen.add(e['path']);
  }
  if (!seen.has(STATE_DB_ENTRY)) throw invalidManifest('it lists no state.db');
  return value as BackupManifest;
}
