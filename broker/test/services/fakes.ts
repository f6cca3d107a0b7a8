/** Small in-memory stand-ins for the ports the services use (no library mocks). */
import type { CertificateCheck, RegistryPort } from '@outpost/kernel';
import type { RegistryEvent } from '@outpost/protocol';
import { Subject } from 'rxjs';
import type { Identity } from '../../src/domain/identity.js';
import type { BrokerMetrics } from '../../src/ports/broker-metrics.js';
import type { LiveSession } from '../../src/ports/live-sessions.js';
import type { Log } from '../../src/ports/log.js';
import type { OutboundMessage } from '../../src/ports/mqtt-hooks.js';

export class FakeRegistry {
  readonly events = new Subject<RegistryEvent>();
  answers = new Map<string, CertificateCheck>();
  revokedSerials = new Set<string>();
  checks = 0;
  /** Runs while a check is in flight (to emit an event in the middle of it). */
  duringCheck: (() => void) | undefined;
  failing = false;
  readonly statuses: { deviceId: string; online: boolean }[] = [];
  readonly marked: { id: string; state: string }[] = [];
  readonly reported: string[] = [];

  port(): RegistryPort {
    return {
      lookup: async () => undefined,
      deviceIds: async () => [],
      groupExists: async () => false,
      isSerialRevoked: async (serial) => this.revokedSerials.has(serial),
      checkCertificate: async (deviceId, serial) => {
        this.checks += 1;
        await Promise.resolve();
        this.duringCheck?.();
        if (this.failing) throw new Error('database is locked');
        return this.answers.get(`${deviceId}/${serial}`) ?? { ok: false, code: 'DEVICE_UNKNOWN', reason: `no device ${deviceId}` };
      },
      events: this.events.asObservable(),
      markSeen: async () => undefined,
      recordStatus: async (deviceId, status) => {
        this.statuses.push({ deviceId, online: status.online });
      },
      configs: { desiredConfig: async () => undefined, recordReported: async (deviceId) => void this.reported.push(deviceId) },
      commands: {
        pendingCommands: async () => [],
        markCommand: async (_deviceId, id, state) => {
          this.marked.push({ id, state });
          return true;
        },
      },
    };
  }

  admit(deviceId: string, serial: string): void {
    this.answers.set(`${deviceId}/${serial}`, { ok: true, device: { id: deviceId, status: 'active', group: 'g', tags: {} } });
  }
}

export class FakeSession implements LiveSession {
  readonly connectedAt = 0;
  closeReason: string | undefined;
  closeCode: string | undefined;
  closed = false;
  readonly subscriptions = new Set<string>();

  constructor(
    readonly identity: Identity,
    readonly clientId = identity.kind === 'device' ? identity.deviceId : `integration:${identity.name}`,
  ) {}

  close(reason: string, code = 'broker'): void {
    if (this.closeReason === undefined) {
      this.closeReason = reason;
      this.closeCode = code;
    }
    this.closed = true;
  }

  isSubscribed(topic: string): boolean {
    return this.subscriptions.has(topic);
  }
}

export class CountingMetrics implements BrokerMetrics {
  readonly counts = new Map<string, number>();
  #inc(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
  connected(kind: string): void {
    this.#inc(`connected:${kind}`);
  }
  disconnected(kind: string, reason: string): void {
    this.#inc(`disconnected:${kind}:${reason}`);
  }
  authFailure(reason: string): void {
    this.#inc(`auth:${reason}`);
  }
  handshakeRefused(scope: string): void {
    this.#inc(`handshake-refused:${scope}`);
  }
  packetRefused(code: string): void {
    this.#inc(`packet:${code}`);
  }
  aclRefusal(operation: string, reason: string): void {
    this.#inc(`acl:${operation}:${reason}`);
  }
  messageIn(kind: string): void {
    this.#inc(`in:${kind}`);
  }
  messageOut(): void {
    this.#inc('out');
  }
  validationFailure(reason: string): void {
    this.#inc(`invalid:${reason}`);
  }
  rateLimited(by: string, action: string): void {
    this.#inc(`rate:${by}:${action}`);
  }
  appendLatency(): void {
    this.#inc('append');
  }
}

export class RecordingOutbound {
  readonly published: OutboundMessage[] = [];
  async publish(message: OutboundMessage): Promise<void> {
    this.published.push(message);
  }
}

export interface LoggedLine {
  level: string;
  data: unknown;
  msg: string | undefined;
}

/** A logger that keeps its lines (the platform's is pino; only the calls matter here). */
export function recordingLog(lines: LoggedLine[] = []): Log & { lines: LoggedLine[] } {
  const at =
    (level: string) =>
    (data: unknown, msg?: string): void => {
      lines.push({ level, data, msg: typeof data === 'string' ? data : msg });
    };
  const log = { lines, info: at('info'), warn: at('warn'), error: at('error'), debug: at('debug'), trace: at('trace'), fatal: at('fatal'), level: 'debug', silent: () => undefined, child: () => log };
  return log as unknown as Log & { lines: LoggedLine[] };
}
