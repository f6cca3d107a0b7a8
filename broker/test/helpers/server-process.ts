/**
 * The platform (registry + broker) as a separate process, for the SIGKILL test: run with
 * `node dist/test/helpers/server-process.js DIR [ENV_JSON]`; prints one JSON line with its URLs once
 * ready, and runs until killed.
 */
import { PassThrough } from 'node:stream';
import { createRegistryPart } from '@outpost/device-registry';
import { loadConfig, Platform } from '@outpost/e2e';
import type { PartFactory } from '@outpost/kernel';
import { pino } from 'pino';
import { createBrokerPart, type BrokerPart } from '../../src/index.js';
import { testEnv } from './broker-platform.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: server-process.js DIR [ENV_JSON]');
const extra = JSON.parse(process.argv[3] ?? '{}') as Record<string, string>;
const loaded = loadConfig({ env: testEnv(dir, extra), cwd: dir });
if (!loaded.ok) throw new Error(loaded.errors.join('; '));
let broker: BrokerPart | undefined;
// argv[4]: broker part options as JSON (e.g. an extra spool consumer a test reads).
const brokerOptions = JSON.parse(process.argv[4] ?? '{}') as Parameters<typeof createBrokerPart>[0];
const brokerFactory: PartFactory = (deps) => (broker = createBrokerPart(brokerOptions)(deps));
const platform = await Platform.create({
  config: loaded.config,
  log: pino({ level: 'warn' }, process.stderr),
  secretKey: Buffer.alloc(32, 7),
  parts: [createRegistryPart(), brokerFactory],
  version: '0.0.0-test',
  stdout: new PassThrough(),
});
const { operatorUrl } = await platform.start();
const ready = platform.readiness();
process.stdout.write(`${JSON.stringify({ operatorUrl, deviceUrl: platform.deviceUrl(), mqttUrl: broker?.mqttUrl(), ready })}\n`);
