/**
 * One `outpost-agent` child process of the demo fleet: its output goes line by line into the
 * demo's log at debug level (prefixed with the device id), an unexpected exit is logged and the
 * agent restarted after a pause, and `stop` ends it with SIGTERM, then SIGKILL after a deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

/** The exit code with which `outpost-agent run` asks to be restarted (a `restart-agent` command). */
export const AGENT_RESTART_EXIT_CODE = 75;

export interface AgentLog {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface AgentCommandOptions {
  /** The node executable. */
  readonly node: string;
  /** `outpost-agent`'s main.js. */
  readonly bin: string;
  /** Node options before `bin` (for the one-file agent: the device launcher's memory flags). */
  readonly nodeFlags?: readonly string[];
  readonly deviceId: string;
  readonly log: AgentLog;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface AgentRunOptions extends AgentCommandOptions {
  readonly args: readonly string[];
  /** Pause before restarting an agent that exited on its own. */
  readonly restartDelayMs: number;
}

/** Runs an agent command (e.g. `enroll`) to its end; answers its exit code and last output lines. */
export async function runAgentCommand(options: AgentCommandOptions, args: readonly string[]): Promise<{ code: number | null; tail: string }> {
  const child = spawnAgent(options, args);
  const tail: string[] = [];
  forwardLines(child, options, (line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (exitCode) => resolve(exitCode));
  });
  return { code, tail: tail.join('\n') };
}

export class AgentProcess {
  readonly #options: AgentRunOptions;
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #stopping = false;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(options: AgentRunOptions) {
    this.#options = options;
  }

  get deviceId(): string {
    return this.#options.deviceId;
  }

  /** The running process's id, if one is running. */
  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  start(): void {
    if (this.#stopping) return;
    const { log, deviceId } = this.#options;
    const child = spawnAgent(this.#options, this.#options.args);
    this.#child = child;
    forwardLines(child, this.#options);
    this.#exited = new Promise<void>((resolve) => {
      child.once('error', (err) => {
        log.warn({ device: deviceId, err }, `agent ${deviceId} could not be started`);
        resolve();
      });
      child.once('close', (code, signal) => {
        resolve();
        if (this.#stopping) return;
        const restartNow = code === AGENT_RESTART_EXIT_CODE;
        const delayMs = restartNow ? 0 : this.#options.restartDelayMs;
        if (restartNow) log.info({ device: deviceId }, `agent ${deviceId} asked to be restarted`);
        else log.warn({ device: deviceId, code, signal, restartInMs: delayMs }, `agent ${deviceId} exited unexpectedly (code ${String(code)}${signal === null ? '' : `, ${signal}`}); restarting (its output is in the log at level debug: OUTPOST_LOG_LEVEL=debug)`);
        this.#restartTimer = setTimeout(() => this.start(), delayMs);
      });
    });
    log.debug({ device: deviceId, pid: child.pid }, `agent ${deviceId} started`);
  }

  /** SIGTERM (the agent flushes its outbox), then SIGKILL when it has not exited within `deadlineMs`. */
  async stop(deadlineMs: number): Promise<{ killed: boolean }> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return { killed: false };
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
    });
    const outcome = await Promise.race([this.#exited.then(() => 'exited' as const), deadline]);
    clearTimeout(timer);
    if (outcome === 'exited') return { killed: false };
    this.#options.log.warn({ device: this.deviceId, deadlineMs }, `agent ${this.deviceId} did not stop in time; killing it`);
    child.kill('SIGKILL');
    await this.#exited;
    return { killed: true };
  }
}

function spawnAgent(options: AgentCommandOptions, args: readonly string[]): ChildProcess {
  return spawn(options.node, [...(options.nodeFlags ?? []), options.bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...options.env } });
}

function forwardLines(child: ChildProcess, options: AgentCommandOptions, also?: (line: string) => void): void {
  const forward = (stream: Readable | null, name: 'stdout' | 'stderr'): void => {
    if (stream === null) return;
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      let end: number;
      while ((end = pending.indexOf('\n')) !== -1) {
        const line = pending.slice(0, end);
        pending = pending.slice(end + 1);
        if (line.trim() === '') continue;
        options.log.debug({ device: options.deviceId, stream: name }, `[${options.deviceId}] ${line}`);
        also?.(line);
      }
    });
    stream.on('end', () => {
      if (pending.trim() === '') return;
      options.log.debug({ device: options.deviceId, stream: name }, `[${options.deviceId}] ${pending}`);
      also?.(pending);
    });
  };
  forward(child.stdout, 'stdout');
  forward(child.stderr, 'stderr');
}
