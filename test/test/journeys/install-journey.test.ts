/**
 * Journey (a) against one spawned `outpost server`: bundle from the dashboard → install.sh --root →
 * enrolled → online on the fleet page → its telemetry on its device page (install.journey.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChromium, type ChromiumHandle, type ServerProcess } from '../../src/index.js';
import { runInstallJourney } from './install.journey.js';
import { startJourneyServer } from './journey-kit.js';

describe('journey: bundle → install.sh → enrolled → online → telemetry on the device page', () => {
  let dir: string;
  let server: ServerProcess;
  let chromium: ChromiumHandle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-journey-install-'));
    [server, chromium] = await Promise.all([startJourneyServer(join(dir, 'server'), {}), startChromium()]);
  }, 120_000);
  afterAll(async () => {
    await chromium?.close();
    await server?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('installs from a dashboard bundle and the device shows up online with its telemetry drawn', async () => {
    const result = await runInstallJourney(server, chromium, { workDir: dir });
    expect(result.screenshots).toHaveLength(3);
    console.log(`install journey: screenshots ${result.screenshots.join(', ')}`);
  }, 120_000);
});
