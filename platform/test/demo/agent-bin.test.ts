/**
 * The demo runs the agent a device runs: the one-file build with the device launcher's node
 * options (edge-agent/install/launcher.sh), when the build made it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentNodeFlags, locateAgentBin } from '../../src/demo/run-demo.js';

describe('the demo agent', () => {
  it('is the one-file build (npm run build makes it) with the launcher’s memory flags', () => {
    const bin = locateAgentBin();
    expect(bin.endsWith(join('edge-agent', 'dist', 'standalone', 'dist', 'src', 'main.js')), bin).toBe(true);
    expect(existsSync(bin)).toBe(true);
    expect(agentNodeFlags(bin, '20.19.0')).toEqual(['--max-semi-space-size=1', '--max-old-space-size=32', '--lite-mode', '--no-expose-wasm']);
    // Node 24 refuses --no-expose-wasm (its lite mode leaves WebAssembly out by itself).
    expect(agentNodeFlags(bin, '24.1.0')).toEqual(['--max-semi-space-size=1', '--max-old-space-size=32', '--lite-mode']);
  });

  it('gets no flags when it is another build (an --agent-bin of the package build)', () => {
    expect(agentNodeFlags('/opt/x/edge-agent/dist/src/main.js', '20.19.0')).toEqual([]);
  });
});
