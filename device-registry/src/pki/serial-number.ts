import { OutpostError } from '@outpost/protocol';

/** The longest serial RFC 5280 allows: 20 octets. */
const MAX_SERIAL_BYTES = 20;

/**
 * Checks a caller-supplied serial and answers it in canonical form (lowercase hex): the bytes of
 * a positive, minimally encoded DER INTEGER of at most 20 octets whose first byte is 01..7f, so
 * the hex reads the same as OpenSSL and Node print it (minus case). Throws VALIDATION_FAILED
 * otherwise.
 */
export function canonicalSerial(serial: string): string {
  const hex = serial.toLowerCase();
  const problem = serialProblem(hex);
  if (problem !== undefined) {
    throw new OutpostError('VALIDATION_FAILED', `serial ${JSON.stringify(serial)} ${problem}`, {
      details: { field: 'serial' },
    });
  }
  return hex;
}

function serialProblem(hex: string): string | undefined {
  if (!/^[0-9a-f]+$/.test(hex) || hex.length % 2 !== 0) return 'is not an even-length hex string';
  if (hex.length / 2 > MAX_SERIAL_BYTES) return `is longer than ${MAX_SERIAL_BYTES} bytes`;
  const first = Number.parseInt(hex.slice(0, 2), 16);
  if (first >= 0x80) return 'would be a negative INTEGER (top bit set)';
  if (first === 0) return 'starts with a zero byte';
  return undefined;
}
