/**
 * node-forge (a large library) is loaded only to build a CSR: the whole CLI, `run` included,
 * loads without it (issue 12: the agent's memory). A child process on the built agent, so
 * nothing else in the test worker has loaded it first.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const cli = new URL('../../dist/src/cli/run-cli.js', import.meta.url).href;
const deviceKey = new URL('../../dist/src/identity/device-key.js', import.meta.url).href;

const probe = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const forgeLoaded = () => Object.keys(require.cache).some((path) => path.includes('/node-forge/'));
await import(${JSON.stringify(cli)});
const atStart = forgeLoaded();
const { createCsr, generateDeviceKey } = await import(${JSON.stringify(deviceKey)});
const csr = await createCsr(await generateDeviceKey(), 'pi-kitchen');
process.stdout.write(JSON.stringify({ atStart, afterCsr: forgeLoaded(), csr: csr.startsWith('-----BEGIN CERTIFICATE REQUEST-----') }));
`;

describe('node-forge on demand', () => {
  it('is not loaded with the CLI, only once a CSR is built', async () => {
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { timeout: 30_000 });
    expect(JSON.parse(stdout)).toEqual({ atStart: false, afterCsr: true, csr: true });
  });
});
