/**
 * The one place the test harness reads its environment: OUTPOST_TEST_SERVICE_TIMEOUT_MS
 * raises (or lowers) every service deadline at once, for slow CI machines.
 */
export const SERVICE_TIMEOUT_ENV = 'OUTPOST_TEST_SERVICE_TIMEOUT_MS';

/**
 * Returns the deadline for a service operation: OUTPOST_TEST_SERVICE_TIMEOUT_MS when it is
 * set, else `defaultMs`. A value that is not a positive integer is an error, not ignored.
 */
export function serviceTimeoutMs(
  defaultMs: number,
  env: Readonly<Record<string, string | undefined>> = process.env,
): number {
  const raw = env[SERVICE_TIMEOUT_ENV];
  if (raw === undefined || raw.trim() === '') return defaultMs;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`${SERVICE_TIMEOUT_ENV} must be a positive integer (milliseconds), got ${JSON.stringify(raw)}`);
  }
  return value;
}
