/**
 * Certificate serials in one canonical form: lower-case hex of the minimal whole bytes, as
 * the registry stores them. Node prints a peer certificate's serial in upper case and may
 * keep a leading zero byte; the registry's events carry the canonical form.
 */
export function canonicalSerial(serial: string): string {
  const hex = serial.trim().toLowerCase().replace(/^0x/, '').replace(/:/g, '');
  const stripped = hex.replace(/^0+/, '');
  if (stripped === '') return '00';
  return stripped.length % 2 === 1 ? `0${stripped}` : stripped;
}
