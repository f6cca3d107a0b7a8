/**
 * Journey (c) against one spawned `outpost server` ticking rollouts every second: sign → upload →
 * a 3-wave rollout started from the dashboard → all updated; a bad build → the gate stops it and
 * its devices roll back (rollout.journey.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChromium, type ChromiumHandle, type ServerProcess } from '../../src/index.js';
import { startJourneyServer } from './journey-kit.js';
import { runRolloutJourney } from './rollout.journey.js';

describe('journey: signed builds → 3-wave rollout started in the dashboard → all updated; a bad build → gate stops it, devices roll back', () => {
  let dir: string;
  let server: ServerProcess;
  let chromium: ChromiumHandle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-journey-rollout-'));
    [server, chromium] = await Promise.all([startJourneyServer(join(dir, 'server'), { OUTPOST_OTA_TICK: '1s' }), startChromium()]);
  }, 120_000);
  afterAll(async () => {
    await chromium?.close();
    await server?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('updates every device with the good build and leaves them on it when the bad build fails its health check', async () => {
    const result = await runRolloutJourney(server, chromium, { workDir: dir, devices: 3 });
    expect(result.deviceIds).toHaveLength(3);
    expect(result.screenshots).toHaveLength(2);
    console.log(`rollout journey: screenshots ${result.screenshots.join(', ')}`);
  }, 180_000);
});
