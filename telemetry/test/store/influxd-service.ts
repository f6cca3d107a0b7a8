/**
 * `startInfluxd` from `@outpost/e2e`, loaded at run time. `@outpost/e2e` depends on this
 * package, so a static import here would make the TypeScript project references a cycle
 * (telemetry → test → telemetry): on a clean `tsc -b` the e2e declarations do not exist yet
 * when telemetry's tests compile. The shape used here is restated below instead.
 */
export interface InfluxdHandle {
  readonly url: string;
  readonly version: string;
  readonly running: boolean;
  stop(): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
}

interface E2eServices {
  startInfluxd(options?: { startTimeoutMs?: number }): Promise<InfluxdHandle>;
  serviceTimeoutMs(defaultMs: number): number;
  waitFor<T>(probe: () => Promise<T | false | undefined> | T | false | undefined, options: { description: string; timeoutMs: number; intervalMs?: number }): Promise<T>;
}

const E2E_PACKAGE = '@outpost/e2e';

async function services(): Promise<E2eServices> {
  return (await import(E2E_PACKAGE)) as E2eServices;
}

export async function startInfluxd(startTimeoutMs?: number): Promise<InfluxdHandle> {
  const e2e = await services();
  return e2e.startInfluxd({ startTimeoutMs: startTimeoutMs ?? e2e.serviceTimeoutMs(15_000) });
}

/** `waitFor` from `@outpost/e2e`: polls `probe` until it returns a value (not undefined/false) or the deadline passes. */
export async function waitFor<T>(
  probe: () => Promise<T | false | undefined> | T | false | undefined,
  options: { description: string; timeoutMs: number; intervalMs?: number },
): Promise<T> {
  return (await services()).waitFor(probe, options);
}
