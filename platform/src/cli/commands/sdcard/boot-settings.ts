/**
 * The per-card settings of `outpost agent sdcard`, checked before anything is written, and their
 * file forms: outpost-firstrun.conf (shell assignments the first-boot script sources) and
 * userconf.txt (Raspberry Pi OS's own `user:hash` file for the first user).
 */

export interface BootSettings {
  readonly hostname?: string;
  readonly wifi?: { readonly ssid: string; readonly psk: string; readonly country?: string };
  /** A systemd.run command ours replaced and runs first (Raspberry Pi Imager's firstrun.sh). */
  readonly chain?: string;
}

export type Checked<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly reason: string };

const HOSTNAME_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const COUNTRY_RE = /^[A-Z]{2}$/;
const CONF_LINE_RE = /^OUTPOST_CHAIN='((?:[^']|'\\'')*)'$/m;

function hasControlCharacter(value: string): boolean {
  return [...value].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f);
}

export function checkHostname(name: string): Checked<string> {
  if (!HOSTNAME_RE.test(name)) return { ok: false, reason: `invalid --hostname "${name}": 1 to 63 letters, digits and inner hyphens (RFC 1123)` };
  return { ok: true, value: name };
}

/** A Wi-Fi network: SSID 1–32 bytes, WPA2 passphrase 8–63 printable ASCII characters or 64 hex digits. */
export function checkWifi(ssid: string, pskFileText: string, country: string | undefined): Checked<NonNullable<BootSettings['wifi']>> {
  if (ssid === '' || Buffer.byteLength(ssid, 'utf8') > 32 || hasControlCharacter(ssid)) {
    return { ok: false, reason: 'invalid --wifi-ssid: 1 to 32 bytes without control characters' };
  }
  const psk = pskFileText.replace(/\r?\n$/, '');
  const passphrase = /^[\x20-\x7e]{8,63}$/.test(psk);
  const raw = /^[0-9A-Fa-f]{64}$/.test(psk);
  if (!passphrase && !raw) {
    return { ok: false, reason: 'invalid --wifi-psk-file: the file must hold the WPA2 passphrase (8 to 63 printable ASCII characters) or 64 hex digits, on one line' };
  }
  if (country !== undefined && !COUNTRY_RE.test(country)) return { ok: false, reason: `invalid --wifi-country "${country}": an ISO 3166 code such as GB or DE` };
  return { ok: true, value: { ssid, psk, ...(country === undefined ? {} : { country }) } };
}

/** userconf.txt's one line: `user:hash`, the hash from `openssl passwd -6` (Raspberry Pi OS renames its first user with it). */
export function checkUserconf(user: string, hashFileText: string): Checked<string> {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(user)) return { ok: false, reason: `invalid --user "${user}": a Linux user name (lower case letters, digits, _ and -, up to 32)` };
  const hash = hashFileText.trim();
  if (!/^\$[0-9a-z]+\$[^\s:]+$/.test(hash)) {
    return { ok: false, reason: "invalid --password-hash-file: it must hold one crypt(3) hash such as the output of 'openssl passwd -6'" };
  }
  return { ok: true, value: `${user}:${hash}\n` };
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** outpost-firstrun.conf: one single-quoted shell assignment per setting. */
export function renderConf(settings: BootSettings): string {
  const lines = ['# Written by outpost agent sdcard; read once by outpost-firstrun.sh, then deleted (it may hold the Wi-Fi key).'];
  const put = (name: string, value: string | undefined): void => {
    if (value !== undefined) lines.push(`${name}=${shellQuote(value)}`);
  };
  put('OUTPOST_HOSTNAME', settings.hostname);
  put('OUTPOST_WIFI_SSID', settings.wifi?.ssid);
  put('OUTPOST_WIFI_PSK', settings.wifi?.psk);
  put('OUTPOST_WIFI_COUNTRY', settings.wifi?.country);
  put('OUTPOST_CHAIN', settings.chain);
  return `${lines.join('\n')}\n`;
}

/** The chained command an earlier run recorded in outpost-firstrun.conf, if any. */
export function chainOf(confText: string): string | undefined {
  const found = CONF_LINE_RE.exec(confText);
  return found?.[1]?.replace(/'\\''/g, "'");
}
