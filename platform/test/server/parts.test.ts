import { describe, expect, it } from 'vitest';
import { discoverParts } from '../../src/server/parts.js';

describe('discoverParts', () => {
  it('loads packages that export createPart, in order, and skips absent or unfinished ones', async () => {
    const createPart = () => ({ name: 'x', start: async () => {}, ready: () => 'ok' as const, close: async () => {} });
    const modules: Record<string, unknown> = { '@outpost/a': { createPart }, '@outpost/placeholder': { partName: 'placeholder' } };
    const load = async (name: string): Promise<unknown> => {
      if (name in modules) return modules[name];
      throw Object.assign(new Error(`Cannot find package '${name}'`), { code: 'ERR_MODULE_NOT_FOUND' });
    };
    const found = await discoverParts(['@outpost/missing', '@outpost/a', '@outpost/placeholder'], load);
    expect(found.loaded).toEqual(['@outpost/a']);
    expect(found.skipped).toEqual(['@outpost/missing', '@outpost/placeholder']);
    expect(found.factories).toEqual([createPart]);
  });

  it('does not hide a part that fails to load for another reason', async () => {
    const load = async (): Promise<unknown> => {
      throw new SyntaxError('Unexpected token');
    };
    await expect(discoverParts(['@outpost/broken'], load)).rejects.toThrow('Unexpected token');
  });

  it('finds no part among the placeholder packages of this stage', async () => {
    const found = await discoverParts();
    expect(found.skipped.length + found.loaded.length).toBe(5);
  });
});
