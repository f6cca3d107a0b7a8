/**
 * Editing a Raspberry Pi's cmdline.txt (one line of kernel arguments) for the first-boot hook:
 * `systemd.run=SCRIPT` with the actions that reboot afterwards, as Raspberry Pi Imager does.
 * Pure functions; the first-boot script undoes the edit itself (restore_cmdline).
 */

/** The arguments of a systemd.run hook: ours are removed before we add ours again, another is chained. */
const HOOK_ARGUMENT = /^(systemd\.run=|systemd\.run_success_action=|systemd\.run_failure_action=|systemd\.unit=kernel-command-line\.target$)/;

export interface CmdlineEdit {
  /** The new file content (one line and a newline). */
  readonly text: string;
  /** Whether the content differs from the input. */
  readonly changed: boolean;
  /** The command of another systemd.run hook (e.g. Imager's /boot/firstrun.sh) that ours replaces and must run first. */
  readonly chained: string | undefined;
  /** The line already ran our script (a second run of `outpost agent sdcard`). */
  readonly alreadyOurs: boolean;
}

export type CmdlineResult = { readonly ok: true; readonly edit: CmdlineEdit } | { readonly ok: false; readonly reason: string };

/** The arguments the hook adds, in order. */
export function firstrunHookArguments(scriptPath: string): readonly string[] {
  return [`systemd.run=${scriptPath}`, 'systemd.run_success_action=reboot', 'systemd.run_failure_action=reboot', 'systemd.unit=kernel-command-line.target'];
}

/**
 * Adds the hook that runs `scriptPath` once to cmdline.txt's content. Idempotent: the same input
 * twice gives the same line. Refuses what is not one line of kernel arguments with a root=.
 */
export function addFirstrunHook(text: string, scriptPath: string): CmdlineResult {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  if (lines.length === 0) return { ok: false, reason: 'cmdline.txt is empty' };
  if (lines.length > 1) return { ok: false, reason: `cmdline.txt has ${lines.length} lines; the firmware reads one line of kernel arguments` };
  const words = (lines[0] ?? '').trim().split(/\s+/);
  if (!words.some((word) => word.startsWith('root='))) return { ok: false, reason: 'cmdline.txt names no root= file system; it does not look like a Raspberry Pi OS kernel command line' };
  let chained: string | undefined;
  let alreadyOurs = false;
  for (const word of words) {
    if (!word.startsWith('systemd.run=')) continue;
    const command = word.slice('systemd.run='.length);
    if (command === scriptPath) alreadyOurs = true;
    else if (command.startsWith('"') || command === '') return { ok: false, reason: `cmdline.txt runs ${JSON.stringify(word)}, a quoted or empty systemd.run command that cannot be chained` };
    else chained = command;
  }
  const kept = words.filter((word) => !HOOK_ARGUMENT.test(word));
  const next = `${[...kept, ...firstrunHookArguments(scriptPath)].join(' ')}\n`;
  return { ok: true, edit: { text: next, changed: next !== text, chained, alreadyOurs } };
}
