/**
 * Building the agent install bundle (`@outpost/edge-agent/bundle`), beside the install files it
 * ships (`../install/`): the agent payload (one bundled file, or the package with its
 * node_modules), the project's one tar writer (also the backups' and the demo's) and the bundle service. Server-side only — the device never
 * loads it. The registry keeps the HTTP route (`POST /agent-bundles`) and the enrollment token,
 * and calls this builder. Node built-ins and protocol only.
 */
export { AGENT_MAIN, createAgentPayloads } from './agent-payload.js';
export type { AgentPayload, AgentPayloadOptions } from './agent-payload.js';
export { BUNDLE_PREFIX, DEFAULT_AGENT_CONFIG, INSTALL_FILES, createBundleService } from './bundle-service.js';
export type { Bundle, BundleManifest, BundleRequest, BundleService, BundleServiceDeps } from './bundle-service.js';
export { isLoopbackHost } from './loopback-host.js';
export {
  AGENT_MIN_NODE_MAJOR,
  DEFAULT_RUNTIME_RANGE,
  RUNTIME_ARCHES,
  addRuntimeToBundle,
  createRuntimeStore,
  inRange,
  packRuntime,
  parseRuntimeChoice,
  readRuntimeTarball,
  runtimeEntries,
} from './node-runtime.js';
export type { RuntimeArch, RuntimeChoice, RuntimeChoiceParse, RuntimePart, RuntimeStoreOptions, RuntimeTarball } from './node-runtime.js';
export { packageClosure, readManifest, resolvePackageDir } from './package-closure.js';
export type { PackageManifest, PlacedPackage } from './package-closure.js';
export { isShipped, packageFiles } from './package-files.js';
export type { PackageFile } from './package-files.js';
export { STANDALONE_DIR, standaloneAgent } from './standalone-agent.js';
export type { StandaloneAgent } from './standalone-agent.js';
export { writeGzipTarFile } from './gzip-tar-file.js';
export type { GzipTarFileOptions } from './gzip-tar-file.js';
export { BLOCK, TAR_END, splitUstarPath, tarArchive, tarEntry, tarHeader, tarPadding } from './tar-writer.js';
export type { TarEntry, TarEntryHead } from './tar-writer.js';
