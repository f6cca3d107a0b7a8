#!/usr/bin/env node
/**
 * Builds the agent as installed on a device: `dist/standalone/`, laid out like the install
 * bundle's `agent/` directory —
 *
 *   package.json               name, version, "type": "module" (no dependencies: nothing to install)
 *   dist/src/main.js           the agent (dist/src/main.js after `tsc -b`) and every library it
 *                              runs, in one ES module (esbuild), so a device loads one file
 *                              instead of ~1,200 modules
 *   dist/src/chunk-HASH.js     what the agent loads only on demand (node-forge, to build a CSR)
 *   THIRD-PARTY-LICENSES       the licence of every library inside main.js
 *   inputs.json                the workspace files main.js was built from, so the bundle builder
 *                              can tell a stale file (rebuilt with `tsc -b` but not bundled)
 *
 * The path `dist/src/main.js` is the launcher's and install.sh's contract (installed launchers
 * are never replaced), so the bundled agent takes the place of the compiled one.
 *
 *   npm run bundle -w @outpost/edge-agent     (run by the root `npm run build`, after `tsc -b`)
 */
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const agentDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(agentDir, 'dist', 'src', 'main.js');
const outDir = join(agentDir, 'dist', 'standalone');
const temp = `${outDir}.${process.pid}.tmp`;

/**
 * Libraries the agent's libraries load for what the agent never does. In the one-file agent
 * they are stand-ins whose every export throws, saying why, if ever called:
 *   - mqtt.js: WebSockets (ws), SOCKS proxies (socks) and browser worker timers — the agent
 *     speaks mqtts with Node's timers;
 *   - pino: thread-stream, its worker-thread transports — the agent logs to stdout.
 * Each costs memory on the device just by being loaded (issue 12: edge agent RSS).
 */
const UNUSED_BY_THE_AGENT = { mqtt: ['ws', 'socks', 'worker-timers'], pino: ['thread-stream'] };
/** What pino reads of worker_threads (whether it runs on the main thread, as the agent always does). */
const PINO_WORKER_THREADS = 'module.exports = { isMainThread: true };';
const importedBy = (pkg, importer) => new RegExp(`[\\\\/]node_modules[\\\\/]${pkg}[\\\\/]`).test(importer);
const unusedLibraries = {
  name: 'unused-by-the-agent',
  setup(b) {
    for (const [pkg, names] of Object.entries(UNUSED_BY_THE_AGENT)) {
      b.onResolve({ filter: new RegExp(`^(${names.join('|')})$`) }, (args) => (importedBy(pkg, args.importer) ? { path: `${pkg}:${args.path}`, namespace: 'unused-by-the-agent' } : undefined));
    }
    b.onResolve({ filter: /^(node:)?worker_threads$/ }, (args) => (importedBy('pino', args.importer) ? { path: 'pino:worker_threads', namespace: 'unused-by-the-agent' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'unused-by-the-agent' }, (args) => {
      if (args.path === 'pino:worker_threads') return { loader: 'js', contents: PINO_WORKER_THREADS };
      const [pkg, name] = args.path.split(':');
      return {
        loader: 'js',
        contents: `const refuse = function () { throw new Error(${JSON.stringify(`${name} is not part of the one-file Outpost agent (${pkg} loaded it for something the agent does not use)`)}); };
module.exports = new Proxy({}, { get: (_, key) => (key === '__esModule' ? undefined : refuse) });`,
      };
    });
  },
};

/**
 * rxjs as ES modules: its package sends Node to the CommonJS build, whose index loads every
 * operator; the ES build lets esbuild keep only the few the agent uses (-150 KiB of code).
 */
const rxjsAsEsModules = {
  name: 'rxjs-es-modules',
  setup(b) {
    b.onResolve({ filter: /^rxjs$/ }, () => ({ path: join(dirname(createRequire(entry).resolve('rxjs/package.json')), 'dist', 'esm', 'index.js') }));
  },
};

const manifest = JSON.parse(await readFile(join(agentDir, 'package.json'), 'utf8'));
await readFile(entry).catch((err) => {
  process.stderr.write(`bundle-agent: ${entry} is missing — run \`tsc -b\` first (${err.message})\n`);
  process.exit(1);
});

await rm(temp, { recursive: true, force: true });
const result = await build({
  entryPoints: [entry],
  outdir: join(temp, 'dist', 'src'),
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  // What is loaded with import() (node-forge, for enrollment and renewal only) becomes a chunk
  // of its own, read from disk only when a CSR is built.
  splitting: true,
  platform: 'node',
  format: 'esm',
  // The oldest Node.js the agent runs on: 20.0 (install.sh's minimum), which also covers the
  // runtime armv7l bundles carry (20.11.0, the newest the registry has for 32-bit ARM; issue 17).
  target: 'node20',
  // The CommonJS libraries (mqtt, pino, node-forge) require Node's built-ins at run time.
  banner: { js: "import { createRequire as __outpostCreateRequire } from 'node:module';\nconst require = __outpostCreateRequire(import.meta.url);" },
  // ws's optional native accelerators: ws falls back to JavaScript when they are absent.
  external: ['bufferutil', 'utf-8-validate'],
  plugins: [unusedLibraries, rxjsAsEsModules],
  legalComments: 'none',
  // Whitespace and syntax only: identifiers keep their names, so error and class names stay
  // readable in logs and stack traces without keepNames, whose call per function and class
  // cost ~5 MB of the device's RSS (issue 12).
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
  logLevel: 'warning',
});

// Licences of the libraries inside main.js (one per package directory under node_modules).
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const at = input.lastIndexOf('node_modules/');
  if (at === -1) continue;
  const rest = input.slice(at + 'node_modules/'.length).split('/');
  const name = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  packages.set(name, join(input.slice(0, at), 'node_modules', name));
}
const licences = [];
for (const [name, dir] of [...packages].sort(([a], [b]) => (a < b ? -1 : 1))) {
  const pkgDir = resolve(process.cwd(), dir);
  const pkg = JSON.parse(await readFile(join(pkgDir, 'package.json'), 'utf8'));
  const file = (await readdir(pkgDir)).find((f) => /^licen[cs]e/i.test(f));
  const text = file === undefined ? `(${pkg.license ?? 'no licence file'})` : (await readFile(join(pkgDir, file), 'utf8')).trim();
  licences.push(`${name}@${pkg.version}\n${'-'.repeat(name.length + pkg.version.length + 1)}\n${text}\n`);
}
await writeFile(join(temp, 'THIRD-PARTY-LICENSES'), licences.join('\n'));

const standaloneManifest = {
  name: manifest.name,
  version: manifest.version,
  description: `${manifest.description} (one-file build)`,
  type: 'module',
  license: manifest.license,
};
await writeFile(join(temp, 'package.json'), `${JSON.stringify(standaloneManifest, null, 2)}\n`);
// Inputs outside node_modules (the agent's, protocol's and rules' compiled files), relative to the agent package.
const inputs = Object.keys(result.metafile.inputs)
  .filter((i) => !i.includes('node_modules/') && !i.startsWith('unused-by-the-agent:'))
  .map((i) => relative(agentDir, resolve(process.cwd(), i)))
  .sort();
await writeFile(join(temp, 'inputs.json'), `${JSON.stringify({ v: 1, inputs }, null, 2)}\n`);

await mkdir(dirname(outDir), { recursive: true });
await rm(outDir, { recursive: true, force: true });
await rename(temp, outDir);
const bytes = Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0);
process.stdout.write(`bundle-agent: ${relative(process.cwd(), join(outDir, 'dist', 'src', 'main.js'))} and its chunks (${(bytes / 1024).toFixed(0)} KiB from ${Object.keys(result.metafile.inputs).length} modules, ${packages.size} libraries)\n`);
