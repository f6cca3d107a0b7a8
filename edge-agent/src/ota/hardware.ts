/**
 * The device's hardware identifiers, matched against a manifest's `hardware` (any one in common
 * is enough). `--hardware a,b` sets them; by default they are Node's CPU architecture (`arm64`,
 * `arm`, `x64`) plus, on a Raspberry Pi, its board (`raspberrypi4`, `raspberrypi5`,
 * `raspberrypizero2`…) read from the device tree's model string.
 */
import { arch } from 'node:os';
import { readFile } from 'node:fs/promises';

export function boardOf(model: string): string | undefined {
  const pi = /^Raspberry Pi (Zero|Compute Module)?\s*(\d+)?/i.exec(model.replace(/\0/g, '').trim());
  if (pi === null) return undefined;
  const kind = (pi[1] ?? '').toLowerCase().replace(/\s+/g, '');
  const generation = pi[2] ?? '';
  return `raspberrypi${kind === 'computemodule' ? 'cm' : kind}${generation}`;
}

export async function defaultHardware(modelFile = '/proc/device-tree/model'): Promise<string[]> {
  const ids = [arch()];
  const model = await readFile(modelFile, 'utf8').catch(() => undefined);
  const board = model === undefined ? undefined : boardOf(model);
  if (board !== undefined) ids.push(board);
  return ids;
}
