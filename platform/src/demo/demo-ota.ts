/**
 * The demo's OTA: a signing key in DATA_DIR/demo/ota (made before any agent starts, so every
 * demo device trusts it from its first connection), the TrustSet holding it, a signed release
 * of a small app the demo agents really install (a .tar.gz with a health check), and a draft
 * rollout of it to the demo group that an operator starts from the CLI or the dashboard.
 * Each step looks first and makes only what is missing, so a restart on the same data dir
 * keeps the key, the release and the rollout.
 *
 * The key is written without a passphrase (0600, in the 0700 data dir): a passphrase kept next
 * to it, with the same mode, would protect nothing more, and the demo must start unattended.
 * Real keys stay off the server and carry a passphrase (README "Push signed firmware").
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { tarArchive } from '@outpost/edge-agent/bundle';
import { buildManifest, buildTrustSet, createSigningKeyPem, readSigningKeyPem, signManifest, signTrustSet, type SignedManifest, type SigningKey } from '@outpost/ota/signing';
import type { DemoApi } from './demo-api.js';
import { DEMO_GROUP } from './demo-fleet.js';

/** What the demo agents call their hardware (`--hardware`), and what the demo release targets. */
export const DEMO_HARDWARE = 'outpost-demo';
export const DEMO_APP = { name: 'demo-app', version: '1.1.0' } as const;

export interface DemoRolloutOptions {
  /** The rollout gate's soak per wave (a duration string, e.g. `30s`). */
  readonly soak: string;
  /** Cumulative waves in percent of the demo group. */
  readonly waves: readonly number[];
}

export interface DemoOta {
  readonly keyFile: string;
  readonly keyId: string;
  /** False when the TrustSet already held other keys and not this one (an operator changed it). */
  readonly trusted: boolean;
  readonly artifactId: string;
  readonly rolloutId: string;
  readonly rolloutState: string;
}

/** The demo's key pair: read from DATA_DIR/demo/ota/signing-key.pem, or made there (0600) on the first start. */
export async function ensureDemoKey(dataDir: string): Promise<{ key: SigningKey; file: string; created: boolean }> {
  const dir = join(dataDir, 'demo', 'ota');
  const file = join(dir, 'signing-key.pem');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const existing = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (existing !== undefined) return { key: readSigningKeyPem(existing, undefined), file, created: false };
  const { pem } = createSigningKeyPem(undefined);
  await writeFile(file, pem, { flag: 'wx', mode: 0o600 });
  return { key: readSigningKeyPem(pem, undefined), file, created: true };
}

interface TrustAnswer {
  readonly version: number;
  readonly trustSet: { readonly keys: readonly { keyId: string; alg: 'ed25519'; publicKey: string }[] };
}

/** Registers the key as the first TrustSet (signed by itself); answers whether the set trusts it. */
export async function ensureDemoTrust(api: DemoApi, key: SigningKey): Promise<boolean> {
  const current = await api.ok<TrustAnswer>('GET', '/signing-keys');
  if (current.trustSet.keys.some((k) => k.keyId === key.keyId)) return true;
  if (current.trustSet.keys.length > 0) return false;
  const first = signTrustSet(buildTrustSet(current.version + 1, [{ keyId: key.keyId, alg: key.alg, publicKey: key.publicKey }]), [key]);
  await api.ok('POST', '/signing-keys', { trustSet: first });
  return true;
}

/** The release artifact: `app.txt` and a `VERSION` file in a .tar.gz, as the agent extracts it into its app slot. */
export function demoArtifact(now: number): Buffer {
  const files = [
    { path: 'VERSION', data: Buffer.from(`${DEMO_APP.version}\n`) },
    { path: 'app.txt', data: Buffer.from(`Outpost demo app ${DEMO_APP.version}: installed by the demo rollout.\n`) },
  ];
  return gzipSync(tarArchive(files.map((file) => ({ type: 'file', path: file.path, data: file.data, mtime: now }))));
}

/**
 * The signed release: built and signed once into DATA_DIR/demo/ota (artifact + signed
 * manifest), uploaded when the platform does not hold it (uploading it again is harmless).
 */
export async function ensureDemoRelease(api: DemoApi, dataDir: string, key: SigningKey, now: number): Promise<SignedManifest> {
  const dir = join(dataDir, 'demo', 'ota');
  const artifactFile = join(dir, `${DEMO_APP.name}-${DEMO_APP.version}.tar.gz`);
  const manifestFile = join(dir, `${DEMO_APP.name}-${DEMO_APP.version}.manifest.json`);
  let signed: SignedManifest;
  const stored = await readFile(manifestFile, 'utf8').catch(() => undefined);
  if (stored !== undefined && stored.trim() !== '') {
    signed = JSON.parse(stored) as SignedManifest;
  } else {
    await writeFile(artifactFile, demoArtifact(now), { mode: 0o600 });
    const manifest = await buildManifest(artifactFile, {
      id: randomUUID(),
      name: DEMO_APP.name,
      version: DEMO_APP.version,
      type: 'archive',
      hardware: [DEMO_HARDWARE],
      healthCheck: { cmd: 'test -f app.txt', timeoutS: 5, intervalS: 1, attempts: 3 },
      createdAt: now,
    });
    signed = signManifest(manifest, key);
    await writeFile(manifestFile, `${JSON.stringify(signed, null, 2)}\n`, { mode: 0o600 });
  }
  const held = await api.call('GET', `/firmware/${encodeURIComponent(signed.manifest.id)}`);
  if (held.status === 200) return signed;
  const boundary = `outpost-demo-${randomUUID()}`;
  const payload = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="manifest"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(signed.manifest)}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="signature"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(signed.signature)}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="artifact"; filename="${DEMO_APP.name}.tar.gz"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ),
    await readFile(artifactFile),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  await api.post('/firmware', `multipart/form-data; boundary=${boundary}`, payload);
  return signed;
}

interface RolloutItem {
  readonly id: string;
  readonly artifactId: string;
  readonly state: string;
}

/** The demo rollout of `artifactId`: the one that exists (in whatever state), else a new draft. */
export async function ensureDemoRollout(api: DemoApi, artifactId: string, options: DemoRolloutOptions): Promise<RolloutItem> {
  let cursor: string | undefined;
  do {
    const page = await api.ok<{ items: RolloutItem[]; nextCursor?: string }>('GET', `/rollouts?limit=100${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
    const found = page.items.find((r) => r.artifactId === artifactId);
    if (found !== undefined) return found;
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return api.ok<RolloutItem>('POST', '/rollouts', {
    name: `${DEMO_APP.name} ${DEMO_APP.version} to the demo fleet`,
    artifactId,
    target: { group: DEMO_GROUP },
    waves: options.waves.map((percent) => ({ percent })),
    gate: { soak: options.soak, deviceTimeout: '5m' },
    confirmDeadline: '1m',
    startNow: false,
  });
}

/** Every OTA step of the demo, in order. */
export async function prepareDemoOta(input: { api: DemoApi; dataDir: string; key: SigningKey; keyFile: string; trusted: boolean; now: number; rollout: DemoRolloutOptions }): Promise<DemoOta> {
  const signed = await ensureDemoRelease(input.api, input.dataDir, input.key, input.now);
  const rollout = await ensureDemoRollout(input.api, signed.manifest.id, input.rollout);
  return { keyFile: input.keyFile, keyId: input.key.keyId, trusted: input.trusted, artifactId: signed.manifest.id, rolloutId: rollout.id, rolloutState: rollout.state };
}
