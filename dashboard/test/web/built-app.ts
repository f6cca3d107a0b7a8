/** The app as `npm run build` left it in dashboard/dist/web, for the suites that check it. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export const APP_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));

export interface BuiltAsset {
  readonly name: string;
  readonly body: Buffer;
  readonly gzipBytes: number;
}

export interface BuiltApp {
  readonly html: string;
  /** The entry chunk's file name (index.html's module script). */
  readonly entry: string;
  /** Chunks index.html preloads with the entry (loaded before the first page renders). */
  readonly preloaded: readonly string[];
  readonly assets: readonly BuiltAsset[];
}

export async function builtApp(): Promise<BuiltApp> {
  let html: string;
  try {
    html = await readFile(join(APP_DIR, 'index.html'), 'utf8');
  } catch (cause) {
    throw new Error(`the web app is not built in ${APP_DIR}: run \`npm run build\``, { cause });
  }
  const entry = /<script type="module"[^>]*src="\/assets\/([^"]+)"/.exec(html)?.[1];
  if (entry === undefined) throw new Error('index.html has no module script under /assets');
  const preloaded = [...html.matchAll(/<link rel="modulepreload"[^>]*href="\/assets\/([^"]+)"/g)].map((m) => m[1] ?? '');
  const names = await readdir(join(APP_DIR, 'assets'));
  const assets: BuiltAsset[] = [];
  for (const name of names) {
    const body = await readFile(join(APP_DIR, 'assets', name));
    assets.push({ name, body, gzipBytes: gzipSync(body, { level: 9 }).length });
  }
  return { html, entry, preloaded, assets };
}
