/*
 * The Compose file and the systemd units for real machines (deploy/compose, deploy/systemd) are
 * written, not runnable here (no container runtime, no systemd). What can drift without anyone
 * starting them is checked here, cheaply: they name only configuration keys the server knows,
 * each role's settings load through the server's own loadConfig, the roles exist, and the
 * Compose HAProxy configuration parses (`haproxy -c`, the Debian package the cluster tests use).
 */
import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { HAPROXY_EXECUTABLE, loadConfig } from '@outpost/e2e';
import { describeConfig } from '@outpost/platform';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const read = (path: string): Promise<string> => readFile(join(ROOT, path), 'utf8');
const exec = promisify(execFile);

/** Every key of the server's configuration table (the one `outpost server --help` prints). */
const KNOWN_KEYS = new Set([...describeConfig('markdown').matchAll(/^\| `(OUTPOST_[A-Z0-9_]+)` \|/gm)].map((m) => m[1] ?? ''));
/** Compose's own variable (which image to run), not a server setting. */
const COMPOSE_VARIABLES = new Set(['OUTPOST_IMAGE']);
const ROLES = ['all', 'broker', 'control'];

const namedKeys = (text: string): string[] => [...new Set([...text.matchAll(/\bOUTPOST_[A-Z0-9_]+\b/g)].map((m) => m[0]))];

/** Sample values for what the operator supplies (Compose interpolation, the env file). */
const SUPPLIED: Record<string, string> = {
  OUTPOST_SECRET_KEY: 'a'.repeat(64),
  OUTPOST_ADMIN_PASSWORD: 'correct-horse-battery',
  POSTGRES_PASSWORD: 'pgpassword1',
  OUTPOST_PUBLIC_HOST: 'mqtt.example.com',
};

/** `${NAME}`, `${NAME:-default}` and `${NAME:?message}` as Compose interpolates them, from SUPPLIED. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}/g, (_, name: string, kind: string | undefined, rest: string) => {
    const supplied = SUPPLIED[name];
    if (supplied !== undefined) return supplied;
    if (kind === '-') return rest;
    throw new Error(`compose.yaml needs ${name}, which the test does not supply`);
  });
}

/** The `x-outpost` environment block of compose.yaml (KEY: value lines, quotes removed). */
function composeEnvironment(compose: string): Record<string, string> {
  const block = /environment: &outpost-env\n((?:[ \t]+(?:#.*|[A-Z0-9_]+: .*)\n)+)/.exec(compose)?.[1];
  if (block === undefined) throw new Error('compose.yaml: no `environment: &outpost-env` block');
  const env: Record<string, string> = {};
  for (const line of block.split('\n')) {
    const m = /^\s+([A-Z0-9_]+): (.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) env[m[1]] = interpolate(m[2].trim().replace(/^"(.*)"$/, '$1'));
  }
  return env;
}

function load(env: Record<string, string>, role: string): ReturnType<typeof loadConfig> {
  return loadConfig({ env, role, cwd: '/', checkFile: () => undefined });
}

describe('deploy/compose', () => {
  it('names only configuration keys the server knows', async () => {
    expect(KNOWN_KEYS.size).toBeGreaterThan(50);
    const compose = await read('deploy/compose/compose.yaml');
    const unknown = namedKeys(compose).filter((key) => !KNOWN_KEYS.has(key) && !COMPOSE_VARIABLES.has(key));
    expect(unknown).toEqual([]);
  });

  it("each role's environment loads without error or unknown-key warning, and the roles exist", async () => {
    const compose = await read('deploy/compose/compose.yaml');
    const env = composeEnvironment(compose);
    expect(Object.keys(env).length).toBeGreaterThan(10);
    const roles = [...compose.matchAll(/command: \[server, --role, ([a-z]+)\]/g)].map((m) => m[1] ?? '');
    expect(roles.sort()).toEqual(['broker', 'control']);
    for (const role of roles) {
      const loaded = load(env, role);
      expect(loaded.ok ? [] : loaded.errors, role).toEqual([]);
      if (loaded.ok) {
        expect(loaded.warnings.filter((w) => /unknown|not a setting|ignored/i.test(w)), role).toEqual([]);
        expect(loaded.config.role).toBe(role);
        // HAProxy reaches every node's /readyz from another container.
        expect(loaded.config.http.host).toBe('0.0.0.0');
      }
    }
  });

  it('the same environment without its engines is refused for a cluster role (the check above can fail)', async () => {
    const env = composeEnvironment(await read('deploy/compose/compose.yaml'));
    delete env['OUTPOST_REDIS_URL'];
    const loaded = load(env, 'broker');
    expect(loaded.ok).toBe(false);
  });

  it('its HAProxy configuration parses (haproxy -c), and a broken one does not', async () => {
    await access(HAPROXY_EXECUTABLE);
    const cfg = join(ROOT, 'deploy/compose/haproxy.cfg');
    const { stdout } = await exec(HAPROXY_EXECUTABLE, ['-c', '-f', cfg]);
    expect(stdout).toMatch(/valid/i);
    const dir = await mkdtemp(join(tmpdir(), 'outpost-deploy-files-'));
    try {
      const broken = join(dir, 'broken.cfg');
      await writeFile(broken, (await readFile(cfg, 'utf8')).replace('server-template broker- 9 broker:8883', 'server-templat broker- 9 broker:8883'));
      await expect(exec(HAPROXY_EXECUTABLE, ['-c', '-f', broken])).rejects.toThrow();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // Compose mounts the file next to it.
    expect(await read('deploy/compose/compose.yaml')).toContain('./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
  });
});

describe('deploy/systemd', () => {
  it('names only configuration keys the server knows', async () => {
    for (const file of ['deploy/systemd/outpost@.service', 'deploy/systemd/outpost-haproxy.conf']) {
      const unknown = namedKeys(await read(file)).filter((key) => !KNOWN_KEYS.has(key));
      expect(unknown, file).toEqual([]);
    }
  });

  it("the unit's Environment= defaults plus the documented env file load for every role", async () => {
    const unit = await read('deploy/systemd/outpost@.service');
    expect(unit).toContain('--role %i');
    const defaults: Record<string, string> = {};
    for (const m of unit.matchAll(/^Environment=([A-Z0-9_]+)=(.*)$/gm)) if (m[1] !== undefined && m[2] !== undefined) defaults[m[1]] = m[2];
    // The shared env file the unit's comment documents (commented lines "#   KEY=value").
    const documented = [...unit.matchAll(/^#\s+(OUTPOST_[A-Z0-9_]+)=/gm)].map((m) => m[1] ?? '');
    expect(documented).toEqual(expect.arrayContaining(['OUTPOST_DATABASE_URL', 'OUTPOST_REDIS_URL', 'OUTPOST_INFLUX_URL', 'OUTPOST_PUBLIC_HOST']));
    expect(defaults['OUTPOST_SECRET_KEY_FILE']).toBe('/etc/outpost/secret.key');
    const envFile = {
      OUTPOST_DATABASE_URL: 'postgres://outpost:pw@db.internal:5432/outpost',
      OUTPOST_REDIS_URL: 'redis://redis.internal:6379',
      OUTPOST_INFLUX_URL: 'http://influx.internal:8086',
      OUTPOST_PUBLIC_HOST: 'mqtt.example.com',
      OUTPOST_ADMIN_PASSWORD: SUPPLIED['OUTPOST_ADMIN_PASSWORD'] ?? '',
    };
    for (const role of ROLES) {
      const env = Object.fromEntries(Object.entries({ ...defaults, ...envFile }).map(([k, v]) => [k, v.replaceAll('%i', role)]));
      const loaded = load(env, role);
      expect(loaded.ok ? [] : loaded.errors, role).toEqual([]);
      if (loaded.ok) {
        expect(loaded.warnings.filter((w) => /unknown|not a setting|ignored/i.test(w)), role).toEqual([]);
        // Each instance has its own data dir: a broker's spool is not another instance's.
        expect(loaded.config.dataDir).toBe(`/var/lib/outpost/${role}`);
      }
    }
  });
});
