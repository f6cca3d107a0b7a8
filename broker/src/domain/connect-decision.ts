/**
 * The CONNACK of SPEC "MQTT" (3.1.1) for a connection whose certificate the TLS layer has
 * already verified: which client ids an identity may use, and which return code each
 * refusal gets. Pure; the registry's answer comes in as data.
 */
import { isDeviceId } from '@outpost/protocol';
import type { Identity, IdentityRefusal } from './identity.js';

/** MQTT 3.1.1 CONNACK return codes. */
export const CONNACK = Object.freeze({
  ACCEPTED: 0,
  UNACCEPTABLE_PROTOCOL: 1,
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USERNAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
});
export type ConnackRefusalCode = 2 | 3 | 4 | 5;

/** Why a connection is refused; also the `reason` label of the auth-failure metric. */
export type ConnectRefusalReason =
  | IdentityRefusal
  | 'CLIENT_ID_EMPTY'
  | 'CLIENT_ID_MISMATCH'
  | 'DEVICE_UNKNOWN'
  | 'DEVICE_SUSPENDED'
  | 'DEVICE_REVOKED'
  | 'CERT_UNKNOWN'
  | 'CERT_REVOKED'
  | 'CERT_EXPIRED'
  | 'CERT_NOT_YET_VALID'
  | 'REGISTRY_UNAVAILABLE'
  // cluster mode (issue 15): the device's epoch could not be raised in Redis
  | 'REDIS_UNAVAILABLE';

export interface ConnectRefusal {
  readonly reason: ConnectRefusalReason;
  readonly returnCode: ConnackRefusalCode;
  readonly message: string;
}

const RETURN_CODES: Readonly<Record<ConnectRefusalReason, ConnackRefusalCode>> = {
  NO_CERTIFICATE: 5,
  IDENTITY_UNKNOWN: 5,
  CLIENT_ID_EMPTY: 2,
  CLIENT_ID_MISMATCH: 2,
  DEVICE_UNKNOWN: 5,
  DEVICE_SUSPENDED: 5,
  DEVICE_REVOKED: 5,
  CERT_UNKNOWN: 5,
  CERT_REVOKED: 5,
  CERT_EXPIRED: 5,
  CERT_NOT_YET_VALID: 5,
  REGISTRY_UNAVAILABLE: 3,
  REDIS_UNAVAILABLE: 3,
};

export function refusal(reason: ConnectRefusalReason, message: string): ConnectRefusal {
  return { reason, returnCode: RETURN_CODES[reason], message };
}

/**
 * Checks the client id against the identity: a device must use its device id (so one
 * device can never take over another's session); an integration must use an id that is
 * not a device id (e.g. `integration:grafana`), for the same reason. An empty client id
 * is refused with code 2 whatever the clean flag (MQTT-3.1.3-8 for clean session 0;
 * with clean session 1 the id would be assigned, and could not equal the device id).
 */
export function checkClientId(identity: Identity, clientId: string, clean: boolean): ConnectRefusal | undefined {
  if (clientId === '') {
    return refusal('CLIENT_ID_EMPTY', clean ? 'an empty client id is refused: use the device id' : 'an empty client id needs clean session 1 (MQTT-3.1.3-8)');
  }
  if (identity.kind === 'device') {
    if (clientId !== identity.deviceId) {
      return refusal('CLIENT_ID_MISMATCH', `client id ${JSON.stringify(clientId).slice(0, 80)} is not the certificate's device id ${identity.deviceId}`);
    }
    return undefined;
  }
  if (isDeviceId(clientId)) {
    return refusal('CLIENT_ID_MISMATCH', `integration ${identity.name} may not use a device id as client id (${JSON.stringify(clientId)}); use e.g. "integration:${identity.name}"`);
  }
  return undefined;
}
