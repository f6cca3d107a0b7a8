/**
 * Debian's headless Chromium driven by playwright-core, for dashboard tests.
 *
 *   let chromium: ChromiumHandle;
 *   beforeAll(async () => { chromium = await startChromium(); });
 *   afterAll(async () => { await chromium?.close(); });
 *   const page = await chromium.browser.newPage(); await page.goto(url);
 *
 * Plain launch: playwright makes (and removes) a throwaway profile dir of its own.
 * Needs /usr/bin/chromium: `bash scripts/install-test-deps.sh` installs it
 * (playwright's own browser download is never used: the machines have no network for it).
 */
import { constants as fsConstants } from 'node:fs';
import { access } from 'node:fs/promises';
import { chromium, type Browser } from 'playwright-core';
import { serviceTimeoutMs } from './service-timeout.js';
import { ServiceError } from './spawn-service.js';

export const CHROMIUM_EXECUTABLE = '/usr/bin/chromium';

/**
 * Headless, as root, on a machine with no outside network: the background-networking
 * flags keep Chromium from calling home (each refused connection is noise and delay).
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface StartChromiumOptions {
  /** Deadline for the browser to start (default 30 s, or OUTPOST_TEST_SERVICE_TIMEOUT_MS). */
  readonly launchTimeoutMs?: number;
  /** The chromium binary (default /usr/bin/chromium). */
  readonly executablePath?: string;
  /** Flags added after CHROMIUM_ARGS. */
  readonly extraArgs?: readonly string[];
}

export interface ChromiumHandle {
  readonly browser: Browser;
  /** Closes every context and page, ends the browser process. Idempotent. */
  close(): Promise<void>;
}

export async function startChromium(options: StartChromiumOptions = {}): Promise<ChromiumHandle> {
  const executablePath = options.executablePath ?? CHROMIUM_EXECUTABLE;
  try {
    await access(executablePath, fsConstants.X_OK);
  } catch (cause) {
    throw new ServiceError(
      'TEST_ERR_SERVICE_MISSING',
      `chromium: ${executablePath} is not installed or not executable; run \`bash scripts/install-test-deps.sh\` (as root) to install the Debian package chromium`,
      { cause },
    );
  }
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [...CHROMIUM_ARGS, ...(options.extraArgs ?? [])],
    timeout: options.launchTimeoutMs ?? serviceTimeoutMs(30_000),
  });
  let closing: Promise<void> | undefined;
  return {
    browser,
    close: () => {
      closing ??= browser.close();
      return closing;
    },
  };
}
