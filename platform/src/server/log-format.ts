/** Which log format a platform process writes: pure, so the choice is tested without a terminal. */
import type { LogFormat } from '@outpost/kernel';

/** `--log-format` wins over OUTPOST_LOG_FORMAT; `auto` is readable lines on a terminal, JSON otherwise. */
export function chooseLogFormat(input: { readonly flag?: LogFormat; readonly configured: LogFormat; readonly stdoutIsTTY: boolean }): 'pretty' | 'json' {
  const wanted = input.flag ?? input.configured;
  if (wanted === 'auto') return input.stdoutIsTTY ? 'pretty' : 'json';
  return wanted;
}

/** The values `--log-format` accepts, as OUTPOST_LOG_FORMAT. */
export const LOG_FORMATS: readonly LogFormat[] = ['auto', 'pretty', 'json'];

export function isLogFormat(value: string): value is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(value);
}
