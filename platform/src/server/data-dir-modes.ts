/**
 * Modes at rest (issue 11, D7): the data dir holds the state database (sealed CA key, sessions,
 * sealed webhook secrets), telemetry.sqlite, the spool and blobs — none of it is for other local
 * users. At every start of `outpost server` each directory in it must be 0700 and each file
 * 0600: a looser one is fixed and logged as a warning (which path, which mode), or, with
 * OUTPOST_STRICT_FILE_MODES=true, the start is refused with the list and the command that fixes
 * it. The process umask becomes 077, so what the server creates from now on is private too.
 */
import { chmod, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '../config/config-error.js';
import type { OutpostConfig } from '@outpost/kernel';

export interface LooseMode {
  readonly path: string;
  /** The mode found, as octal text (`0644`). */
  readonly mode: string;
  /** The mode required (`0600` or `0700`). */
  readonly required: string;
}

export interface DataDirModesDeps {
  /** Permission bits are only enforced on POSIX systems. */
  readonly platform?: NodeJS.Platform;
  /** Sets the process umask (default `process.umask`; not possible in worker threads, then skipped). */
  readonly setUmask?: (mask: number) => void;
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

/** Directories and regular files under `root` (root included) whose mode lets group or others in. */
async function looseModes(root: string): Promise<LooseMode[]> {
  const found: LooseMode[] = [];
  const visit = async (path: string): Promise<void> => {
    const info = await lstat(path);
    if (info.isDirectory()) {
      if ((info.mode & 0o077) !== 0) found.push({ path, mode: octal(info.mode), required: '0700' });
      for (const name of await readdir(path)) await visit(join(path, name));
    } else if (info.isFile() && (info.mode & 0o077) !== 0) {
      found.push({ path, mode: octal(info.mode), required: '0600' });
    }
  };
  try {
    await lstat(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return found; // created 0700 by the platform
    throw err;
  }
  await visit(root);
  return found;
}

/** Fixes (or, when strict, refuses) loose modes in the data dir; answers what was found. */
export async function enforceDataDirModes(
  config: Pick<OutpostConfig, 'dataDir' | 'strictFileModes'>,
  log: Pick<Logger, 'warn'>,
  deps: DataDirModesDeps = {},
): Promise<LooseMode[]> {
  if ((deps.platform ?? process.platform) === 'win32') return [];
  try {
    (deps.setUmask ?? ((mask: number) => process.umask(mask)))(0o077);
  } catch {
    // A worker thread cannot change the umask; the modes below are still enforced.
  }
  const loose = await looseModes(config.dataDir);
  if (loose.length === 0) return loose;
  if (config.strictFileModes) {
    const list = loose.map((l) => `${l.path} is ${l.mode} (must be ${l.required})`).join('; ');
    throw new ConfigError(
      'CONFIG_FILE_MODES_INSECURE',
      `the data dir has files other users can access: ${list}; run: chmod -R go-rwx ${config.dataDir} ` +
        '(or unset OUTPOST_STRICT_FILE_MODES to let the server fix the modes at start)',
    );
  }
  for (const entry of loose) {
    await chmod(entry.path, Number.parseInt(entry.required, 8));
    log.warn({ path: entry.path, mode: entry.mode, fixedTo: entry.required }, `file mode too open: ${entry.path} was ${entry.mode}, set to ${entry.required}`);
  }
  return loose;
}
