/**
 * The agent's state directory (default /var/lib/outpost-agent): what enrollment leaves behind
 * and the running agent keeps. Every file is written atomically (atomic-file.ts). Certificate
 * dates and the serial are read from cert.pem itself, so a crash between writing cert.pem and
 * identity.json can never make them disagree.
 */
import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OutpostError, isDeviceId, validatePayload } from '@outpost/protocol';
import type { EnrollmentAnswer, Limits, TrustSet } from '@outpost/protocol';
import { readJsonIfExists, readTextIfExists, writeFileAtomic, writeJsonAtomic } from './atomic-file.js';

export const DEFAULT_STATE_DIR = '/var/lib/outpost-agent';

export interface StatePaths {
  readonly dir: string;
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
  readonly identity: string;
  readonly trust: string;
  readonly appliedConfig: string;
  readonly status: string;
  readonly outbox: string;
  readonly defaultConfig: string;
  /** The launcher's count of starts not yet healthy; the agent writes 0 once connected. */
  readonly bootAttempts: string;
}

export function statePaths(dir: string): StatePaths {
  return Object.freeze({
    dir,
    key: join(dir, 'key.pem'),
    cert: join(dir, 'cert.pem'),
    ca: join(dir, 'ca.pem'),
    identity: join(dir, 'identity.json'),
    trust: join(dir, 'trust.json'),
    appliedConfig: join(dir, 'desired-config.json'),
    status: join(dir, 'status.json'),
    outbox: join(dir, 'outbox'),
    defaultConfig: join(dir, 'agent.json'),
    bootAttempts: join(dir, 'boot-attempts'),
  });
}

interface IdentityFile {
  readonly v: 1;
  readonly deviceId: string;
  readonly mqttUrl: string;
  readonly deviceApiUrl: string;
  readonly limits: Limits;
  readonly enrolledAt: number;
}

function isIdentityFile(raw: unknown): raw is IdentityFile {
  if (typeof raw !== 'object' || raw === null) return false;
  const file = raw as Record<string, unknown>;
  return (
    file['v'] === 1 &&
    isDeviceId(file['deviceId']) &&
    typeof file['mqttUrl'] === 'string' &&
    typeof file['deviceApiUrl'] === 'string' &&
    typeof file['enrolledAt'] === 'number' &&
    validatePayload('Limits', file['limits']).ok
  );
}

/** The device's identity as the running agent uses it. */
export interface DeviceIdentity {
  readonly deviceId: string;
  readonly keyPem: string;
  readonly certPem: string;
  readonly caPem: string;
  readonly mqttUrl: string;
  readonly deviceApiUrl: string;
  readonly limits: Limits;
  readonly serial: string;
  readonly notBefore: number;
  readonly notAfter: number;
}

export function certificateDates(certPem: string): { serial: string; notBefore: number; notAfter: number } {
  const cert = new X509Certificate(certPem);
  return { serial: cert.serialNumber, notBefore: Date.parse(cert.validFrom), notAfter: Date.parse(cert.validTo) };
}

/**
 * Makes the state dir (keys, certificate, outbox) 0700: created so, and an existing dir that
 * group or others may enter is tightened. Answers the looser mode it had, if any.
 */
export async function ensurePrivateStateDir(paths: StatePaths): Promise<{ readonly loosenedMode?: number }> {
  await mkdir(paths.dir, { recursive: true, mode: 0o700 });
  const info = await stat(paths.dir);
  if (!info.isDirectory()) throw new OutpostError('AGENT_STATE_INVALID', `${paths.dir} is not a directory`);
  const mode = info.mode & 0o7777;
  if ((mode & 0o077) === 0) return {};
  await chmod(paths.dir, mode & 0o7700);
  return { loosenedMode: mode };
}

/** Whether the state dir holds an enrollment (identity.json). */
export async function isEnrolled(paths: StatePaths): Promise<boolean> {
  return (await readTextIfExists(paths.identity)) !== undefined;
}

export async function loadIdentity(paths: StatePaths): Promise<DeviceIdentity> {
  const raw = await readJsonIfExists(paths.identity);
  if (raw === undefined) {
    throw new OutpostError('AGENT_NOT_ENROLLED', `${paths.dir} holds no enrollment: run outpost-agent enroll --server URL --token T first`);
  }
  if (!isIdentityFile(raw)) throw new OutpostError('AGENT_STATE_INVALID', `${paths.identity} is damaged; enroll again`);
  const file = raw;
  const [keyPem, certPem, caPem] = await Promise.all([readTextIfExists(paths.key), readTextIfExists(paths.cert), readTextIfExists(paths.ca)]);
  if (keyPem === undefined || certPem === undefined || caPem === undefined) {
    throw new OutpostError('AGENT_STATE_INVALID', `${paths.dir} lacks key.pem, cert.pem or ca.pem; enroll again`);
  }
  return { deviceId: file.deviceId, keyPem, certPem, caPem, mqttUrl: file.mqttUrl, deviceApiUrl: file.deviceApiUrl, limits: file.limits, ...certificateDates(certPem) };
}

/**
 * Stores an enroll or renew answer: CA chain, certificate, then identity.json (the commit
 * point of an enrollment). The key was stored before the request was sent.
 */
export async function saveAnswer(paths: StatePaths, answer: EnrollmentAnswer, now: number): Promise<void> {
  await writeFileAtomic(paths.ca, answer.caChain, 0o644);
  await writeFileAtomic(paths.cert, answer.certificate, 0o644);
  const previous = (await readJsonIfExists(paths.identity)) as Partial<IdentityFile> | undefined;
  const file: IdentityFile = {
    v: 1,
    deviceId: answer.deviceId,
    mqttUrl: answer.mqttUrl,
    deviceApiUrl: answer.deviceApiUrl,
    limits: answer.limits,
    enrolledAt: typeof previous?.enrolledAt === 'number' ? previous.enrolledAt : now,
  };
  await writeJsonAtomic(paths.identity, file, 0o644);
}

export async function loadTrustSet(paths: StatePaths): Promise<TrustSet | undefined> {
  const raw = await readJsonIfExists(paths.trust);
  if (raw === undefined) return undefined;
  const checked = validatePayload('TrustSet', raw);
  if (!checked.ok) throw new OutpostError('AGENT_STATE_INVALID', `${paths.trust} is not a TrustSet: ${checked.reason}`);
  return checked.value;
}

export async function saveTrustSet(paths: StatePaths, trust: TrustSet): Promise<void> {
  await writeJsonAtomic(paths.trust, trust, 0o644);
}
