import type { Writable } from 'node:stream';
import { CliError } from './cli-error.js';
import type { CliInput } from './cli-io.js';

const MAX_SECRET_BYTES = 64 * 1024;

/** The first line of a piped stdin (without its line end); stops reading at the first newline. */
export function readFirstLine(stdin: CliInput): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error?: Error): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onError);
      stdin.pause();
      if (error !== undefined) reject(error);
      else resolve(text.split(/\r?\n/)[0] ?? '');
    };
    const onData = (chunk: Buffer | string): void => {
      text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      if (text.includes('\n')) finish();
      else if (text.length > MAX_SECRET_BYTES) finish(new CliError('CLI_FAILED', 'stdin: the first line is too long for a password'));
    };
    const onEnd = (): void => finish();
    const onError = (err: Error): void => finish(new CliError('CLI_FAILED', `cannot read stdin: ${err.message}`, { cause: err }));
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.on('error', onError);
    stdin.resume();
  });
}

/** Prompts on stderr and reads a line from the terminal without echoing it. Ctrl-C cancels (exit 130). */
export function promptHidden(stdin: CliInput, stderr: Writable, prompt: string): Promise<string> {
  stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let value: string[] = [];
    const wasRaw = stdin.isRaw === true;
    stdin.setRawMode?.(true);
    const finish = (error?: Error): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.setRawMode?.(wasRaw);
      stdin.pause();
      stderr.write('\n');
      if (error !== undefined) reject(error);
      else resolve(value.join(''));
    };
    const onData = (chunk: Buffer | string): void => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') return finish(new CliError('CLI_CANCELLED', 'cancelled', { exitCode: 130 }));
        if (ch === '\u007f' || ch === '\b') value = value.slice(0, -1);
        else if (ch >= ' ') value.push(ch);
      }
    };
    const onEnd = (): void => finish();
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    stdin.resume();
  });
}

/**
 * A secret typed by the user: prompted without echo on a terminal, else the
 * first line of stdin. Undefined when there is no stdin or it is empty.
 */
export async function readSecret(
  stdin: CliInput | undefined,
  stderr: Writable,
  prompt: string,
  options: { confirm?: boolean } = {},
): Promise<string | undefined> {
  if (stdin === undefined) return undefined;
  if (stdin.isTTY !== true) {
    const line = await readFirstLine(stdin);
    return line === '' ? undefined : line;
  }
  const first = await promptHidden(stdin, stderr, prompt);
  if (first === '') return undefined;
  if (options.confirm === true) {
    const second = await promptHidden(stdin, stderr, 'Repeat to confirm: ');
    if (second !== first) throw new CliError('CLI_FAILED', 'the two passwords do not match');
  }
  return first;
}
