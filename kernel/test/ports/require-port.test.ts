import { describe, expect, it } from 'vitest';
import { requirePort } from '../../src/ports/require-port.js';

describe('requirePort', () => {
  it('hands out a port an earlier part provided', () => {
    const maintenance = { isUpdating: () => true };
    expect(requirePort({ maintenance }, 'maintenance', 'alerts')).toBe(maintenance);
  });

  it('refuses with PART_PORT_MISSING, naming the part to compose first', () => {
    expect(() => requirePort({}, 'deviceInbox', 'ota')).toThrow(
      expect.objectContaining({ code: 'PART_PORT_MISSING', message: 'the ota needs the deviceInbox port: compose the broker part before the ota' }),
    );
  });
});
