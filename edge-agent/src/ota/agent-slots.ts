/**
 * Installing into and switching the agent's own slots (launcher.sh's layout). The agent runs as
 * `outpost-agent` and the install root (/opt/outpost-agent) is root's, so on a device this goes
 * through the fixed root helper (install/helper.sh, behind outpost-agent-helper.path): the agent
 * unpacks the verified artifact into STATE/ota/next-slot and asks for `install-slot-X` (or
 * `switch-slot-X` to roll back), then waits until `current` points where it asked. Where the
 * agent may write the root itself (a development install, tests) it does the same directly, the
 * launcher's atomic way. `mode` picks: auto = direct when the root is writable, else the helper.
 */
import { access, constants, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { OutpostError } from '@outpost/protocol';
import type { Manifest } from '@outpost/protocol';
import { writeFileAtomic } from '../identity/atomic-file.js';
import { unpackAgent } from './install-steps.js';
import { describeStep, runStep } from './run-step.js';
import { currentSlot, switchCurrent } from './slots.js';
import type { Slot } from './slots.js';

export type AgentSlotMode = 'auto' | 'direct' | 'helper';

export interface AgentSlotsOptions {
  readonly home: string;
  readonly stateDir: string;
  readonly mode: AgentSlotMode;
  /** How long the helper may take to switch `current`. */
  readonly helperWaitMs: number;
  readonly installTimeoutMs: number;
  readonly signal: AbortSignal;
}

async function direct(options: AgentSlotsOptions): Promise<boolean> {
  if (options.mode !== 'auto') return options.mode === 'direct';
  try {
    await access(options.home, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

async function askHelper(options: AgentSlotsOptions, verb: string, slot: Slot): Promise<void> {
  const helper = join(options.home, 'helper');
  const asked = await runStep('', { cwd: options.stateDir, timeoutMs: 30_000, file: helper, args: ['--state-dir', options.stateDir, 'request', verb] });
  if (!asked.ok) throw new OutpostError('OTA_HELPER_FAILED', describeStep(`${helper} request ${verb}`, asked, 30_000));
  const deadline = Date.now() + options.helperWaitMs;
  while ((await currentSlot(options.home)) !== slot) {
    if (options.signal.aborted) throw options.signal.reason;
    if (Date.now() > deadline) {
      throw new OutpostError('OTA_HELPER_FAILED', `the root helper did not switch ${options.home}/current to slot ${slot} within ${Math.round(options.helperWaitMs / 1000)} s (is outpost-agent-helper.path enabled?)`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Unpacks the artifact for `target` (never the running slot) and makes it current, with a clean boot count. */
export async function installAgent(options: AgentSlotsOptions, target: Slot, archive: string, manifest: Manifest, beforeSwitch: () => Promise<void>): Promise<void> {
  if (await direct(options)) {
    await unpackAgent(join(options.home, target), archive, manifest, options.installTimeoutMs);
    if (options.signal.aborted) throw options.signal.reason;
    await beforeSwitch();
    await switchAgent({ ...options, mode: 'direct' }, target);
    return;
  }
  const next = join(options.stateDir, 'ota', 'next-slot');
  try {
    await unpackAgent(next, archive, manifest, options.installTimeoutMs);
    if (options.signal.aborted) throw options.signal.reason;
    await beforeSwitch();
    await askHelper(options, `install-slot-${target}`, target);
  } finally {
    await rm(next, { recursive: true, force: true });
  }
}

/** Points the agent's `current` at `slot` (activation or rollback): boot count 0, no pending rollback report. */
export async function switchAgent(options: AgentSlotsOptions, slot: Slot): Promise<void> {
  if (await direct(options)) {
    await switchCurrent(options.home, slot);
    await writeFileAtomic(join(options.stateDir, 'boot-attempts'), '0\n', 0o644);
    await rm(join(options.stateDir, 'rollback'), { force: true });
    return;
  }
  await askHelper(options, `switch-slot-${slot}`, slot);
}
