import { readFileSync } from 'node:fs';

/** The platform package's version, read once from its package.json. */
export const PLATFORM_VERSION: string = (() => {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string' ? pkg.version : '0.0.0';
})();
