/**
 * What the agent keeps of OTA in its state dir, every file written atomically
 * (identity/atomic-file.ts), so each step resumes after a restart or a power cut:
 *
 *   ota/job.json         the job in hand and how far it got (OtaRecord), terminal outcomes included
 *                        until they were reported (and then kept, so a re-delivered job is answered
 *                        again, never run twice)
 *   ota/installed.json   what OTA installed, per artifact name: version, securityVersion, slot
 *   ota/staging/         the download of the job in hand (`{jobId}.part`); nothing else survives
 */
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OutpostError, validatePayload } from '@outpost/protocol';
import type { ErrorInfo, ManifestType, OtaJob, OtaState } from '@outpost/protocol';
import { readJsonIfExists, writeJsonAtomic } from '../identity/atomic-file.js';

/** Where a job stands. `confirming`: an agent self-update restarted into its new version. */
export type OtaPhase = 'queued' | 'downloading' | 'installing' | 'activating' | 'confirming' | 'health-checking' | 'done';

export interface OtaOutcome {
  readonly state: Extract<OtaState, 'succeeded' | 'failed' | 'rolled-back'>;
  readonly error?: ErrorInfo;
  readonly at: number;
}

export interface OtaRecord {
  readonly v: 1;
  readonly job: OtaJob;
  readonly phase: OtaPhase;
  readonly receivedAt: number;
  /** The slot installed into, and the one `current` pointed at before (undefined: none). */
  readonly targetSlot?: 'a' | 'b';
  readonly previousSlot?: 'a' | 'b';
  /** When `current` was switched to the new version (confirmDeadlineS counts from here). */
  readonly activatedAt?: number;
  readonly outcome?: OtaOutcome;
  /** The outcome reached the platform (its PUBACK came). */
  readonly reported?: boolean;
}

export interface InstalledEntry {
  readonly name: string;
  readonly type: ManifestType;
  readonly version: string;
  readonly securityVersion?: number;
  readonly slot?: 'a' | 'b';
  /** The manifest's activate command, run again when a later version is rolled back to this one. */
  readonly activate?: { readonly cmd: string; readonly timeoutS: number };
  readonly jobId: string;
  readonly at: number;
}

export interface InstalledFile {
  readonly v: 1;
  readonly entries: Readonly<Record<string, InstalledEntry>>;
  /** The name of the entry installed last (DeviceStatus `firmware`). */
  readonly last?: string;
}

export interface OtaStore {
  readonly dir: string;
  readonly stagingDir: string;
  stagingFile(jobId: string): string;
  readRecord(): Promise<OtaRecord | undefined>;
  writeRecord(record: OtaRecord): Promise<void>;
  readInstalled(): Promise<InstalledFile>;
  writeInstalled(entry: InstalledEntry): Promise<void>;
  /** Removes every staging file but those of `keepJobId`. */
  cleanStaging(keepJobId?: string): Promise<string[]>;
}

function isRecord(raw: unknown): raw is OtaRecord {
  if (typeof raw !== 'object' || raw === null) return false;
  const r = raw as Record<string, unknown>;
  return r['v'] === 1 && typeof r['phase'] === 'string' && typeof r['receivedAt'] === 'number' && validatePayload('OtaJob', r['job']).ok;
}

export function createOtaStore(stateDir: string): OtaStore {
  const dir = join(stateDir, 'ota');
  const stagingDir = join(dir, 'staging');
  const recordFile = join(dir, 'job.json');
  const installedFile = join(dir, 'installed.json');
  let installedChain: Promise<unknown> = Promise.resolve();

  async function readInstalled(): Promise<InstalledFile> {
    const raw = (await readJsonIfExists(installedFile)) as InstalledFile | undefined;
    if (raw === undefined) return { v: 1, entries: {} };
    if (raw.v !== 1 || typeof raw.entries !== 'object' || raw.entries === null) {
      throw new OutpostError('AGENT_STATE_INVALID', `${installedFile} is not the agent's installed-versions file`);
    }
    return raw;
  }

  return {
    dir,
    stagingDir,
    stagingFile: (jobId) => join(stagingDir, `${jobId}.part`),
    async readRecord() {
      const raw = await readJsonIfExists(recordFile);
      if (raw === undefined) return undefined;
      if (!isRecord(raw)) throw new OutpostError('AGENT_STATE_INVALID', `${recordFile} is not an OTA job record`);
      return raw;
    },
    async writeRecord(record) {
      await writeJsonAtomic(recordFile, record, 0o600);
    },
    readInstalled,
    async writeInstalled(entry) {
      const next = installedChain.then(async () => {
        const file = await readInstalled();
        await writeJsonAtomic(installedFile, { v: 1, entries: { ...file.entries, [entry.name]: entry }, last: entry.name } satisfies InstalledFile, 0o644);
      });
      installedChain = next.catch(() => undefined);
      await next;
    },
    async cleanStaging(keepJobId) {
      await mkdir(stagingDir, { recursive: true, mode: 0o700 });
      const keep = keepJobId === undefined ? undefined : `${keepJobId}.part`;
      const removed: string[] = [];
      for (const name of await readdir(stagingDir)) {
        if (name === keep) continue;
        await rm(join(stagingDir, name), { recursive: true, force: true });
        removed.push(name);
      }
      return removed;
    },
  };
}
