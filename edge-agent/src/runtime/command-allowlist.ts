/**
 * Remote configuration is not a remote shell (SPEC "Collector"): a `command` collector that
 * arrives in a DesiredConfig runs only when its program is on agent.json's `allowCommands`, the
 * device owner's list of absolute paths. The program is resolved first (a bare name through the
 * system directories, a path normalized) and the collector then runs exactly the resolved path,
 * so what was checked is what runs. Collectors in agent.json itself are the owner's and are not
 * checked here.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import type { Collector, DesiredConfig } from '@outpost/protocol';

/** Where a bare program name is looked up (not the agent's own PATH, which a unit may change). */
export const SYSTEM_PROGRAM_DIRS: readonly string[] = Object.freeze(['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']);

export type AllowlistVerdict = { readonly ok: true; readonly config: DesiredConfig } | { readonly ok: false; readonly code: 'CONFIG_COMMAND_NOT_ALLOWED'; readonly reason: string };

export interface CommandAllowlist {
  /** The normalized allowed paths. */
  readonly programs: readonly string[];
  /** The DesiredConfig with each command collector's `cmd` resolved, or why it is refused. */
  check(desired: DesiredConfig): Promise<AllowlistVerdict>;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    await access(path, constants.X_OK);
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** The absolute path `cmd` names, or why it names none. */
async function resolveProgram(cmd: string, dirs: readonly string[]): Promise<{ path: string } | { problem: string }> {
  if (cmd.includes('/')) {
    if (!isAbsolute(cmd)) return { problem: `${JSON.stringify(cmd)} is a relative path; a remote command collector needs an absolute path or a bare program name` };
    return { path: posix.normalize(cmd) };
  }
  for (const dir of dirs) {
    const candidate = join(dir, cmd);
    if (await isExecutableFile(candidate)) return { path: candidate };
  }
  return { problem: `program ${JSON.stringify(cmd)} was not found in ${dirs.join(':')}` };
}

export function createCommandAllowlist(allowed: readonly string[], options: { readonly source: string; readonly dirs?: readonly string[] }): CommandAllowlist {
  const programs = Object.freeze([...new Set(allowed.map((p) => posix.normalize(p)))]);
  const dirs = options.dirs ?? SYSTEM_PROGRAM_DIRS;
  const listed = programs.length === 0 ? 'it allows no programs' : `it allows ${programs.join(', ')}`;

  return {
    programs,
    async check(desired): Promise<AllowlistVerdict> {
      const collectors: Collector[] = [];
      for (const [index, collector] of desired.collectors.entries()) {
        if (collector.type !== 'command') {
          collectors.push(collector);
          continue;
        }
        const where = `collector ${index + 1} (command ${JSON.stringify(collector.cmd.slice(0, 200))})`;
        const resolved = await resolveProgram(collector.cmd, dirs);
        if ('problem' in resolved) {
          return { ok: false, code: 'CONFIG_COMMAND_NOT_ALLOWED', reason: `${where}: ${resolved.problem}; remote command collectors must be on allowCommands in ${options.source} (${listed})` };
        }
        if (!programs.includes(resolved.path)) {
          return {
            ok: false,
            code: 'CONFIG_COMMAND_NOT_ALLOWED',
            reason: `${where}: ${resolved.path} is not on this device's allowCommands in ${options.source} (${listed}); a remote config may only run programs the device owner allowed there`,
          };
        }
        collectors.push({ ...collector, cmd: resolved.path });
      }
      return { ok: true, config: { ...desired, collectors } };
    },
  };
}
