import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What one run of the openssl CLI printed. */
export interface OpensslRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * A throwaway directory and the real `openssl` CLI, the independent verifier of everything
 * these tests make. `close()` removes the directory.
 */
export interface OpensslWorkspace {
  readonly dir: string;
  /** Writes `text` to `name` in the directory and answers the path. */
  write(name: string, text: string): string;
  read(name: string): string;
  path(name: string): string;
  /** Runs openssl in the directory; never throws on a non-zero exit. */
  run(args: readonly string[]): OpensslRun;
  /** Runs openssl and throws with its stderr unless it exits 0; answers stdout. */
  ok(args: readonly string[]): string;
  close(): void;
}

export function opensslWorkspace(): OpensslWorkspace {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-pki-'));
  const path = (name: string): string => join(dir, name);
  const run = (args: readonly string[]): OpensslRun => {
    const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8', timeout: 30_000 });
    if (result.error !== undefined) throw result.error;
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  return {
    dir,
    path,
    write(name, text) {
      writeFileSync(path(name), text);
      return path(name);
    },
    read: (name) => readFileSync(path(name), 'utf8'),
    run,
    ok(args) {
      const result = run(args);
      if (result.status !== 0) throw new Error(`openssl ${args.join(' ')} exited ${String(result.status)}: ${result.stderr}`);
      return result.stdout;
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** `AB:CD:...` or `sha256 Fingerprint=AB:CD:...` → `abcd...`. */
export function normaliseHex(text: string): string {
  const value = text.includes('=') ? text.slice(text.lastIndexOf('=') + 1) : text;
  return value.replace(/[:\s]/g, '').toLowerCase();
}

/** Epoch ms of an openssl `notBefore=`/`notAfter=` line, e.g. `notAfter=Feb 19 16:30:56 2027 GMT`. */
export function opensslDate(output: string, field: 'notBefore' | 'notAfter'): number {
  const line = output.split('\n').find((candidate) => candidate.startsWith(`${field}=`));
  if (line === undefined) throw new Error(`no ${field} in ${output}`);
  return Date.parse(line.slice(field.length + 1));
}
