import { OutpostError } from '@outpost/protocol';
import type { DeviceLifecycle } from '@outpost/kernel/domain';

/** `GET /devices` filters, after parsing. Every filter narrows; none = every live device. */
export interface DeviceQuery {
  readonly q?: string;
  readonly group?: string;
  /** Each `tag=k=v` needs tag k equal to v; `tag=k` needs tag k present. */
  readonly tags: readonly { readonly key: string; readonly value?: string }[];
  /** Absent: every device except decommissioned (deleted) ones. */
  readonly status?: DeviceLifecycle;
  readonly online?: boolean;
  /** `name@version`, or a bare value matching the firmware's name or version. */
  readonly firmware?: { readonly name?: string; readonly version?: string; readonly either?: string };
  readonly limit: number;
  readonly after?: string;
}

const TAG_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

export function parseTagFilter(text: string): { key: string; value?: string } {
  const eq = text.indexOf('=');
  const key = eq === -1 ? text : text.slice(0, eq);
  if (!TAG_KEY.test(key)) throw new OutpostError('VALIDATION_FAILED', `tag filter "${text}": the key must be a tag name (letters, digits, "_", ".", "-")`);
  return eq === -1 ? { key } : { key, value: text.slice(eq + 1) };
}

export function parseFirmwareFilter(text: string): NonNullable<DeviceQuery['firmware']> {
  const at = text.lastIndexOf('@');
  if (at <= 0) return { either: text };
  return { name: text.slice(0, at), version: text.slice(at + 1) };
}

/** Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`. */
export function likeContains(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
