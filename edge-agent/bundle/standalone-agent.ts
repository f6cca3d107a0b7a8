/**
 * The one-file agent (`dist/standalone/` of the agent package, made by the agent's
 * `npm run bundle`, which the root `npm run build` runs): package.json, dist/src/main.js with
 * every library inside, the chunks it loads on demand, and the libraries' licences. A device
 * then loads one file instead of ~1,200 modules (edge agent RSS: see README "Edge agent
 * footprint"). It is used only when it is at least as new as every workspace file it was built
 * from (its inputs.json), so an agent rebuilt with `tsc -b` alone is never shipped stale: the
 * caller falls back to the package with its node_modules and says why.
 */
import { readFile, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { PackageFile } from './package-files.js';

export const STANDALONE_DIR = 'dist/standalone';
/** Files of the standalone directory that stay on the server (build metadata). */
const SERVER_ONLY = new Set(['inputs.json']);

export type StandaloneAgent = { readonly ok: true; readonly files: readonly PackageFile[] } | { readonly ok: false; readonly reason: string };

async function listFiles(dir: string, base: string = dir): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const abs = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(abs, base)));
    else if (entry.isFile()) out.push(relative(base, abs));
  }
  return out;
}

function inputList(raw: unknown): readonly string[] | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const inputs = (raw as { inputs?: unknown }).inputs;
  return Array.isArray(inputs) && inputs.every((i) => typeof i === 'string') ? (inputs as string[]) : undefined;
}

/** The standalone agent's files (paths as in the bundle's `agent/`), or why it cannot be used. */
export async function standaloneAgent(agentDir: string, mainPath: string): Promise<StandaloneAgent> {
  const dir = join(agentDir, STANDALONE_DIR);
  const main = await stat(join(dir, mainPath)).catch(() => undefined);
  if (main === undefined) return { ok: false, reason: `${join(dir, mainPath)} does not exist (run \`npm run build\`, which bundles the agent after \`tsc -b\`)` };
  let inputs: readonly string[] | undefined;
  try {
    inputs = inputList(JSON.parse(await readFile(join(dir, 'inputs.json'), 'utf8')));
  } catch {
    inputs = undefined;
  }
  if (inputs === undefined || inputs.length === 0) return { ok: false, reason: `${join(dir, 'inputs.json')} is missing or unreadable` };
  for (const input of inputs) {
    const info = await stat(join(agentDir, input)).catch(() => undefined);
    if (info === undefined) return { ok: false, reason: `${input}, which it was built from, no longer exists (run \`npm run build\`)` };
    if (info.mtimeMs > main.mtimeMs) return { ok: false, reason: `${input} is newer than the bundled agent (run \`npm run build\`)` };
  }
  const files: PackageFile[] = [];
  for (const path of (await listFiles(dir)).sort()) {
    if (SERVER_ONLY.has(path)) continue;
    const info = await stat(join(dir, path));
    files.push({ path, source: join(dir, path), mode: path === mainPath || (info.mode & 0o111) !== 0 ? 0o755 : 0o644, size: info.size, mtimeMs: info.mtimeMs });
  }
  return { ok: true, files };
}
