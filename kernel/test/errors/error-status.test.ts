import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES, OutpostError } from '@outpost/protocol';
import { describe, expect, it } from 'vitest';
import { ERROR_STATUS, statusOfError } from '../../src/errors/error-status.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The sources whose errors reach an HTTP answer (the CLI and the demo print theirs). */
const SERVER_SOURCES = ['kernel/src', 'broker/src', 'alerts/src', 'device-registry/src', 'dashboard/src', 'telemetry/src', 'ota/src', 'platform/src', 'edge-agent/bundle'];
const NOT_HTTP = [/\/platform\/src\/cli\//, /\/platform\/src\/demo\//];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !NOT_HTTP.some((pattern) => pattern.test(path)) ? [path] : [];
  });
}

/** Every code thrown as `new OutpostError('CODE'` / `new ApiError('CODE'`, or passed to a coded-error helper. */
function thrownCodes(): Map<string, string> {
  const codes = new Map<string, string>();
  const thrown = /new (?:OutpostError|ApiError)\(\s*'([A-Z][A-Z0-9_]+)'|(?:spoolError|queryInvalid|storeUnavailable)\(\s*'([A-Z][A-Z0-9_]+)'|export const [A-Z_]+ = '([A-Z][A-Z0-9_]+_(?:INVALID|UNAVAILABLE))'/g;
  for (const dir of SERVER_SOURCES) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      for (const match of readFileSync(file, 'utf8').matchAll(thrown)) {
        const code = match[1] ?? match[2] ?? match[3];
        if (code !== undefined) codes.set(code, file.slice(ROOT.length));
      }
    }
  }
  return codes;
}

describe('the error table', () => {
  it('lists every code the server throws, written out, with a status', () => {
    const missing = [...thrownCodes()].filter(([code]) => !Object.hasOwn(ERROR_STATUS, code)).map(([code, file]) => `${code} (${file})`);
    expect(missing).toEqual([]);
    expect(thrownCodes().size).toBeGreaterThan(50);
  });

  it("keeps protocol's statuses for the common codes", () => {
    for (const [code, entry] of Object.entries(ERROR_CODES)) expect(ERROR_STATUS[code as keyof typeof ERROR_STATUS]).toBe(entry.status);
  });

  it.each([
    ['RULE_NOT_FOUND', 404],
    ['RENEW_TOO_EARLY', 409],
    ['ENROLL_TOKEN_EXPIRED', 403],
    ['TELEMETRY_STORE_UNAVAILABLE', 503],
    ['ENROLL_RATE_LIMITED', 429],
  ] as const)('answers %s with %i from the table', (code, status) => {
    expect(statusOfError(new OutpostError(code, 'x'))).toBe(status);
  });

  it('guesses nothing from a suffix: a code missing from the table is a 500, an explicit status wins', () => {
    expect(statusOfError(new OutpostError('SOMETHING_NOT_FOUND', 'x'))).toBe(500);
    expect(statusOfError(new OutpostError('OTA_ERR_BUSY', 'x', { status: 423 }))).toBe(423);
  });
});
