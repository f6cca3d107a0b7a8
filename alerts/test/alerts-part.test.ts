/**
 * The alerts part's wiring (ADR 0007): everything it needs from the broker arrives as typed
 * ports; composed without the broker, it refuses and names the part to compose first.
 */
import type { PartDeps } from '@outpost/kernel';
import { describe, expect, it } from 'vitest';
import { createAlertsPart } from '../src/index.js';

describe('the alerts part', () => {
  it('refuses to be composed before the broker, naming the missing port and its provider', () => {
    const deps = { config: { webhookAllowPrivate: false, webhookAllowHosts: [] }, ports: { maintenance: { isUpdating: () => false } } } as unknown as PartDeps;
    expect(() => createAlertsPart()(deps)).toThrow(expect.objectContaining({ code: 'PART_PORT_MISSING', message: expect.stringMatching(/needs the \w+ port: compose the broker part before the alerts/) }));
  });
});
