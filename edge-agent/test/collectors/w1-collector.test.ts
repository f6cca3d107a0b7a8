import { afterEach, describe, expect, it } from 'vitest';
import { createW1Collector } from '../../src/collectors/index.js';
import { FakeHost, memoryLog } from './fake-host.js';

const host = new FakeHost();
afterEach(() => host.cleanup());

const GOOD_SLAVE = '72 01 4b 46 7f ff 0e 10 57 : crc=57 YES\n72 01 4b 46 7f ff 0e 10 57 t=23125\n';
const BAD_SLAVE = '72 01 4b 46 7f ff 0e 10 57 : crc=57 NO\n72 01 4b 46 7f ff 0e 10 57 t=23125\n';

describe('w1 collector', () => {
  it('reads `temperature` and `w1_slave` sensors, skipping the bus master', async () => {
    const sysRoot = await host.tree({
      'bus/w1/devices/w1_bus_master1/uevent': '',
      'bus/w1/devices/28-0000072431ab/temperature': '21562\n',
      'bus/w1/devices/28-000005e2fdc3/w1_slave': GOOD_SLAVE,
    });
    const collector = createW1Collector({ type: 'w1', intervalMs: 1000 }, { sysRoot });
    expect(await collector.collect(0)).toEqual({ 'w1.28-0000072431ab_c': 21.562, 'w1.28-000005e2fdc3_c': 23.125 });
    expect(collector.stats().errors).toBe(0);
  });

  it('refuses a reading whose CRC failed, and counts a listed sensor that is gone', async () => {
    const log = memoryLog();
    const path = await host.tree({
      '28-aaaa/w1_slave': BAD_SLAVE,
      '28-bbbb/temperature': '-1250\n',
    });
    const collector = createW1Collector({ type: 'w1', intervalMs: 1000, path, sensors: ['28-aaaa', '28-bbbb', '28-cccc'] }, { log });
    expect(await collector.collect(0)).toEqual({ 'w1.28-bbbb_c': -1.25 });
    expect(collector.stats().errors).toBe(2);
    expect(log.lines.map((line) => line.message)).toEqual([
      expect.stringContaining('28-aaaa: CRC check failed'),
      expect.stringContaining('28-cccc: not found'),
    ]);
  });

  it('counts a missing device directory without throwing', async () => {
    const collector = createW1Collector({ type: 'w1', intervalMs: 1000 }, { sysRoot: await host.dir() });
    expect(await collector.collect(0)).toEqual({});
    expect(collector.stats()).toMatchObject({ errors: 1, lastError: expect.stringContaining('cannot list 1-Wire devices') });
  });
});
