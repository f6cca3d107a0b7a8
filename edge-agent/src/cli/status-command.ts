/** `outpost-agent status`: what the running agent last wrote to status.json, and the identity. */
import { loadIdentity } from '../identity/state-dir.js';
import { renewAt } from '../identity/renewal.js';
import { readStatusFile } from '../runtime/status-file.js';
import { COMMON_FLAGS, commonPaths } from './cli-context.js';
import type { CliDeps } from './cli-context.js';
import { helpText, parseFlags } from './parse-args.js';

/** Exit code when the agent is not running (as `systemctl status`). */
export const NOT_RUNNING_EXIT_CODE = 3;

export const STATUS_HELP = helpText(
  'outpost-agent status [--state-dir DIR]',
  'Prints the agent\'s connection, outbox depth, last send, versions, certificate expiry, installed firmware and OTA job. Exits 3 when the agent is not running.',
  COMMON_FLAGS,
);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function iso(ms: number | undefined): string {
  return ms === undefined ? 'never' : new Date(ms).toISOString();
}

export async function statusCommand(args: readonly string[], deps: CliDeps): Promise<number> {
  const parsed = parseFlags(args, COMMON_FLAGS);
  const { paths } = commonPaths(parsed);
  const identity = await loadIdentity(paths);
  const status = await readStatusFile(paths.status);
  const running = status !== undefined && status.state !== 'stopped' && isAlive(status.pid);
  const lines = [
    `device        ${identity.deviceId}`,
    `agent         ${running ? `running (pid ${status.pid})` : 'not running'}`,
    `connection    ${running ? status.state : 'none'} to ${identity.mqttUrl}`,
    `outbox        ${status === undefined ? 'unknown' : `${status.outbox.depth} batches, ${status.outbox.bytes} bytes (dropped ${status.outbox.dropped}, refused ${status.outbox.refused})`}`,
    `last send     ${iso(status?.lastSentAt)}`,
    `versions      agent ${status?.agentVersion ?? deps.agentVersion}, protocol v1, node ${process.version}`,
    `config        ${status === undefined ? 'unknown' : `${status.config.origin}${status.config.version === undefined ? '' : ` version ${status.config.version}`}`}`,
    `certificate   ${identity.serial} expires ${iso(identity.notAfter)} (renewal from ${iso(renewAt(identity))})`,
  ];
  if (status?.firmware !== undefined) lines.push(`firmware      ${status.firmware.name} ${status.firmware.version} (slot ${status.firmware.slot})`);
  if (status?.ota !== undefined) {
    const o = status.ota;
    const end = o.outcome === undefined ? o.phase : `${o.outcome}${o.error === undefined ? '' : ` (${o.error.code}: ${o.error.message})`}`;
    lines.push(`ota           job ${o.jobId}: ${o.name} ${o.version} — ${end}`);
  }
  if (status?.lastError !== undefined) lines.push(`last error    ${status.lastError.code}: ${status.lastError.message} (${iso(status.lastError.at)})`);
  if (status !== undefined) lines.push(`updated       ${iso(status.updatedAt)}`);
  deps.io.out(`${lines.join('\n')}\n`);
  return running ? 0 : NOT_RUNNING_EXIT_CODE;
}
