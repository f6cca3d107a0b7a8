import { describe, expect, it } from 'vitest';
import { CONFIG_ENV_NAMES } from '../../src/config/index.js';
import { editDistance, suggestKey } from '../../src/config/suggest-key.js';

describe('suggestKey', () => {
  it.each([
    ['OUTPOST_HTTP_PROT', 'OUTPOST_HTTP_PORT'],
    ['OUTPOST_LOGLEVEL', 'OUTPOST_LOG_LEVEL'],
    ['outpost_data_dir', 'OUTPOST_DATA_DIR'],
    ['MQTT_PORT', 'OUTPOST_MQTT_PORT'],
    ['OUTPOST_SERVER_NAME', 'OUTPOST_SERVER_NAMES'],
    ['OUTPOST_INFLUX_BUKET', 'OUTPOST_INFLUX_BUCKET'],
  ])('suggests %s → %s', (typo, known) => {
    expect(suggestKey(typo, CONFIG_ENV_NAMES)).toBe(known);
  });

  it('suggests nothing for unrelated names', () => {
    expect(suggestKey('OUTPOST_SOMETHING_ELSE_ENTIRELY', CONFIG_ENV_NAMES)).toBeUndefined();
    expect(suggestKey('NODE_ENV', CONFIG_ENV_NAMES)).toBeUndefined();
  });

  it('counts an adjacent swap as one edit', () => {
    expect(editDistance('PROT', 'PORT')).toBe(1);
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
  });
});
