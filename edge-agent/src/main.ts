#!/usr/bin/env node
/** The `outpost-agent` bin: wires the real data path and process I/O into the CLI. */
import { createRequire } from 'node:module';
import { openOutbox } from './outbox/index.js';
import { createPipeline, validatePipelineConfig } from './processing/index.js';
import { runCli } from './cli/run-cli.js';
import type { DataPath } from './runtime/pipeline-port.js';

const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

const dataPath: DataPath = {
  openOutbox: (options) => openOutbox(options),
  createPipeline: (config, deps) => createPipeline(config, deps),
  validatePipelineConfig: (config) => validatePipelineConfig(config),
};

const code = await runCli(process.argv.slice(2), {
  io: { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) },
  dataPath,
  agentVersion: version,
  signals: process,
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
});
// Everything the command opened is closed by now; exit at once with its code (stdout/stderr are synchronous for files and pipes).
process.exit(code);
