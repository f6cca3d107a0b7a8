import { describe, expect, it } from 'vitest';
import { SERVER_PART_NAMES, serverParts } from '../../src/server/parts.js';
import { startTestPlatform } from '../helpers/test-platform.js';

describe('the static composition of outpost server', () => {
  it('composes registry, broker, ota, alerts and dashboard in that order, each given the ports it needs', async () => {
    const t = await startTestPlatform({ parts: serverParts() });
    try {
      const readiness = t.platform.readiness();
      expect(Object.keys(readiness)).toEqual(expect.arrayContaining([...SERVER_PART_NAMES]));
      expect(Object.keys(readiness).filter((name) => (SERVER_PART_NAMES as readonly string[]).includes(name))).toEqual([...SERVER_PART_NAMES]);
      for (const name of SERVER_PART_NAMES) expect(readiness[name]).not.toBe('down');
    } finally {
      await t.close();
    }
  });

  it('refuses a composition that puts a consumer before its provider', async () => {
    const [registry, broker] = serverParts();
    if (registry === undefined || broker === undefined) throw new Error('serverParts() lost a part');
    await expect(startTestPlatform({ parts: [broker, registry] })).rejects.toMatchObject({ code: 'PART_PORT_MISSING' });
  });
});
