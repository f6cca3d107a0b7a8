import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { CliInput, CliIo } from '../../src/cli/cli-io.js';
import type { CommandSpec } from '../../src/cli/command.js';
import { runCli } from '../../src/cli/run-cli.js';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      chunks.push(typeof chunk === 'string' ? chunk : chunk.toString('utf8'));
      callback();
    },
  });
  return { stream, text: () => chunks.join('') };
}

/** A throwaway home directory per test; `cleanup()` removes it. */
export async function makeHome(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-cli-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface RunOptions {
  readonly home: string;
  readonly env?: Record<string, string | undefined>;
  readonly stdin?: CliInput;
  readonly fetch?: typeof fetch;
  readonly now?: () => number;
  readonly requestTimeoutMs?: number;
  readonly runServer?: CliIo['runServer'];
  /** A command tree other than the real one. */
  readonly root?: CommandSpec;
}

/** Runs `outpost ...argv` in-process with captured output. */
export async function outpost(argv: readonly string[], options: RunOptions): Promise<CliResult> {
  const stdout = capture();
  const stderr = capture();
  const code = await runCli(argv, {
    env: options.env ?? {},
    stdout: stdout.stream,
    stderr: stderr.stream,
    homeDir: options.home,
    ...(options.stdin === undefined ? {} : { stdin: options.stdin }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    ...(options.runServer === undefined ? {} : { runServer: options.runServer }),
  }, options.root);
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** A `fetch` that fails the test if the CLI makes any request. */
export const noFetch: typeof fetch = () => Promise.reject(new Error('the CLI must not make a request here'));

/** Lines of output without the final newline. */
export function lines(text: string): string[] {
  return text === '' ? [] : text.replace(/\n$/, '').split('\n');
}
