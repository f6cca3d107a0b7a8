/**
 * A throwaway npm registry on 127.0.0.1 that serves only the packages already installed in the
 * repository's own `node_modules` (every copy, hoisted or nested, so each version the lockfile
 * resolved is there). The pack test installs the agent's tarballs against it with an empty npm
 * cache: the install proves "installs alone" without the public registry and without depending on
 * what this machine's npm cache happens to hold.
 *
 * Packuments are built from each installed `package.json`; a tarball is made on first request with
 * GNU tar (`package/` prefix, nested `node_modules` left out) and its integrity computed here.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile, readdir, lstat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

interface Installed {
  readonly dir: string;
  readonly manifest: Record<string, unknown> & { name: string; version: string };
}

export interface WorkspaceRegistry {
  readonly url: string;
  /** Package names npm asked for that this registry could not serve (a missing install step). */
  readonly misses: readonly string[];
  close(): Promise<void>;
}

async function isDir(path: string): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined);
  // Workspace links (`@outpost/*`) are symlinks: they are packed by the test itself, never served.
  return info?.isDirectory() === true;
}

async function collect(modules: string, into: Map<string, Installed[]>): Promise<void> {
  for (const entry of await readdir(modules).catch(() => [] as string[])) {
    if (entry.startsWith('.')) continue;
    const path = join(modules, entry);
    if (entry.startsWith('@')) {
      await collect(path, into);
      continue;
    }
    if (!(await isDir(path))) continue;
    const text = await readFile(join(path, 'package.json'), 'utf8').catch(() => undefined);
    if (text !== undefined) {
      const manifest = JSON.parse(text) as Installed['manifest'];
      if (typeof manifest.name === 'string' && typeof manifest.version === 'string') {
        const list = into.get(manifest.name) ?? [];
        if (!list.some((i) => i.manifest.version === manifest.version)) list.push({ dir: path, manifest });
        into.set(manifest.name, list);
      }
    }
    await collect(join(path, 'node_modules'), into);
  }
}

async function packDir(dir: string, workDir: string, fileName: string): Promise<Buffer> {
  const out = join(workDir, fileName);
  await run('tar', ['-czf', out, '--exclude=./node_modules', '--transform', 's,^\\.,package,', '-C', dir, '.']);
  return readFile(out);
}

/** Starts the registry over `<root>/node_modules`; `workDir` receives the tarballs it makes. */
export async function startWorkspaceRegistry(root: string, workDir: string): Promise<WorkspaceRegistry> {
  const installed = new Map<string, Installed[]>();
  await collect(join(root, 'node_modules'), installed);
  const tarballs = new Map<string, Promise<Buffer>>();
  const misses: string[] = [];
  const tarballName = (name: string, version: string): string => `${name.replace('/', '__')}-${version}.tgz`;
  const tarballOf = (item: Installed): Promise<Buffer> => {
    const file = tarballName(item.manifest.name, item.manifest.version);
    let made = tarballs.get(file);
    if (made === undefined) {
      made = packDir(item.dir, workDir, file);
      tarballs.set(file, made);
    }
    return made;
  };

  let base = '';
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
      const tarball = /^\/-\/tarballs\/(.+\.tgz)$/.exec(path)?.[1];
      if (tarball !== undefined) {
        const item = [...installed.values()].flat().find((i) => tarballName(i.manifest.name, i.manifest.version) === tarball);
        if (item === undefined) {
          res.writeHead(404).end();
          return;
        }
        const body = await tarballOf(item);
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length }).end(body);
        return;
      }
      const name = path.slice(1);
      const items = installed.get(name);
      if (items === undefined) {
        misses.push(name);
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not installed in the workspace"}');
        return;
      }
      const versions: Record<string, unknown> = {};
      for (const item of items) {
        const body = await tarballOf(item);
        versions[item.manifest.version] = {
          ...item.manifest,
          _id: `${name}@${item.manifest.version}`,
          dist: {
            tarball: `${base}/-/tarballs/${encodeURIComponent(tarballName(name, item.manifest.version))}`,
            integrity: `sha512-${createHash('sha512').update(body).digest('base64')}`,
            shasum: createHash('sha1').update(body).digest('hex'),
          },
        };
      }
      const latest = items.map((i) => i.manifest.version).at(-1) ?? '0.0.0';
      const packument = JSON.stringify({ name, 'dist-tags': { latest }, versions });
      res.writeHead(200, { 'content-type': 'application/json' }).end(packument);
    })().catch((err: unknown) => {
      res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${base}/`,
    misses,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
