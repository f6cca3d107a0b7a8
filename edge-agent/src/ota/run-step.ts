/**
 * Runs a manifest's command (activate, health check) or a signed script: `/bin/sh -c CMD` in
 * its own process group (the agent's environment; the working directory is the new slot), killed whole (SIGKILL) when the timeout passes, output kept short for
 * the log and the error message.
 */

export interface StepResult {
  readonly ok: boolean;
  readonly code: number | null;
  readonly timedOut: boolean;
  readonly output: string;
}

export interface StepOptions {
  readonly cwd: string;
  readonly timeoutMs: number;
  /** Run this file (with `args`) instead of `sh -c`. */
  readonly file?: string;
  readonly args?: readonly string[];
}

const MAX_OUTPUT = 4096;

export async function runStep(commandLine: string, options: StepOptions): Promise<StepResult> {
  // Loaded on first use: most devices never start a process, and node:child_process costs memory
  // on every one that does not (issue 12).
  const { spawn } = await import('node:child_process');
  return new Promise((resolve) => {
    const [exe, args] = options.file === undefined ? ['/bin/sh', ['-c', commandLine]] : [options.file, [...(options.args ?? [])]];
    const child = spawn(exe, args, {
      cwd: options.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    let timedOut = false;
    const keep = (b: Buffer): void => {
      if (output.length < MAX_OUTPUT) output = (output + b.toString('utf8')).slice(0, MAX_OUTPUT);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, options.timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, code: null, timedOut: false, output: `${output}${err.message}` });
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ ok: code === 0 && !timedOut, code, timedOut, output: output.trim() });
    });
  });
}

/** One line for an error message: how the step ended and the tail of what it printed. */
export function describeStep(what: string, result: StepResult, timeoutMs: number): string {
  const how = result.timedOut ? `did not finish within ${Math.round(timeoutMs / 1000)} s` : `exited with ${result.code ?? 'no code'}`;
  const tail = result.output === '' ? '' : `: ${result.output.slice(-400)}`;
  return `${what} ${how}${tail}`.slice(0, 1024);
}
