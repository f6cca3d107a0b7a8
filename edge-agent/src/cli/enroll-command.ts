/**
 * `outpost-agent enroll --server URL (--token T | --token-file F) [--ca-fingerprint sha256:HEX]`.
 * Exit codes: 0 enrolled, 3 the platform refused the token (used up, expired, revoked or
 * unknown: a new one is needed), 2 a usage error, 1 anything else (the token was not accepted,
 * so it can be used again once the cause is fixed).
 */
import { readFile } from 'node:fs/promises';
import { OutpostError } from '@outpost/protocol';
import { enrollDevice } from '../identity/enroll.js';
import { ensurePrivateStateDir, isEnrolled, loadIdentity } from '../identity/state-dir.js';
import { COMMON_FLAGS, commonPaths } from './cli-context.js';
import type { CliDeps } from './cli-context.js';
import { durationFlag, helpText, parseFlags, requireFlag } from './parse-args.js';
import type { FlagSpec } from './parse-args.js';

const FLAGS: readonly FlagSpec[] = [
  { name: 'server', value: 'URL', help: 'the device listener, e.g. https://platform.example:8443' },
  { name: 'token', value: 'T', help: 'the enrollment token (visible to other users in ps; scripts use --token-file)' },
  { name: 'token-file', value: 'F', help: "read the token from file F ('-': standard input)" },
  { name: 'ca-fingerprint', value: 'sha256:HEX', help: "pin the platform CA by its fingerprint (checked before the token is sent)" },
  { name: 'ca', value: 'FILE', help: 'pin the platform CA with a PEM bundle (default: DIR/ca.pem when present)' },
  { name: 'device-id', value: 'ID', help: 'ask for this device id (default: the platform assigns one)' },
  { name: 'hardware', value: 'TEXT', help: 'hardware model reported to the platform' },
  { name: 'timeout', value: 'DURATION', help: 'HTTP timeout (default 15s)' },
  { name: 'insecure', switch: true, help: 'allow plain http:// (the token travels in clear)' },
  ...COMMON_FLAGS,
];

export const ENROLL_HELP = helpText(
  'outpost-agent enroll --server URL (--token T | --token-file F) [--ca-fingerprint sha256:HEX] [options]',
  'Enrolls this device: makes its RSA-2048 key (kept in DIR, 0700, as 0600), sends a CSR with the token and stores the certificate, CA chain and broker address. Exit 3: the platform refused the token (used up, expired, revoked or unknown); exit 1: another failure, the token was not used.',
  FLAGS,
);

export async function enrollCommand(args: readonly string[], deps: CliDeps): Promise<number> {
  const parsed = parseFlags(args, FLAGS);
  const { paths } = commonPaths(parsed);
  const server = requireFlag(parsed, 'server');
  const token = await readToken(parsed.flags.get('token'), parsed.flags.get('token-file'), deps);
  const dir = await ensurePrivateStateDir(paths);
  if (dir.loosenedMode !== undefined) {
    deps.io.err(`outpost-agent enroll: warning: ${paths.dir} was mode ${dir.loosenedMode.toString(8).padStart(4, '0')} (open to other users); made it 0700\n`);
  }
  if (await isEnrolled(paths)) {
    const identity = await loadIdentity(paths);
    throw new OutpostError('AGENT_ALREADY_ENROLLED', `${paths.dir} is already enrolled as ${identity.deviceId}; use another --state-dir or remove it to enroll again`);
  }
  const timeoutMs = durationFlag(parsed, 'timeout');
  const { answer } = await enrollDevice({
    server,
    token,
    paths,
    agentVersion: deps.agentVersion,
    insecure: parsed.switches.has('insecure'),
    ...(parsed.flags.has('ca') ? { caFile: parsed.flags.get('ca') } : {}),
    ...(parsed.flags.has('ca-fingerprint') ? { caFingerprint: parsed.flags.get('ca-fingerprint') } : {}),
    ...(parsed.flags.has('device-id') ? { deviceId: parsed.flags.get('device-id') } : {}),
    ...(parsed.flags.has('hardware') ? { hardware: parsed.flags.get('hardware') } : {}),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  deps.io.out(`enrolled as ${answer.deviceId}\n`);
  deps.io.out(`certificate ${answer.serial} valid until ${new Date(answer.notAfter).toISOString()} (renewal from ${new Date(answer.renewAfter).toISOString()})\n`);
  deps.io.out(`broker ${answer.mqttUrl}; state in ${paths.dir}\n`);
  deps.io.out(`next: outpost-agent run${parsed.flags.has('state-dir') ? ` --state-dir ${paths.dir}` : ''}\n`);
  return 0;
}

async function readToken(inline: string | undefined, file: string | undefined, deps: CliDeps): Promise<string> {
  if (inline !== undefined && file !== undefined) throw new OutpostError('CLI_USAGE_INVALID', 'give the token with --token or --token-file, not both');
  if (inline !== undefined) return inline;
  if (file === undefined) throw new OutpostError('CLI_USAGE_INVALID', '--token or --token-file is required (see --help)');
  let text: string;
  try {
    if (file !== '-') text = await readFile(file, 'utf8');
    else if (deps.readStdin !== undefined) text = await deps.readStdin();
    else throw new Error('standard input is not available here');
  } catch (err) {
    throw new OutpostError('CLI_USAGE_INVALID', `cannot read the token from ${file === '-' ? 'standard input' : file}: ${(err as Error).message}`, { cause: err });
  }
  const token = text.trim();
  if (token === '' || /\s/.test(token)) throw new OutpostError('CLI_USAGE_INVALID', `${file === '-' ? 'standard input' : file} must hold the token alone on one line`);
  return token;
}
