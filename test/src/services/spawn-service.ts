import { constants as fsConstants, rmSync } from 'node:fs';
import { access, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findFreePorts } from './free-port.js';
import { OutputTail } from './output-tail.js';
import { describeExit, launchProcess, terminate, type RunningProcess } from './service-process.js';
import { waitFor } from './wait-for.js';

/** Where a service instance lives: kept across restarts, removed by stop(). */
export interface ServiceContext {
  /** A fresh temporary directory (os.tmpdir()) for config, data and logs. */
  readonly dir: string;
  /** Free loopback ports, `portCount` of them, fixed for the life of the instance. */
  readonly ports: readonly number[];
}

/**
 * How to run one kind of real service (influxd today, redis-server later) for tests.
 * spawnService does the generic part: temp dir, ports, process, readiness, stop/kill/restart.
 */
export interface ServiceDefinition<Info> {
  /** Short name for messages: "influxd". */
  readonly name: string;
  /** Absolute path of the binary. */
  readonly executable: string;
  /** Appended to the error when the executable is missing. */
  readonly installHint: string;
  /** mkdtemp prefix: "outpost-influxd-". */
  readonly tempDirPrefix: string;
  /** How many free loopback ports to reserve. */
  readonly portCount: number;
  /** Writes the service's config into `ctx.dir` and returns the command-line arguments. */
  configure(ctx: ServiceContext): Promise<readonly string[]>;
  /** One readiness attempt: the service's facts when it is ready, undefined (or a throw) when not yet. */
  probe(ctx: ServiceContext): Promise<Info | undefined>;
  /** Deadline for the process to become ready, per start or restart. */
  readonly startTimeoutMs: number;
  /** Deadline for a graceful exit after SIGTERM, before SIGKILL. */
  readonly stopTimeoutMs: number;
  /** Environment variables with these prefixes are not passed on (e.g. "INFLUXDB_", which override the config file). */
  readonly dropEnvPrefixes?: readonly string[];
  /** How many output lines to keep for error messages (default 40). */
  readonly tailLines?: number;
  /** Output that means "the port was taken between probing and binding": start again on new ports. */
  readonly portConflict?: RegExp;
}

/**
 * The contract every real service for tests keeps (influxd, redis-server, postgres, haproxy, …):
 * a process on loopback ports in its own temp dir, ready when its start function resolves.
 * Each start function's handle extends this one with what its service offers (URLs, ports,
 * commands). Deadlines scale with OUTPOST_TEST_SERVICE_TIMEOUT_MS (service-timeout.ts).
 */
export interface ServiceHandle {
  /** The temp dir holding the service's config and data; kept across kill()/restart(), removed by stop(). */
  readonly dir: string;
  /** True while the process is alive. */
  readonly running: boolean;
  /** The last lines the process wrote (for error messages). */
  tail(): string;
  /** SIGTERM, wait for the exit (SIGKILL after the stop deadline), then remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL and wait for the exit, for fault tests: the temp dir stays, so restart() finds the data. */
  kill(): Promise<void>;
  /** Starts the service again on the same ports and dir (stopping it gracefully first if it runs); resolves when it is ready. */
  restart(): Promise<void>;
}

/** What spawnService answers: the ServiceHandle, its ports, its pid and what its readiness probe found. */
export interface SpawnedService<Info> extends ServiceContext, ServiceHandle {
  /** What the last successful readiness probe returned (updated by restart()). */
  readonly info: Info;
  readonly pid: number | undefined;
}

/**
 * A start function's handle: the ServiceHandle members of `service` plus `fields` (their
 * getters stay getters, so a field may read the service's current state).
 */
export function serviceHandle<Fields extends object>(service: ServiceHandle, fields: Fields): ServiceHandle & Fields {
  const handle: ServiceHandle = {
    dir: service.dir,
    get running() {
      return service.running;
    },
    tail: () => service.tail(),
    stop: () => service.stop(),
    kill: () => service.kill(),
    restart: () => service.restart(),
  };
  return Object.defineProperties(handle, Object.getOwnPropertyDescriptors(fields)) as ServiceHandle & Fields;
}

export class ServiceError extends Error {
  constructor(
    readonly code: 'TEST_ERR_SERVICE_MISSING' | 'TEST_ERR_SERVICE_START' | 'TEST_ERR_SERVICE_STOPPED',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ServiceError';
  }
}

const MAX_PORT_ATTEMPTS = 3;

/**
 * Starts a real service process on loopback in its own temp dir and waits until it is ready.
 * Throws ServiceError TEST_ERR_SERVICE_MISSING when the binary is not installed.
 */
export async function spawnService<Info>(definition: ServiceDefinition<Info>): Promise<SpawnedService<Info>> {
  try {
    await access(definition.executable, fsConstants.X_OK);
  } catch (cause) {
    throw new ServiceError(
      'TEST_ERR_SERVICE_MISSING',
      `${definition.name}: ${definition.executable} is not installed or not executable; ${definition.installHint}`,
      { cause },
    );
  }

  const dir = await mkdtemp(path.join(os.tmpdir(), definition.tempDirPrefix));
  const tail = new OutputTail(definition.tailLines);
  for (let attempt = 1; ; attempt += 1) {
    const ctx: ServiceContext = { dir, ports: await findFreePorts(definition.portCount) };
    try {
      const args = await definition.configure(ctx);
      const proc = launch(definition, ctx, args, tail);
      const info = await untilReady(definition, ctx, proc, tail);
      return new Service(definition, ctx, args, tail, proc, info);
    } catch (error) {
      const conflict = definition.portConflict?.test(tail.text()) ?? false;
      if (conflict && attempt < MAX_PORT_ATTEMPTS) {
        tail.clear();
        continue;
      }
      await rm(dir, { recursive: true, force: true, maxRetries: 3 });
      throw error;
    }
  }
}

function launch<Info>(
  definition: ServiceDefinition<Info>,
  ctx: ServiceContext,
  args: readonly string[],
  tail: OutputTail,
): RunningProcess {
  return launchProcess(
    { executable: definition.executable, args, cwd: ctx.dir, dropEnvPrefixes: definition.dropEnvPrefixes ?? [] },
    tail,
  );
}

function withTail(message: string, tail: OutputTail): string {
  const text = tail.text();
  return text === '' ? `${message} (no output)` : `${message}; last output:\n${text}`;
}

async function untilReady<Info>(
  definition: ServiceDefinition<Info>,
  ctx: ServiceContext,
  proc: RunningProcess,
  tail: OutputTail,
): Promise<Info> {
  try {
    return await waitFor(() => definition.probe(ctx), {
      description: `${definition.name} to become ready`,
      timeoutMs: definition.startTimeoutMs,
      intervalMs: 50,
      abortIf: () =>
        proc.exit
          ? new ServiceError(
              'TEST_ERR_SERVICE_START',
              withTail(`${definition.name} ${describeExit(proc.exit)} while starting`, tail),
            )
          : undefined,
    });
  } catch (error) {
    await terminate(proc, 0);
    if (error instanceof ServiceError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ServiceError('TEST_ERR_SERVICE_START', withTail(`${definition.name}: ${reason}`, tail), {
      cause: error,
    });
  }
}

class Service<Info> implements SpawnedService<Info> {
  readonly dir: string;
  readonly ports: readonly number[];
  #info: Info;
  #proc: RunningProcess;
  #stopped = false;
  #queue: Promise<unknown> = Promise.resolve();
  readonly #onProcessExit = (): void => this.#emergencyCleanup();

  constructor(
    private readonly definition: ServiceDefinition<Info>,
    ctx: ServiceContext,
    private readonly args: readonly string[],
    private readonly output: OutputTail,
    proc: RunningProcess,
    info: Info,
  ) {
    this.dir = ctx.dir;
    this.ports = ctx.ports;
    this.#proc = proc;
    this.#info = info;
    // If the test process exits without stop() (a crash, a forgotten afterAll), leave no orphan.
    process.once('exit', this.#onProcessExit);
  }

  get info(): Info {
    return this.#info;
  }

  get running(): boolean {
    return this.#proc.exit === undefined;
  }

  get pid(): number | undefined {
    return this.#proc.child.pid;
  }

  tail(): string {
    return this.output.text();
  }

  stop(): Promise<void> {
    return this.#serialize(async () => {
      if (this.#stopped) return;
      this.#stopped = true;
      const exit = await terminate(this.#proc, this.definition.stopTimeoutMs);
      process.off('exit', this.#onProcessExit);
      if (!exit) {
        throw new ServiceError(
          'TEST_ERR_SERVICE_STOPPED',
          withTail(`${this.definition.name} (pid ${String(this.pid)}) did not exit even after SIGKILL`, this.output),
        );
      }
      await rm(this.dir, { recursive: true, force: true, maxRetries: 3 });
    });
  }

  kill(): Promise<void> {
    return this.#serialize(async () => {
      this.#assertNotStopped('kill');
      await terminate(this.#proc, 0);
    });
  }

  restart(): Promise<void> {
    return this.#serialize(async () => {
      this.#assertNotStopped('restart');
      await terminate(this.#proc, this.definition.stopTimeoutMs);
      this.output.clear();
      const ctx: ServiceContext = { dir: this.dir, ports: this.ports };
      this.#proc = launch(this.definition, ctx, this.args, this.output);
      this.#info = await untilReady(this.definition, ctx, this.#proc, this.output);
    });
  }

  #assertNotStopped(operation: string): void {
    if (this.#stopped) {
      throw new ServiceError('TEST_ERR_SERVICE_STOPPED', `${this.definition.name}: ${operation}() after stop()`);
    }
  }

  /** Runs lifecycle operations one at a time, in call order. */
  #serialize<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(operation);
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #emergencyCleanup(): void {
    if (this.#proc.exit === undefined) this.#proc.child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
