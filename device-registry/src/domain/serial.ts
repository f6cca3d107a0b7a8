/**
 * Certificate serials in one canonical form: lower-case hex of the minimal whole bytes (even
 * length, no leading zero byte), as the PKI writes them. A serial typed by an operator
 * (`0x0A:1B…`, upper case, odd length) or printed by another tool compares equal.
 */
export function normalizeSerial(serial: string): string {
  const hex = serial.trim().toLowerCase().replace(/^0x/, '').replace(/:/g, '');
  const stripped = hex.replace(/^0+/, '');
  if (stripped === '') return '00';
  return stripped.length % 2 === 1 ? `0${stripped}` : stripped;
}

/** Hex digits, optionally `0x`-prefixed or colon-separated, at most 20 bytes. */
export const SERIAL_INPUT_PATTERN = '^(0x)?[0-9A-Fa-f:]{1,64}$';
