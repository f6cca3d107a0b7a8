/**
 * The production dependency closure of an installed package, laid out as a self-contained
 * `node_modules` tree: every package is found the way Node finds it (the nearest
 * `node_modules/NAME` up from the package that requires it, on real paths, so npm workspaces'
 * symlinks are followed) and placed where Node will find that same copy from its dependent —
 * hoisted to the top when the top is free or holds the same package, nested under the
 * dependent otherwise (two versions of one name). No npm and no network: it copies what the
 * running server has installed.
 */
import { readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join, parse as parsePath } from 'node:path';
import { OutpostError } from '@outpost/protocol';

export interface PackageManifest {
  readonly name: string;
  readonly version: string;
  readonly files?: readonly string[];
  readonly dependencies: Readonly<Record<string, string>>;
  readonly optionalDependencies: Readonly<Record<string, string>>;
  readonly peerDependencies: Readonly<Record<string, string>>;
  readonly optionalPeers: ReadonlySet<string>;
}

export interface PlacedPackage {
  /** Real path of the installed package. */
  readonly dir: string;
  /** Where it goes, relative to the root package: '' for the root, else `node_modules/…`. */
  readonly placement: string;
  readonly manifest: PackageManifest;
  /** Whether it lives outside any node_modules (a workspace or `npm link`): packed by its `files`. */
  readonly linked: boolean;
}

function stringMap(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

export async function readManifest(dir: string): Promise<PackageManifest> {
  const file = join(dir, 'package.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new OutpostError('BUNDLE_AGENT_UNAVAILABLE', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  const pkg = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  if (typeof pkg['name'] !== 'string' || typeof pkg['version'] !== 'string') {
    throw new OutpostError('BUNDLE_AGENT_UNAVAILABLE', `${file} lacks a name or a version`);
  }
  const peerMeta = (typeof pkg['peerDependenciesMeta'] === 'object' && pkg['peerDependenciesMeta'] !== null ? pkg['peerDependenciesMeta'] : {}) as Record<string, unknown>;
  const optionalPeers = new Set(
    Object.entries(peerMeta)
      .filter(([, v]) => typeof v === 'object' && v !== null && (v as { optional?: unknown }).optional === true)
      .map(([k]) => k),
  );
  const files = Array.isArray(pkg['files']) ? pkg['files'].filter((f): f is string => typeof f === 'string') : undefined;
  return {
    name: pkg['name'],
    version: pkg['version'],
    ...(files === undefined ? {} : { files }),
    dependencies: stringMap(pkg['dependencies']),
    optionalDependencies: stringMap(pkg['optionalDependencies']),
    peerDependencies: stringMap(pkg['peerDependencies']),
    optionalPeers,
  };
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** Node's lookup of `name` from the package at `fromDir`: the nearest `node_modules/name` upwards. */
export async function resolvePackageDir(name: string, fromDir: string): Promise<string | undefined> {
  const root = parsePath(fromDir).root;
  for (let dir = fromDir; ; dir = dirname(dir)) {
    if (!dir.endsWith('/node_modules')) {
      const candidate = join(dir, 'node_modules', name);
      if (await isDir(candidate)) return realpath(candidate);
    }
    if (dir === root) return undefined;
  }
}

/** `node_modules/a/node_modules/b` → the placements Node searches for `dep` from there, nearest first. */
function lookupChain(placement: string, dep: string): string[] {
  const chain: string[] = [];
  let base = placement;
  for (;;) {
    chain.push(base === '' ? `node_modules/${dep}` : `${base}/node_modules/${dep}`);
    if (base === '') return chain;
    const at = base.lastIndexOf('/node_modules/');
    base = at === -1 ? '' : base.slice(0, at);
  }
}

/** Every package the root needs at run time, with where each goes. The root comes first. */
export async function packageClosure(rootDir: string): Promise<PlacedPackage[]> {
  const rootReal = await realpath(rootDir);
  const placed = new Map<string, PlacedPackage>();
  const linked = (dir: string): boolean => !dir.split('/').includes('node_modules');
  const root: PlacedPackage = { dir: rootReal, placement: '', manifest: await readManifest(rootReal), linked: true };
  placed.set('', root);
  const queue: PlacedPackage[] = [root];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const { manifest } = next;
    const wanted: [string, boolean][] = [
      ...Object.keys(manifest.dependencies).map((d): [string, boolean] => [d, false]),
      ...Object.keys(manifest.optionalDependencies).map((d): [string, boolean] => [d, true]),
      ...Object.keys(manifest.peerDependencies).map((d): [string, boolean] => [d, manifest.optionalPeers.has(d)]),
    ];
    for (const [dep, optional] of wanted) {
      const dir = await resolvePackageDir(dep, next.dir);
      if (dir === undefined) {
        if (optional) continue;
        throw new OutpostError('BUNDLE_AGENT_UNAVAILABLE', `${manifest.name} needs ${dep}, which is not installed next to it (${next.dir})`);
      }
      const chain = lookupChain(next.placement, dep);
      const found = chain.find((p) => placed.has(p));
      if (found !== undefined && placed.get(found)?.dir === dir) continue;
      // The top is free, or Node would find another copy on the way up: place it nearest.
      const placement = found === undefined ? (chain[chain.length - 1] ?? `node_modules/${dep}`) : (chain[0] ?? `node_modules/${dep}`);
      if (placed.has(placement)) {
        throw new OutpostError('BUNDLE_AGENT_UNAVAILABLE', `cannot lay out ${dep} for ${manifest.name}: ${placement} is taken`);
      }
      const pkg: PlacedPackage = { dir, placement, manifest: await readManifest(dir), linked: linked(dir) };
      placed.set(placement, pkg);
      queue.push(pkg);
    }
  }
  return [...placed.values()];
}
