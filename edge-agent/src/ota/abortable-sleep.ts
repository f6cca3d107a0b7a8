/**
 * Waits `ms`, or rejects with the signal's own reason when it aborts first (the OTA steps throw
 * that reason — e.g. AGENT_STOPPING, OTA_JOB_CANCELLED — so callers can tell why they stopped;
 * `timers/promises` would reject with a generic AbortError instead).
 */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
