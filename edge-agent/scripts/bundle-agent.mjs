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
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const agentDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(agentDir, 'dist', 'src', 'main.js');
const outDir = join(agentDir, 'dist', 'standalone');
const temp = `${outDir}.${process.pid}.tmp`;

/**
 * Libraries mqtt.js loads for transports and timers the agent never uses (it speaks mqtts with
 * Node's timers): WebSockets (ws), SOCKS proxies (socks) and browser worker timers. In the
 * one-file agent they are stand-ins whose every export throws, saying why, if ever called.
 */
const UNUSED_BY_THE_AGENT = ['ws', 'socks', 'worker-timers'];
const unusedLibraries = {
  name: 'unused-mqtt-transports',
  setup(b) {
    const filter = new RegExp(`^(${UNUSED_BY_THE_AGENT.join('|')})$`);
    b.onResolve({ filter }, (args) => (/[\\/]node_modules[\\/]mqtt[\\/]/.test(args.importer) ? { path: args.path, namespace: 'unused-by-the-agent' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'unused-by-the-agent' }, (args) => ({
      loader: 'js',
      contents: `const refuse = function () { throw new Error(${JSON.stringify(`${args.path} is not part of the one-file Outpost agent (mqtt.js loaded it for a transport the agent does not use)`)}); };
module.exports = new Proxy({}, { get: (_, key) => (key === '__esModule' ? undefined : refuse) });`,
    }));
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
  plugins: [unusedLibraries],
  legalComments: 'none',
  minify: true,
  // Error and class names stay readable in logs and stack traces.
  keepNames: true,
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
