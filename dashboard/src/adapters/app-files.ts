import { readdir, readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

/** One file of the built web app, held in memory with its gzip form when that is smaller. */
export interface AppFile {
  readonly body: Buffer;
  readonly gzip: Buffer | undefined;
  readonly type: string;
}

/** The built single-page app: `index.html` and the hashed files under `assets/`, by URL path. */
export interface AppFiles {
  readonly index: AppFile;
  /** `/assets/index-3f2a1b.js` → its file. */
  readonly assets: ReadonlyMap<string, AppFile>;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
/**
 * Where `vite build` writes the app: the package's `dist/web`, whether this file runs compiled
 * (`dist/src/adapters/`) or as source (`src/adapters/`, in the package's own tests).
 */
export const DEFAULT_APP_DIR = join(HERE, HERE.includes(`${sep}dist${sep}src${sep}`) ? '../../..' : '../..', 'dist', 'web');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json']);

async function load(path: string): Promise<AppFile> {
  const ext = extname(path);
  const body = await readFile(path);
  const zipped = COMPRESSIBLE.has(ext) ? gzipSync(body, { level: 9 }) : undefined;
  return { body, gzip: zipped !== undefined && zipped.length < body.length ? zipped : undefined, type: TYPES[ext] ?? 'application/octet-stream' };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/**
 * Reads the built app into memory once (it is small: the budget is 100 KB of gzip JavaScript),
 * or answers undefined when it was never built (`index.html` missing).
 */
export async function loadAppFiles(dir: string = DEFAULT_APP_DIR): Promise<AppFiles | undefined> {
  let index: AppFile;
  try {
    index = await load(join(dir, 'index.html'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const assets = new Map<string, AppFile>();
  let paths: string[] = [];
  try {
    paths = await filesUnder(join(dir, 'assets'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const path of paths) {
    assets.set(`/${relative(dir, path).split(sep).join('/')}`, await load(path));
  }
  return { index, assets };
}
