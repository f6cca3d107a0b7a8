/**
 * Which hosts a webhook may reach (issue 11, D8). Loopback (127.0.0.0/8, ::1), link-local
 * (169.254.0.0/16, fe80::/10) and unspecified (0.0.0.0/8, ::) addresses are refused — a webhook
 * would otherwise let an admin account probe the server's own machine and the cloud metadata
 * endpoint — unless `allowPrivate`, or the host name or a CIDR holding the address is in
 * `allowHosts`. Names are resolved when a channel is saved and again at every delivery, and
 * the connection uses the address that was checked, so DNS rebinding cannot slip past.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/** Resolves a host name to all its addresses (tests inject their own). */
export type WebhookLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

export interface WebhookTargetPolicy {
  readonly allowPrivate: boolean;
  /** Host names (exact, case-insensitive) and CIDRs (`127.0.0.1/32`, `fd00::/8`). */
  readonly allowHosts: readonly string[];
  readonly lookup?: WebhookLookup;
}

type Kind = 'loopback' | 'link-local' | 'unspecified';

const FORBIDDEN: readonly (readonly [Kind, string, number, 'ipv4' | 'ipv6'])[] = [
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['loopback', '::1', 128, 'ipv6'],
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
];

const systemLookup: WebhookLookup = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err === null ? resolve(addresses) : reject(err)));
  });

/**
 * An IPv4-mapped IPv6 address is checked as the IPv4 address it carries: `::ffff:127.0.0.1`,
 * or `::ffff:7f00:1` as the URL parser writes it.
 */
function unmapped(address: string): string {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (dotted?.[1] !== undefined) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex?.[1] === undefined || hex[2] === undefined) return address;
  const high = parseInt(hex[1], 16);
  const low = parseInt(hex[2], 16);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** The forbidden class of an IP address, if any. */
export function forbiddenKind(address: string): Kind | undefined {
  const plain = unmapped(address);
  const family = isIP(plain);
  if (family === 0) return undefined;
  for (const [kind, network, prefix, type] of FORBIDDEN) {
    const list = new BlockList();
    list.addSubnet(network, prefix, type);
    if ((type === 'ipv4') === (family === 4) && list.check(plain, type)) return kind;
  }
  return undefined;
}

export class WebhookTargetGuard {
  readonly #policy: WebhookTargetPolicy;
  readonly #names: ReadonlySet<string>;
  readonly #cidrs = new BlockList();
  readonly #lookup: WebhookLookup;

  constructor(policy: WebhookTargetPolicy) {
    this.#policy = policy;
    this.#lookup = policy.lookup ?? systemLookup;
    const names = new Set<string>();
    for (const entry of policy.allowHosts) {
      const [address = '', prefix] = entry.split('/');
      const family = isIP(address);
      if (family === 0) names.add(entry.toLowerCase());
      else this.#cidrs.addSubnet(address, prefix === undefined ? (family === 4 ? 32 : 128) : Number(prefix), family === 4 ? 'ipv4' : 'ipv6');
    }
    this.#names = names;
  }

  /**
   * Why `url` may not be a webhook target, or undefined. A name that does not resolve is
   * accepted here (it may resolve later); every delivery checks again.
   */
  async check(url: URL): Promise<string | undefined> {
    const host = hostOf(url);
    if (this.#exempt(host)) return undefined;
    let addresses: readonly LookupAddress[];
    try {
      addresses = isIP(host) === 0 ? await this.#lookup(host) : [{ address: host, family: isIP(host) }];
    } catch {
      return undefined;
    }
    return this.#refusal(host, addresses);
  }

  /**
   * A `lookup` for http.request that resolves with the policy's resolver and fails with
   * WEBHOOK_TARGET_REFUSED when any address is forbidden: the socket connects only to an
   * address that was checked.
   */
  readonly lookup: LookupFunction = (hostname: string, options: LookupOptions, callback) => {
    this.#lookup(hostname).then(
      (addresses) => {
        const refusal = this.#exempt(hostname) ? undefined : this.#refusal(hostname, addresses);
        const first = addresses[0];
        if (refusal !== undefined || first === undefined) {
          const err: NodeJS.ErrnoException = new Error(refusal ?? `${hostname} has no address`);
          err.code = refusal === undefined ? 'ENOTFOUND' : 'WEBHOOK_TARGET_REFUSED';
          callback(err, '', 0);
        } else if (options.all === true) callback(null, [...addresses]);
        else callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };

  #exempt(host: string): boolean {
    return this.#policy.allowPrivate || this.#names.has(host.toLowerCase());
  }

  #refusal(host: string, addresses: readonly LookupAddress[]): string | undefined {
    for (const { address } of addresses) {
      const kind = forbiddenKind(address);
      if (kind === undefined) continue;
      const plain = unmapped(address);
      if (this.#cidrs.check(plain, isIP(plain) === 4 ? 'ipv4' : 'ipv6')) continue;
      const via = host === address ? `${address} is` : `${host} resolves to ${address}, which is`;
      return `${via} a ${kind} address: webhooks to loopback, link-local and unspecified addresses are refused; set OUTPOST_WEBHOOK_ALLOW_PRIVATE=true or add the host to OUTPOST_WEBHOOK_ALLOW_HOSTS to allow it`;
    }
    return undefined;
  }
}

/** The URL's host without IPv6 brackets. */
function hostOf(url: URL): string {
  return url.hostname.startsWith('[') && url.hostname.endsWith(']') ? url.hostname.slice(1, -1) : url.hostname;
}
