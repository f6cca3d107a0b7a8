/**
 * Which agent a bundle ships: the one-file agent when the build made a fresh one, else the
 * package with its node_modules — with a warning that says why.
 */
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AGENT_MAIN, createAgentPayloads } from '../../bundle/agent-payload.js';

interface Warning {
  readonly o: object;
  readonly m: string;
}

describe('the agent part of a bundle', () => {
  let dir: string;
  let agentDir: string;
  let warnings: Warning[];
  const payloads = () => createAgentPayloads({ agentDir, cacheDir: join(dir, 'cache'), prefix: 'outpost-bundle', log: { warn: (o, m) => warnings.push({ o, m }) } });
  const at = (seconds: number): Date => new Date(1_700_000_000_000 + seconds * 1000);

  async function file(path: string, text: string, mtime: Date): Promise<void> {
    const abs = join(agentDir, path);
    await mkdir(join(abs, '..'), { recursive: true });
    await writeFile(abs, text);
    await utimes(abs, mtime, mtime);
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'agent-payload-'));
    agentDir = join(dir, 'edge-agent');
    warnings = [];
    await file('package.json', JSON.stringify({ name: '@outpost/edge-agent', version: '1.2.3', type: 'module', files: ['dist/src'] }), at(0));
    await file(AGENT_MAIN, 'import "./runtime.js";\n', at(10));
    await file('dist/src/runtime.js', 'export {};\n', at(10));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function standalone(built: Date): Promise<void> {
    await file('dist/standalone/package.json', JSON.stringify({ name: '@outpost/edge-agent', version: '1.2.3', type: 'module' }), built);
    await file(`dist/standalone/${AGENT_MAIN}`, 'console.log("one file");\n', built);
    await file('dist/standalone/dist/src/chunk-ABC123.js', 'export const forge = 1;\n', built);
    await file('dist/standalone/THIRD-PARTY-LICENSES', 'mqtt@5\n', built);
    await file('dist/standalone/inputs.json', JSON.stringify({ v: 1, inputs: [AGENT_MAIN, 'dist/src/runtime.js'] }), built);
  }

  it('ships the one-file agent when it is newer than what it was built from, without its build metadata', async () => {
    await standalone(at(20));
    const payload = await payloads().get();
    expect(payload).toMatchObject({ form: 'standalone', version: '1.2.3', files: 4 });
    expect(warnings).toEqual([]);
  });

  it('ships the package with its node_modules, and says why, when there is no one-file agent', async () => {
    const payload = await payloads().get();
    expect(payload).toMatchObject({ form: 'package', version: '1.2.3' });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.m).toMatch(/one-file agent cannot be used/);
    expect(JSON.stringify(warnings[0]?.o)).toMatch(/does not exist \(run `npm run build`/);
  });

  it('does not ship a one-file agent older than a file it was built from (rebuilt with tsc -b alone), and warns once', async () => {
    await standalone(at(20));
    await file('dist/src/runtime.js', 'export const changed = true;\n', at(30));
    const p = payloads();
    expect((await p.get()).form).toBe('package');
    expect((await p.get()).form).toBe('package');
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0]?.o)).toMatch(/dist\/src\/runtime\.js is newer than the bundled agent/);
    // Bundled again: the one-file agent is back, under another cache key.
    await standalone(at(40));
    expect((await p.get()).form).toBe('standalone');
  });
});
