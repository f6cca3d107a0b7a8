/**
 * Which files of a placed package go into the bundle. A linked package (an npm workspace) is
 * packed as `npm pack` would: package.json, its `files` and licence. An installed
 * package already holds only what its author published, minus its own nested node_modules
 * (the closure places those). Everything drops what a device never runs: source maps, type
 * declarations, TypeScript sources, build info, markdown other than licences.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OutpostError } from '@outpost/protocol';
import type { PlacedPackage } from './package-closure.js';

export interface PackageFile {
  /** Relative to the root package, e.g. `node_modules/mqtt/build/index.js`. */
  readonly path: string;
  readonly source: string;
  readonly mode: number;
  readonly size: number;
  readonly mtimeMs: number;
}

const LICENCE_RE = /^(licen[cs]e|notice|copying)(\.|$)/i;
const DROPPED_RE = /(\.map|\.d\.[cm]?ts|\.tsbuildinfo|\.[cm]?ts|\.md|\.markdown)$/i;

/** Whether a file is worth shipping to a device (licences always are). */
export function isShipped(name: string): boolean {
  if (LICENCE_RE.test(name)) return true;
  return !DROPPED_RE.test(name);
}

async function walk(dir: string, rel: string, out: { rel: string; abs: string }[], skipTopNodeModules: boolean): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const abs = join(dir, entry.name);
    const childRel = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.name === '.git' || (skipTopNodeModules && rel === '' && entry.name === 'node_modules')) continue;
    const info = entry.isSymbolicLink() ? await stat(abs).catch(() => undefined) : undefined;
    if (entry.isDirectory() || info?.isDirectory() === true) {
      if (entry.name === 'node_modules') continue;
      await walk(abs, childRel, out, false);
    } else if (entry.isFile() || info?.isFile() === true) {
      if (isShipped(entry.name)) out.push({ rel: childRel, abs });
    }
  }
}

function plainEntry(pkg: PlacedPackage, entry: string): string {
  const cleaned = entry.replace(/^\.\//, '').replace(/\/+$/, '');
  if (cleaned === '' || /[*?![\]{}]/.test(cleaned) || cleaned.split('/').includes('..')) {
    throw new OutpostError('BUNDLE_AGENT_UNAVAILABLE', `${pkg.manifest.name}: cannot pack the "files" entry ${JSON.stringify(entry)} (plain paths only)`);
  }
  return cleaned;
}

/** The files of one package, sorted, with their paths in the bundle's tree. */
export async function packageFiles(pkg: PlacedPackage): Promise<PackageFile[]> {
  const found: { rel: string; abs: string }[] = [];
  if (pkg.linked && pkg.manifest.files !== undefined) {
    const top = await readdir(pkg.dir, { withFileTypes: true });
    for (const entry of top) {
      if (entry.isFile() && (entry.name === 'package.json' || LICENCE_RE.test(entry.name))) {
        found.push({ rel: entry.name, abs: join(pkg.dir, entry.name) });
      }
    }
    for (const listed of pkg.manifest.files) {
      const rel = plainEntry(pkg, listed);
      const abs = join(pkg.dir, rel);
      const info = await stat(abs).catch(() => undefined);
      if (info === undefined) continue; // npm pack skips a missing entry too
      if (info.isDirectory()) await walk(abs, rel, found, false);
      else if (isShipped(rel)) found.push({ rel, abs });
    }
  } else {
    await walk(pkg.dir, '', found, true);
  }
  const unique = new Map(found.map((f) => [f.rel, f]));
  const files: PackageFile[] = [];
  for (const { rel, abs } of [...unique.values()].sort((a, b) => (a.rel < b.rel ? -1 : 1))) {
    const info = await stat(abs);
    files.push({
      path: pkg.placement === '' ? rel : `${pkg.placement}/${rel}`,
      source: abs,
      mode: (info.mode & 0o111) !== 0 ? 0o755 : 0o644,
      size: info.size,
      mtimeMs: info.mtimeMs,
    });
  }
  return files;
}
