/** The text `outpost demo` prints once the fleet runs: where to look, how to sign in, what to try. */
import type { AdminPassword } from './admin-access.js';
import { DEMO_APP, type DemoOta } from './demo-ota.js';

/** The demo's OTA as the banner shows it: ready (key, release, rollout), or why not. */
export type BannerOta = ({ readonly kind: 'ready' } & DemoOta) | { readonly kind: 'failed'; readonly reason: string };

export interface BannerInput {
  readonly operatorUrl: string;
  readonly admin: AdminPassword;
  /** Devices whose agent runs, and those that could not be enrolled or started. */
  readonly running: readonly string[];
  readonly failed: readonly string[];
  readonly warmDevice: string | undefined;
  readonly rules: readonly string[];
  readonly ota: BannerOta;
  /** `embedded` (SQLite in the data dir) or the InfluxDB URL. */
  readonly telemetry: string;
  readonly dataDir: string;
  /** The JSON log file, when the log goes there rather than to stdout. */
  readonly logFile?: string;
}

export function demoBanner(input: BannerInput): string {
  const url = input.operatorUrl.replace(/\/$/, '');
  const first = input.running[0] ?? 'DEVICE';
  const lines = [
    '',
    '  Outpost demo is running.',
    '',
    `  Dashboard             ${url}/   (the fleet page; sign in below)`,
    `  REST API              ${url}/api/v1`,
    `  API docs              ${url}/api/docs`,
    `  Live events (SSE)     ${url}/api/v1/live?topics=telemetry,alerts,status`,
    ...passwordLines(input.admin),
    `  Devices (group demo)  ${input.running.length === 0 ? '(none running)' : input.running.map((id) => (id === input.warmDevice ? `${id} (runs warm)` : id)).join(', ')}`,
    ...(input.failed.length === 0 ? [] : [`  Not running           ${input.failed.join(', ')} (see ${input.logFile ?? 'the log above'})`]),
    `  Alert rules           ${input.rules.join(', ')}`,
    `  Telemetry             ${input.telemetry === 'embedded' ? 'embedded store in the data dir (OUTPOST_INFLUX_URL sends it to InfluxDB)' : `InfluxDB at ${input.telemetry}`}`,
    `  Data                  ${input.dataDir} (a second start reuses this fleet)`,
    ...(input.logFile === undefined ? [] : [`  Log (JSON lines)      ${input.logFile}`]),
    ...otaLines(input.ota, url),
    '',
    '  Try:',
    `    npx outpost login --server ${url} --username ${input.admin.username}`,
    '    npx outpost devices list',
    `    npx outpost telemetry query ${first} --metric temperature`,
    '    npx outpost rules list',
    '',
    '  Ctrl-C stops the fleet, then the platform.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}

function otaLines(ota: BannerOta, url: string): string[] {
  if (ota.kind === 'failed') return [`  OTA                   not ready: ${ota.reason}`];
  const started = ota.rolloutState !== 'draft';
  return [
    `  Signing key           ${ota.keyFile} (${ota.keyId}; ${ota.trusted ? 'every demo device trusts it' : 'NOT in the TrustSet: devices will refuse the release'})`,
    `  Release               ${DEMO_APP.name} ${DEMO_APP.version} (${ota.artifactId}), signed, uploaded`,
    `  Rollout               ${ota.rolloutId} (${ota.rolloutState})`,
    ...(started
      ? [`                        ${url}/rollouts/${ota.rolloutId}`]
      : [
          `  Start the rollout     npx outpost rollouts resume ${ota.rolloutId}`,
          `                        or in the dashboard: ${url}/rollouts/${ota.rolloutId} (Start)`,
        ]),
  ];
}

function passwordLines(admin: AdminPassword): string[] {
  switch (admin.kind) {
    case 'generated':
      return [`  Sign in               ${admin.username} / ${admin.password}   (generated; shown only now)`];
    case 'env':
      return [`  Sign in               ${admin.username} / the password from OUTPOST_ADMIN_PASSWORD`];
    case 'reset':
      return [`  Sign in               ${admin.username} / ${admin.password}   (just set by --reset-admin-password)`];
    case 'unknown':
      return [
        `  Sign in               ${admin.username} / the password shown when this data dir was created`,
        '                        forgot it? restart with: npm start -- --reset-admin-password',
        '                        (sets a new one, or OUTPOST_ADMIN_PASSWORD when set)',
      ];
  }
}
