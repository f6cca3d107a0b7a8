/*
 * A 32-bit Raspberry Pi OS (armhf, armv7 CPU: Pi 2 and later) emulated with qemu-arm-static:
 * the operator adds Node.js 20.11.0 for armv7l (the newest the registry has) with --runtime-tarball
 * and --runtime-sha256 (the offline path); install.sh --root installs it and enrolls with it; the launcher runs the
 * agent on it until telemetry is stored; a restart keeps the identity (journey.ts).
 */
import { describe, expect, it } from 'vitest';
import { CAN_EMULATE } from './emulated-device.js';
import { EMULATED_TIMEOUT_MS, emulatedJourney } from './journey.js';

/** The newest Node.js built for armv7l in the registry; the agent must run on it. Pinned so the cached tarball is the one used. */
const VERSION = process.env['OUTPOST_TEST_ARMV7L_NODE'] ?? '20.11.0';

describe.skipIf(!CAN_EMULATE)('an armv7l device under emulation', () => {
  it(`installs from a bundle carrying Node.js ${VERSION}, enrolls, delivers telemetry and keeps its identity across a restart`, async () => {
    const started = Date.now();
    const r = await emulatedJourney({ arch: 'armv7l', version: VERSION, via: 'tarball' });
    console.log(
      `emulated armv7l: bundle ${(r.bundleBytes / 1024 / 1024).toFixed(1)} MiB; install.sh (with enrollment) ${(r.installMs / 1000).toFixed(1)} s; ` +
        `launcher start to online ${(r.onlineMs / 1000).toFixed(1)} s, after a restart ${(r.restartOnlineMs / 1000).toFixed(1)} s; ${r.samples} samples stored; whole journey ${((Date.now() - started) / 1000).toFixed(0)} s`,
    );
    expect(r.samples).toBeGreaterThanOrEqual(6);
  }, EMULATED_TIMEOUT_MS * 8);
});
