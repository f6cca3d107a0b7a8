export { createPart, createRegistryPart, PART_NAME, type RegistryPartOptions } from './registry-part.js';
export type {
  CertificateCheck,
  CertificateRefusal,
  CommandOutcome,
  CommandPort,
  CommandState,
  DeviceConfigPort,
  DeviceLifecycle,
  DeviceStatusUpdate,
  DeviceSummary,
  RegistryPort,
} from './ports/registry-port.js';
