import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, parse as parsePath } from 'node:path';
import { OutpostError } from '@outpost/protocol';

export const AGENT_PACKAGE = '@outpost/edge-agent';

/**
 * The directory of the edge agent package installed next to this server, found the way Node
 * would load it from here (its package.json is not exported, so resolve its entry point and
 * walk up to the package.json that names it).
 */
export async function locateAgentPackage(from: string = import.meta.url): Promise<string> {
  let entry: string;
  try {
    entry = createRequire(from).resolve(AGENT_PACKAGE);
  } catch (err) {
    throw new OutpostError('BUNDLE_AGENT_UNAVAILABLE', `the edge agent (${AGENT_PACKAGE}) is not installed with this server, so no bundle can be built`, { cause: err });
  }
  const root = parsePath(entry).root;
  for (let dir = dirname(entry); dir !== root; dir = dirname(dir)) {
    const text = await readFile(join(dir, 'package.json'), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const name = (JSON.parse(text) as { name?: unknown }).name;
    if (name === AGENT_PACKAGE) return dir;
  }
  throw new OutpostError('BUNDLE_AGENT_UNAVAILABLE', `found ${entry} but no package.json of ${AGENT_PACKAGE} above it`);
}
