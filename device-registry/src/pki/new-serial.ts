import { randomBytes } from 'node:crypto';

/**
 * A fresh certificate serial number: 16 random bytes as lowercase hex (32 characters), the top
 * bit of the first byte cleared so the DER INTEGER is positive, and the first byte never zero so
 * the encoding is minimal and the hex always has 32 characters (hence never the zero serial).
 */
export function newSerial(): string {
  for (;;) {
    const bytes = randomBytes(16);
    const first = (bytes[0] ?? 0) & 0x7f;
    if (first === 0) continue;
    bytes[0] = first;
    return bytes.toString('hex');
  }
}
