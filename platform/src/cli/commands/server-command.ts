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
    role: { type: 'string', description: 'the node role in a scaled-out deployment (not supported yet)' },
    ...logFormatFlag,
  },
  examples: ['outpost server', 'OUTPOST_HTTP_PORT=9090 outpost server --config /etc/outpost/outpost.json'],
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
