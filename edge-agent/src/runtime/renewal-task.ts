/**
 * The periodic renewal check of the running agent: over mTLS once 2/3 of the lifetime passed,
 * signed by the device key once expired (within the grace period). A failure is noted
 * (DeviceStatus.lastError; past the grace the platform answers RENEW_GRACE_EXPIRED: enroll again) and retried at the next check; success hands over the new identity
 * (the link then reconnects with the new certificate).
 */
import { renewCertificate, renewalMode } from '../identity/renewal.js';
import type { DeviceIdentity, StatePaths } from '../identity/state-dir.js';

export interface RenewalTaskDeps {
  readonly paths: StatePaths;
  readonly graceMs: number;
  readonly now: () => number;
  readonly log: { info(o: object, m: string): void; warn(o: object, m: string): void };
  identity(): DeviceIdentity;
  stopping(): boolean;
  noteError(code: string, message: string): void;
  onRenewed(identity: DeviceIdentity): void;
}

export function createRenewalTask(deps: RenewalTaskDeps): () => Promise<void> {
  let renewing = false;
  return async () => {
    if (renewing || deps.stopping()) return;
    const identity = deps.identity();
    const mode = renewalMode(identity, deps.now(), deps.graceMs);
    if (mode === 'none') return;
    renewing = true;
    try {
      // Past the grace period we still ask (the platform's grace is its own setting); it answers RENEW_GRACE_EXPIRED if so.
      const renewed = await renewCertificate(deps.paths, identity, mode === 'mtls' ? 'mtls' : 'signed', deps.now());
      deps.log.info({ serial: renewed.serial, notAfter: new Date(renewed.notAfter).toISOString(), mode }, 'certificate renewed');
      deps.onRenewed(renewed);
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown };
      deps.noteError(typeof e.code === 'string' ? e.code : 'AGENT_RENEW_FAILED', String(e.message));
      deps.log.warn({ err: String(e.message), mode }, 'certificate renewal failed; will retry');
    } finally {
      renewing = false;
    }
  };
}
