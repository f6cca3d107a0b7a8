import { describe, expect, it } from 'vitest';
import { CONFIG_KEYS, describeConfig } from '../../src/config/index.js';

describe('describeConfig', () => {
  it('lists every key with its default and meaning for --help', () => {
    const text = describeConfig();
    for (const spec of CONFIG_KEYS) expect(text).toContain(spec.env);
    expect(text).toContain('  OUTPOST_HTTP_PORT  [default: 8080]\n      Port of the operator listener');
    expect(text).toContain('OUTPOST_PUBLIC_HOST  [default: first non-loopback IPv4 address, else localhost]');
    expect(text).toContain('environment, then the --config file');
  });

  it('renders a markdown table for the README', () => {
    const lines = describeConfig('markdown').split('\n');
    expect(lines).toContain('| variable | default | meaning |');
    expect(lines).toContain('| `OUTPOST_LIMIT_PAYLOAD_BYTES` | `256 KiB` | Largest MQTT payload a device may publish. |');
    expect(lines.filter((line) => line.startsWith('| `OUTPOST_'))).toHaveLength(CONFIG_KEYS.length);
  });

  it('documents every key with a sentence, and places every supported key somewhere', () => {
    for (const spec of CONFIG_KEYS) {
      expect(spec.doc, spec.env).toMatch(/^[A-Z].*\.$/);
      expect(spec.env).toMatch(/^OUTPOST_[A-Z0-9_]+$/);
      if (spec.refused === undefined) expect(spec.path, spec.env).not.toBe('');
    }
    expect(new Set(CONFIG_KEYS.map((spec) => spec.env)).size).toBe(CONFIG_KEYS.length);
  });
});
