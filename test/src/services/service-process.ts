import { spawn, type ChildProcess } from 'node:child_process';
import type { OutputTail } from './output-tail.js';

/** How long to wait for the exit after SIGKILL before giving up. */
const KILL_TIMEOUT_MS = 5_000;

export interface ProcessSpec {
  readonly executable: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** Environment variables with these prefixes are not passed on. */
  readonly dropEnvPrefixes: readonly string[];
}

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

export interface RunningProcess {
  readonly child: ChildProcess;
  /** Settles once the process has exited and its output is read; never rejects. */
  readonly exited: Promise<Exit>;
  /** Set once `exited` has settled. */
  exit: Exit | undefined;
}

/** Spawns the process, feeding its stdout and stderr into `tail`. */
export function launchProcess(spec: ProcessSpec, tail: OutputTail): RunningProcess {
  const child = spawn(spec.executable, [...spec.args], {
    cwd: spec.cwd,
    env: childEnv(spec.dropEnvPrefixes),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => tail.push('stdout', chunk));
  child.stderr?.on('data', (chunk: Buffer) => tail.push('stderr', chunk));
  const running: RunningProcess = {
    child,
    exit: undefined,
    exited: new Promise<Exit>((resolve) => {
      // 'close' comes after 'exit' once stdout/stderr are drained, so the tail is complete.
      child.once('close', (code, signal) => resolve({ code, signal }));
      // A process that could not be spawned emits 'error' and may never emit 'close'.
      child.on('error', (error) => {
        if (child.pid === undefined) resolve({ code: null, signal: null, error });
      });
    }).then((exit) => {
      running.exit = exit;
      return exit;
    }),
  };
  return running;
}

/** The parent's environment less the variables that would override the service's config. */
function childEnv(dropPrefixes: readonly string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!dropPrefixes.some((prefix) => key.startsWith(prefix))) env[key] = value;
  }
  return env;
}

export function describeExit(exit: Exit): string {
  if (exit.error) return `could not be spawned (${exit.error.message})`;
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${String(exit.code)}`;
}

/**
 * SIGTERM, then SIGKILL after `graceMs` (at once when 0). Resolves with the exit, or
 * undefined when the process survives even SIGKILL for KILL_TIMEOUT_MS.
 */
export async function terminate(proc: RunningProcess, graceMs: number): Promise<Exit | undefined> {
  if (proc.exit) return proc.exit;
  if (graceMs > 0) {
    proc.child.kill('SIGTERM');
    const exit = await exitWithin(proc, graceMs);
    if (exit) return exit;
  }
  proc.child.kill('SIGKILL');
  return await exitWithin(proc, KILL_TIMEOUT_MS);
}

/** The exit, or undefined when the process is still alive after `ms`. */
async function exitWithin(proc: RunningProcess, ms: number): Promise<Exit | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([proc.exited, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
