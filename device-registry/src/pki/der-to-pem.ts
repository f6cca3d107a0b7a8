/** PEM with `\n` line ends and 64-character lines (node-forge's own PEM uses `\r\n`). */
export function derToPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
