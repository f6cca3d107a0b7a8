import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The version of `@outpost/platform`, from the nearest package.json of that name
 * above this file (the same from `src/` under tests and from `dist/src/` installed).
 */
export function packageVersion(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    try {
      const data: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (typeof data === 'object' && data !== null) {
        const { name, version } = data as { name?: unknown; version?: unknown };
        if (name === '@outpost/platform' && typeof version === 'string') return version;
      }
    } catch {
      // no package.json here: keep climbing
    }
    const parent = dirname(dir);
    if (parent === dir) return 'unknown';
    dir = parent;
  }
}
