import { randomInt } from 'node:crypto';

// No look-alikes (0/O, 1/l/I), so it can be read aloud or typed from a screen.
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';

/** A strong random password: 24 characters from 56, about 139 bits, uniformly chosen. */
export function generatePassword(length = 24, pick: (max: number) => number = randomInt): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHABET[pick(ALPHABET.length)];
  return out;
}
