import { parseDuration } from '@outpost/protocol';
import type { CommandSpec } from '../command.js';
import { logFormatFlag } from '../common-flags.js';
import { isLogFormat } from '../../server/log-format.js';

export const demoCommand: CommandSpec = {
  name: 'demo',
  summary: 'Run the platform with a simulated fleet of real agents (what npm start runs)',
  description:
    'Runs `outpost server` (same configuration) plus N real outpost-agent processes with simulated cold-room sensors ' +
    '(temperature and humidity on a daily cycle with noise; demo-01 drifts warm and fires the alert) in group "demo", and the demo alert rules. ' +
    'OTA is ready to try: a signing key (DATA_DIR/demo/ota/signing-key.pem, no passphrase, 0600) made before the agents start and registered as the TrustSet, ' +
    'so every demo device trusts it; a signed release of a small app (demo-app 1.1.0) uploaded; and a draft rollout of it to the demo group, ' +
    'which the banner tells how to start (outpost rollouts resume ID, or Resume on its dashboard page). ' +
    'The banner names the dashboard (fleet page) and the admin credentials. OUTPOST_INFLUX_URL sends the telemetry to InfluxDB. ' +
    'Agents keep their state under DATA_DIR/demo/agents, so a second start reuses the fleet, the key, the release and the rollout. ' +
    'Ctrl-C stops the agents, then the platform.',
  flags: {
    devices: { type: 'string', valueName: 'N', description: 'how many simulated devices (1–100)', default: '25' },
    interval: { type: 'string', valueName: 'DURATION', description: 'sampling interval of the simulated sensors (at least 100ms)', default: '2s' },
    'reset-admin-password': { type: 'boolean', description: "set a new admin password (OUTPOST_ADMIN_PASSWORD's, else a generated one) and show it" },
    config: { type: 'string', valueName: 'FILE', description: 'configuration file, as for outpost server' },
    'rollout-soak': { type: 'string', valueName: 'DURATION', description: 'soak of each wave of the demo rollout (waves 10%, 50%, 100%), when it is first created', default: '30s' },
    'wait-online': { type: 'string', valueName: 'DURATION', description: 'how long to wait for the agents to come online before the banner', default: '30s' },
    ...logFormatFlag,
  },
  examples: ['outpost demo', 'outpost demo --devices 5 --interval 1s --rollout-soak 5s', 'OUTPOST_HTTP_PORT=9090 outpost demo'],
  async run(ctx) {
    const devicesText = ctx.string('devices') ?? '25';
    const devices = Number(devicesText);
    if (!/^\d+$/.test(devicesText) || devices < 1 || devices > 100) throw ctx.usageError(`--devices must be a whole number from 1 to 100, not ${JSON.stringify(devicesText)}`);
    const interval = parseDuration(ctx.string('interval') ?? '2s');
    if (!interval.ok) throw ctx.usageError(`invalid --interval: ${interval.reason}`);
    if (interval.value < 100) throw ctx.usageError('--interval must be at least 100ms');
    const waitOnline = parseDuration(ctx.string('wait-online') ?? '30s');
    if (!waitOnline.ok) throw ctx.usageError(`invalid --wait-online: ${waitOnline.reason}`);
    const soakText = ctx.string('rollout-soak') ?? '30s';
    const soak = parseDuration(soakText);
    if (!soak.ok) throw ctx.usageError(`invalid --rollout-soak: ${soak.reason}`);
    const logFormat = ctx.string('log-format');
    // Loaded on demand: the demo pulls in the whole server.
    const { runDemo } = await import('../../demo/run-demo.js');
    const configFile = ctx.string('config');
    return runDemo({
      devices,
      intervalMs: interval.value,
      resetAdminPassword: ctx.boolean('reset-admin-password'),
      onlineTimeoutMs: waitOnline.value,
      rollout: { waves: [10, 50, 100], soak: soakText },
      ...(configFile === undefined ? {} : { configFile }),
      ...(logFormat !== undefined && isLogFormat(logFormat) ? { logFormat } : {}),
      env: ctx.io.env,
      stdout: ctx.io.stdout,
      stderr: ctx.io.stderr,
    });
  },
};
