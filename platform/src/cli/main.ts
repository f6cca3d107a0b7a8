#!/usr/bin/env node
import { homedir } from 'node:os';
import type { Writable } from 'node:stream';
import { runCli } from './run-cli.js';

// The `outpost` executable: the only CLI file that touches the real process.

function flushed(stream: Writable): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write('', () => resolve());
  });
}

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  homeDir: homedir(),
});
// Piped output is written asynchronously: let it drain before exiting.
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
