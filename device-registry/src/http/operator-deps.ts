import type { AuditPort, AuthPort } from '@outpost/kernel';
import type { RegistryServices } from '../services/registry-services.js';

/** What every operator-route module receives. */
export interface OperatorRouteDeps {
  readonly services: RegistryServices;
  readonly auth: AuthPort;
  readonly audit: AuditPort;
  readonly now: () => number;
  /** `https://{publicHost}:{device port}`: where agents enroll. */
  readonly deviceApiUrl: () => string;
}
