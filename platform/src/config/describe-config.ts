import { CONFIG_KEYS, type ConfigKeySpec } from './config-schema.js';

export type DescribeFormat = 'text' | 'markdown';

/** How values combine; shown above the table. */
export const CONFIG_PRECEDENCE =
  'Settings come from the environment, then the --config file (same keys; JSON or KEY=VALUE lines), then the defaults. ' +
  'Durations take a unit (1s, 5m, 12h, 90d); sizes take bytes or a unit (256 KiB, 1 GiB); empty values count as unset.';

/** The default as users see it: the raw default, else the description of a computed or absent one. */
export function defaultOf(spec: ConfigKeySpec): string {
  return spec.default ?? spec.defaultText ?? 'unset';
}

/**
 * Renders the table of configuration keys: `text` for `outpost server --help`
 * (one entry per key, meaning indented below its name), `markdown` for the
 * README (`| variable | default | meaning |`).
 */
export function describeConfig(format: DescribeFormat = 'text'): string {
  return format === 'markdown' ? markdownTable() : textList();
}

function textList(): string {
  const lines = ['Configuration (environment variables, or the same keys in --config FILE):', ''];
  for (const spec of CONFIG_KEYS) {
    lines.push(`  ${spec.env}  [default: ${defaultOf(spec)}]`);
    lines.push(`      ${spec.doc}`);
  }
  lines.push('', CONFIG_PRECEDENCE);
  return `${lines.join('\n')}\n`;
}

function markdownTable(): string {
  const cell = (text: string): string => text.replace(/\|/g, '\\|');
  const rows = CONFIG_KEYS.map((spec) => {
    const shownDefault = spec.default === undefined ? cell(defaultOf(spec)) : `\`${cell(spec.default)}\``;
    return `| \`${spec.env}\` | ${shownDefault} | ${cell(spec.doc)} |`;
  });
  return [CONFIG_PRECEDENCE, '', '| variable | default | meaning |', '| --- | --- | --- |', ...rows, ''].join('\n');
}
