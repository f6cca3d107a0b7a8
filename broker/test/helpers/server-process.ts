/**
 * The platform (registry + broker) as a separate process, for the SIGKILL test: run with
 * `node dist/test/helpers/server-process.js DIR [ENV_JSON] [BROKER_OPTIONS_JSON]`; prints one
 * JSON line with its URLs once ready, and runs until killed. The platform is the shared
 * startPlatform harness, in DIR (kept: the test restarts on it).
 */
import { createRegistryPart } from '@outpost/device-registry';
import { startPlatform } from '@outpost/e2e';
import type { PartFactory } from '@outpost/kernel';
import { createBrokerPart, type BrokerPart } from '../../src/index.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: server-process.js DIR [ENV_JSON] [BROKER_OPTIONS_JSON]');
const env = JSON.parse(process.argv[3] ?? '{}') as Record<string, string>;
let broker: BrokerPart | undefined;
// argv[4]: broker part options as JSON (e.g. an extra spool consumer a test reads).
const brokerOptions = JSON.parse(process.argv[4] ?? '{}') as Parameters<typeof createBrokerPart>[0];
const brokerFactory: PartFactory = (deps) => (broker = createBrokerPart(brokerOptions)(deps));
const { platform, operatorUrl } = await startPlatform({ parts: [createRegistryPart(), brokerFactory], dataDir: dir, env, logLevel: 'warn', logCopy: process.stderr });
const ready = platform.readiness();
process.stdout.write(`${JSON.stringify({ operatorUrl, deviceUrl: platform.deviceUrl(), mqttUrl: broker?.mqttUrl(), ready })}\n`);
