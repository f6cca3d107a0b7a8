/** status.json in the state dir: what `outpost-agent status` prints about the running agent. */
import type { FirmwareInfo } from '@outpost/protocol';
import { readJsonIfExists, writeJsonAtomic } from '../identity/atomic-file.js';
import type { OtaSummary } from '../ota/ota-engine.js';

export interface AgentStatusFile {
  readonly v: 1;
  readonly pid: number;
  readonly state: 'starting' | 'connected' | 'disconnected' | 'stopped';
  readonly deviceId: string;
  readonly agentVersion: string;
  readonly protocolVersion: 1;
  readonly startedAt: number;
  readonly updatedAt: number;
  readonly mqttUrl: string;
  readonly outbox: {
    readonly depth: number;
    readonly bytes: number;
    /** Batches lost to the byte bound (or damaged on disk), lifetime of the outbox directory. */
    readonly dropped: number;
    /** Samples in the batches lost to the byte bound. */
    readonly droppedSamples?: number;
    readonly refused: number;
    /** The outbox's byte bound (agent.json `outbox.maxBytes`, `--outbox-max-bytes`). */
    readonly maxBytes?: number;
    readonly oldestSeq?: number;
  };
  readonly lastSentAt?: number;
  readonly certificate: { readonly serial: string; readonly notAfter: number; readonly renewAt: number };
  readonly config: { readonly origin: string; readonly version?: number };
  readonly trustVersion?: number;
  readonly lastError?: { readonly code: string; readonly message: string; readonly at: number };
  /** What OTA installed last (DeviceStatus `firmware`). */
  readonly firmware?: FirmwareInfo;
  /** The OTA job in hand or last finished. */
  readonly ota?: OtaSummary;
}

export async function writeStatusFile(file: string, status: AgentStatusFile): Promise<void> {
  await writeJsonAtomic(file, status, 0o644);
}

export async function readStatusFile(file: string): Promise<AgentStatusFile | undefined> {
  const raw = await readJsonIfExists(file);
  if (raw === undefined) return undefined;
  return raw as AgentStatusFile;
}
