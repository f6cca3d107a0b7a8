import { isIPv4, isIPv6 } from 'node:net';

/**
 * The network-order bytes of an IPv4 (4 bytes) or IPv6 (16 bytes) address, as an X.509
 * iPAddress holds them; undefined when `text` is not an IP address. Handles `::` and
 * IPv4-embedded IPv6 (`::ffff:10.0.0.1`), which node-forge's own parser gets wrong.
 */
export function ipAddressBytes(text: string): Buffer | undefined {
  if (isIPv4(text)) return Buffer.from(text.split('.').map(Number));
  // A zone (`fe80::1%eth0`) means nothing outside the host: not an address for a certificate.
  if (!isIPv6(text) || text.includes('%')) return undefined;
  const [head = '', tail] = text.split('::');
  const groupsOf = (part: string): number[] => {
    if (part === '') return [];
    const groups: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
        groups.push((a << 8) | b, (c << 8) | d);
      } else {
        groups.push(Number.parseInt(piece, 16));
      }
    }
    return groups;
  };
  const first = groupsOf(head);
  const last = tail === undefined ? [] : groupsOf(tail);
  const groups = [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
  const bytes = Buffer.alloc(16);
  groups.forEach((group, index) => bytes.writeUInt16BE(group, index * 2));
  return bytes;
}
