import type { PartFactory } from '../part.js';

/**
 * The part packages `outpost server` composes, in start order (providers of a
 * port before its consumers). Each exports `createPart: PartFactory`. Parts
 * depend on the platform's types, so the platform loads them at run time rather
 * than importing them; a package that is absent or exports no `createPart` yet
 * is skipped: the server composes whatever parts exist.
 */
export const PART_PACKAGES = [
  '@outpost/device-registry',
  '@outpost/telemetry',
  '@outpost/broker',
  '@outpost/ota',
  '@outpost/dashboard',
] as const;

export interface DiscoveredParts {
  readonly factories: PartFactory[];
  readonly loaded: string[];
  readonly skipped: string[];
}

export async function discoverParts(packages: readonly string[] = PART_PACKAGES, load: (name: string) => Promise<unknown> = (name) => import(name)): Promise<DiscoveredParts> {
  const factories: PartFactory[] = [];
  const loaded: string[] = [];
  const skipped: string[] = [];
  for (const name of packages) {
    let mod: unknown;
    try {
      mod = await load(name);
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String((err as Error).message).includes(name)) {
        skipped.push(name);
        continue;
      }
      throw err;
    }
    const factory = typeof mod === 'object' && mod !== null && 'createPart' in mod ? mod.createPart : undefined;
    if (typeof factory === 'function') {
      factories.push(factory as PartFactory);
      loaded.push(name);
    } else {
      skipped.push(name);
    }
  }
  return { factories, loaded, skipped };
}
