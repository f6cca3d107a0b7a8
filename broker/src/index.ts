import type { PartFactory } from '@outpost/platform';
import { createBrokerPart } from './broker-part.js';

export { createBrokerPart, PART_NAME, type BrokerPart } from './broker-part.js';
export type { BrokerPartOptions } from './broker-options.js';
export type { DeviceChannel } from './ports/device-channel.js';
export type { DeviceInbox, InboxMessage, PresenceChange } from './ports/device-inbox.js';
export type { IngestSink } from './ports/ingest-sink.js';
export type { MqttListenerPort } from './ports/mqtt-listener.js';

/** The factory `outpost server` loads (SPEC "Composition"). */
export const createPart: PartFactory = createBrokerPart();
export { createAlertsModule, alertsMigrations, type AlertsModule, type AlertsDeps, type AlertsOptions } from './alerts/index.js';
