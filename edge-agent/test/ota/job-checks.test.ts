import { describe, expect, it } from 'vitest';
import type { Manifest, OtaJob } from '@outpost/protocol';
import { checkJob } from '../../src/ota/job-checks.js';
import type { JobCheckContext } from '../../src/ota/job-checks.js';
import { compareSemver } from '../../src/ota/semver.js';
import { jobFor, manifestFor, signer, trustSetOf } from './ota-kit.js';

const trusted = signer('key-ops');
const stranger = signer('key-stranger');
const bytes = Buffer.alloc(10_000, 7);
const base = manifestFor(bytes, { name: 'sensor-app', version: '1.2.0', securityVersion: 3 });
const ctx: JobCheckContext = { trust: trustSetOf(trusted), hardware: ['arm64', 'test-board'], installed: { version: '1.1.0', securityVersion: 3 }, agentVersion: '0.5.0' };

function job(fields: Partial<Manifest> = {}, extra: Partial<OtaJob> = {}, by = trusted): OtaJob {
  return jobFor({ ...base, ...fields }, by, 'https://example.invalid/fw/1', extra);
}

describe('which jobs the agent takes before downloading anything', () => {
  it.each<[string, OtaJob, Partial<JobCheckContext>, string]>([
    ['a device that trusts no key yet', job(), { trust: undefined }, 'OTA_TRUST_EMPTY'],
    ['a manifest signed by a key the device does not trust', job({}, {}, stranger), {}, 'OTA_KEY_UNKNOWN'],
    ['a manifest altered after signing', { ...job(), manifest: { ...base, version: '9.9.9' } }, {}, 'OTA_SIGNATURE_INVALID'],
    ['an artifact for other hardware', job({ hardware: ['raspberrypi3'] }), {}, 'OTA_HARDWARE_MISMATCH'],
    ['a downgrade without allowDowngrade', job({ version: '1.0.0' }), {}, 'OTA_DOWNGRADE_REFUSED'],
    ['a lower securityVersion, even with allowDowngrade', job({ version: '1.0.0', securityVersion: 2 }, { allowDowngrade: true }), {}, 'OTA_SECURITY_VERSION_LOWER'],
    ['a lower securityVersion on a newer version', job({ version: '2.0.0', securityVersion: 1 }), {}, 'OTA_SECURITY_VERSION_LOWER'],
    ['an artifact that needs a newer agent', job({ minAgentVersion: '0.6.0' }), {}, 'OTA_AGENT_TOO_OLD'],
    ['a chunk list that does not fit the size', job({ chunks: base.chunks?.slice(1) ?? [] }), {}, 'OTA_MANIFEST_INVALID'],
  ])('refuses %s', (_what, candidate, override, code) => {
    const verdict = checkJob(candidate, { ...ctx, ...override });
    expect(verdict).toMatchObject({ ok: false, code });
    if (!verdict.ok) expect(verdict.message.length).toBeGreaterThan(20);
  });

  it.each<[string, OtaJob, Partial<JobCheckContext>, boolean]>([
    ['a newer signed version for this hardware', job(), {}, false],
    ['a downgrade the job allows', job({ version: '1.0.0' }, { allowDowngrade: true }), {}, false],
    ['a first install', job(), { installed: undefined }, false],
    ['the version already installed (nothing to do)', job({ version: '1.1.0' }), {}, true],
    ['an agent recent enough', job({ minAgentVersion: '0.5.0-rc.1' }), {}, false],
  ])('takes %s', (_what, candidate, override, sameVersion) => {
    expect(checkJob(candidate, { ...ctx, ...override })).toEqual({ ok: true, sameVersion });
  });
});

describe('semver precedence', () => {
  it.each([
    ['1.0.0', '1.0.1', -1],
    ['1.10.0', '1.9.9', 1],
    ['1.0.0-rc.1', '1.0.0', -1],
    ['1.0.0-alpha', '1.0.0-alpha.1', -1],
    ['1.0.0-alpha.10', '1.0.0-alpha.9', 1],
    ['1.0.0-1', '1.0.0-alpha', -1],
    ['2.0.0+build.1', '2.0.0+build.2', 0],
  ])('%s vs %s is %i', (a, b, order) => {
    expect(compareSemver(a, b)).toBe(order);
    expect(compareSemver(b, a)).toBe(-order || 0);
  });
});
