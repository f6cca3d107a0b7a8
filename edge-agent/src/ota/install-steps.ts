/**
 * The install steps by manifest type, each on a verified staged artifact:
 *   archive  extract into the inactive app slot `STATE/apps/{name}/{a|b}` (switching happens in the engine)
 *   agent    extract into the inactive slot of the agent's install root (or, when the agent
 *            cannot write it, into STATE/ota/next-slot for the root helper); it must hold
 *            `dist/src/main.js` and a package.json of the manifest's version (what the launcher
 *            runs and what the new agent will report), else nothing is switched
 *   script   run the signed script itself, with a timeout
 * and the health check (manifest.healthCheck: up to `attempts` runs, `intervalS` apart).
 */
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { OutpostError } from '@outpost/protocol';
import type { Manifest } from '@outpost/protocol';
import { describeStep, runStep } from './run-step.js';
import { extractInto } from './slots.js';
import { abortableSleep } from './abortable-sleep.js';

export const AGENT_MAIN = 'dist/src/main.js';

/** Unpacks an agent artifact into `dir` (a slot, or STATE/ota/next-slot for the root helper) and checks its layout. */
export async function unpackAgent(dir: string, archive: string, manifest: Manifest, timeoutMs: number): Promise<string> {
  await extractInto(dir, archive, timeoutMs);
  const main = await stat(join(dir, AGENT_MAIN)).catch(() => undefined);
  if (main === undefined || !main.isFile()) {
    throw new OutpostError('OTA_ARTIFACT_LAYOUT_INVALID', `the agent artifact holds no ${AGENT_MAIN}: the launcher could not start it, so it is not activated`);
  }
  let version: unknown;
  try {
    version = (JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version?: unknown }).version;
  } catch {
    version = undefined;
  }
  if (version !== manifest.version) {
    throw new OutpostError('OTA_ARTIFACT_LAYOUT_INVALID', `the agent artifact's package.json says version ${String(version)}, the manifest ${manifest.version}: not activated`);
  }
  return dir;
}

export async function runScript(file: string, cwd: string, timeoutMs: number): Promise<void> {
  await chmod(file, 0o700);
  const result = await runStep('', { cwd, timeoutMs, file });
  if (!result.ok) throw new OutpostError('OTA_SCRIPT_FAILED', describeStep('the update script', result, timeoutMs));
}

export async function runActivate(manifest: Manifest, cwd: string): Promise<void> {
  if (manifest.activate === undefined) return;
  const timeoutMs = manifest.activate.timeoutS * 1000;
  const result = await runStep(manifest.activate.cmd, { cwd, timeoutMs });
  if (!result.ok) throw new OutpostError('OTA_ACTIVATE_FAILED', describeStep(`activate (${manifest.activate.cmd})`, result, timeoutMs));
}


/** Passes at the first successful run; throws OTA_HEALTH_CHECK_FAILED after the last failed one. */
export async function runHealthCheck(manifest: Manifest, cwd: string, signal: AbortSignal): Promise<void> {
  const check = manifest.healthCheck;
  if (check === undefined) return;
  const timeoutMs = check.timeoutS * 1000;
  let last = '';
  for (let attempt = 1; attempt <= check.attempts; attempt += 1) {
    if (signal.aborted) throw signal.reason;
    const result = await runStep(check.cmd, { cwd, timeoutMs });
    if (result.ok) return;
    last = describeStep(`health check (${check.cmd})`, result, timeoutMs);
    if (attempt < check.attempts) await abortableSleep(check.intervalS * 1000, signal);
  }
  throw new OutpostError('OTA_HEALTH_CHECK_FAILED', `${last} — failed ${check.attempts} of ${check.attempts} attempts`.slice(0, 1024));
}
