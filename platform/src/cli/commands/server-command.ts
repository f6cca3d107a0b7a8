import type { CommandSpec } from '../command.js';
import { logFormatFlag } from '../common-flags.js';
import { isLogFormat } from '../../server/log-format.js';

export const serverCommand: CommandSpec = {
  name: 'server',
  summary: 'Run the whole platform in one process',
  description:
    'Runs the platform (operator HTTP listener, device HTTPS listener, MQTT broker, …) until SIGTERM or SIGINT. ' +
    'With no configuration it runs on embedded single-machine defaults.',
  flags: {
    config: { type: 'string', valueName: 'FILE', description: 'configuration file with the same keys as the environment variables below' },
    role: { type: 'string', valueName: 'ROLE', description: 'what this node runs: all (default, one process), broker or control (cluster nodes; see OUTPOST_ROLE)' },
    ...logFormatFlag,
  },
  examples: [
    'outpost server',
    'OUTPOST_HTTP_PORT=9090 outpost server --config /etc/outpost/outpost.json',
    'OUTPOST_DATABASE_URL=postgres://outpost@db/outpost OUTPOST_REDIS_URL=redis://cache OUTPOST_INFLUX_URL=http://influx:8086 outpost server --role broker',
  ],
  async extraHelp() {
    // Loaded on demand so the operator commands do not pay for the configuration schema.
    const { describeConfig } = await import('../../config/describe-config.js');
    return describeConfig('text').trimEnd().split('\n');
  },
  async run(ctx) {
    // Loaded on demand: the server pulls in fastify, aedes, sqlite… which no other command needs.
    const runServer = ctx.io.runServer ?? (await import('../../server/run-server.js')).runServer;
    const configFile = ctx.string('config');
    const role = ctx.string('role');
    const logFormat = ctx.string('log-format');
    return runServer({
      ...(configFile === undefined ? {} : { configFile }),
      ...(role === undefined ? {} : { role }),
      ...(logFormat !== undefined && isLogFormat(logFormat) ? { logFormat } : {}),
      env: ctx.io.env,
      stdout: ctx.io.stdout,
      stderr: ctx.io.stderr,
    });
  },
};
