import type { FastifyRequest } from 'fastify';

export type AuditOutcome = 'success' | 'failure';

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  status: number | null;
  errorCode: string | null;
  ip: string | null;
}

export type AuditRecord = Omit<AuditEntry, 'id' | 'at' | 'status' | 'errorCode' | 'ip'> & {
  status?: number;
  errorCode?: string;
  ip?: string;
  at?: number;
};

/**
 * The port parts use (provided by the platform): every mutating HTTP call is audited by the
 * platform's hook; `annotate` names its target (e.g. the id a POST created) or overrides the
 * derived action; `record` audits what no HTTP call carries (e.g. a background job).
 */
export interface AuditPort {
  record(entry: AuditRecord): Promise<void>;
  annotate(request: FastifyRequest, note: { action?: string; target?: string }): void;
}
