/*
 * docs/operations.md names configuration keys, metrics, error codes and readiness parts: each must
 * exist in the code, so the operations guide cannot drift into naming things the server no longer has.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const doc = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** Every `.ts` file under the parts' src folders, as one text (metric registrations are string literals). */
function sourcesOf(folders: readonly string[]): string {
  const texts: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) texts.push(readFileSync(path, 'utf8'));
    }
  };
  for (const folder of folders) walk(join(ROOT, folder));
  return texts.join('\n');
}

/** The backticked words of the doc. */
const quoted = [...doc.matchAll(/`([^`\n]+)`/g)].map((m) => m[1] ?? '');

describe('docs/operations.md', () => {
  it('names only configuration keys the config schema knows', () => {
    const schema = read('platform/src/config/config-schema.ts');
    const known = new Set([...schema.matchAll(/env: '(OUTPOST_[A-Z0-9_]+)'/g)].map((m) => m[1]));
    const named = new Set([...doc.matchAll(/\bOUTPOST_[A-Z0-9_]+\b/g)].map((m) => m[0]));
    expect(named.size).toBeGreaterThan(20);
    expect([...named].filter((key) => !known.has(key))).toEqual([]);
  });

  it('names only error codes of the server error table', () => {
    const table = read('kernel/src/errors/error-status.ts');
    const known = new Set([...table.matchAll(/^\s+([A-Z][A-Z0-9_]+): \d{3},/gm)].map((m) => m[1]));
    const codes = quoted.filter((word) => /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)+$/.test(word) && !word.startsWith('OUTPOST_'));
    const inRows = [...doc.matchAll(/^\| `([A-Z_]+)`(?:, `([A-Z_]+)`)? \|/gm)].flatMap((m) => [m[1], m[2]]).filter((c) => c !== undefined);
    const named = new Set([...codes, ...inRows]);
    expect(named.size).toBeGreaterThan(15);
    expect([...named].filter((code) => !known.has(code))).toEqual([]);
  });

  it('names only metrics some part registers', () => {
    const sources = sourcesOf(['broker/src', 'telemetry/src', 'alerts/src', 'ota/src', 'device-registry/src', 'platform/src', 'dashboard/src']);
    const named = new Set([...doc.matchAll(/`(outpost_[a-z0-9_]+)`/g)].map((m) => m[1] ?? ''));
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((metric) => !sources.includes(`'${metric}'`))).toEqual([]);
  });

  it('names only readiness parts the server reports', () => {
    const parts = read('platform/src/server/parts.ts');
    const cluster = read('broker/src/cluster/cluster-part.ts');
    const known = new Set([
      ...[...(/SERVER_PART_NAMES = \[([^\]]+)\]/.exec(parts)?.[1] ?? '').matchAll(/'([a-z-]+)'/g)].map((m) => m[1]),
      /CLUSTER_PART_NAME = '([a-z-]+)'/.exec(cluster)?.[1],
      'state-db',
    ]);
    const named = new Set([...doc.matchAll(/^\| `([a-z-]+): (?:ok|degraded|down)`/gm)].map((m) => m[1]));
    expect(named.size).toBeGreaterThanOrEqual(4);
    expect([...named].filter((part) => !known.has(part))).toEqual([]);
  });
});
