import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { boardOf, defaultHardware } from '../../src/ota/hardware.js';

describe("the device's hardware ids", () => {
  it.each([
    ['Raspberry Pi 4 Model B Rev 1.4\0', 'raspberrypi4'],
    ['Raspberry Pi 5 Model B Rev 1.0', 'raspberrypi5'],
    ['Raspberry Pi 3 Model B Plus Rev 1.3', 'raspberrypi3'],
    ['Raspberry Pi Zero 2 W Rev 1.0', 'raspberrypizero2'],
    ['Raspberry Pi Compute Module 4 Rev 1.0', 'raspberrypicm4'],
    ['Pine64 RockPro64 v2.1', undefined],
  ])('names the board of %j %s', (model, board) => {
    expect(boardOf(model)).toBe(board);
  });

  it('are the CPU architecture, plus the board when the device tree names a Raspberry Pi', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'hw-'));
    try {
      await writeFile(join(dir, 'model'), 'Raspberry Pi 4 Model B Rev 1.4\0');
      expect(await defaultHardware(join(dir, 'model'))).toEqual([arch(), 'raspberrypi4']);
      expect(await defaultHardware(join(dir, 'none'))).toEqual([arch()]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
