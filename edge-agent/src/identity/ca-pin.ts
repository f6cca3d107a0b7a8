/**
 * Pinning the platform CA (SPEC "Listeners"): a fingerprint is `sha256:` + hex of a CA
 * certificate's DER. The agent trusts a chain only if one of its certificates has the pinned
 * fingerprint, and then trusts only CA certificates of that chain.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { OutpostError } from '@outpost/protocol';

const FINGERPRINT_RE = /^sha256:([0-9a-f]{64})$/;
const PEM_BLOCK_RE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** Normalizes `sha256:HEX` (colons between bytes and upper case accepted); throws AGENT_FINGERPRINT_INVALID. */
export function parseFingerprint(text: string): string {
  const normalized = text.trim().toLowerCase().replace(/^sha256:/, '').replace(/:/g, '');
  const candidate = `sha256:${normalized}`;
  if (!FINGERPRINT_RE.test(candidate)) {
    throw new OutpostError('AGENT_FINGERPRINT_INVALID', `--ca-fingerprint must be sha256: followed by 64 hex digits, not ${JSON.stringify(text.slice(0, 80))}`);
  }
  return candidate;
}

export function fingerprintOfDer(der: Uint8Array): string {
  return `sha256:${createHash('sha256').update(der).digest('hex')}`;
}

/** The PEM blocks of a bundle, each parsed; throws AGENT_CA_INVALID when there are none or one is unreadable. */
export function certificatesOf(pemBundle: string): X509Certificate[] {
  const blocks = pemBundle.match(PEM_BLOCK_RE) ?? [];
  if (blocks.length === 0) throw new OutpostError('AGENT_CA_INVALID', 'the CA bundle holds no PEM certificate');
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (err) {
      throw new OutpostError('AGENT_CA_INVALID', `the CA bundle holds an unreadable certificate: ${(err as Error).message}`, { cause: err });
    }
  });
}

/** The CA certificates of `pemBundle` as one PEM string, if one of them has `fingerprint`; else throws AGENT_CA_MISMATCH. */
export function pinnedChain(pemBundle: string, fingerprint: string): string {
  const certs = certificatesOf(pemBundle);
  const seen = certs.map((c) => fingerprintOfDer(c.raw));
  if (!seen.includes(fingerprint)) {
    throw new OutpostError('AGENT_CA_MISMATCH', `the server's CA does not match --ca-fingerprint ${fingerprint} (it presented ${seen.join(', ')})`, {
      details: { expected: fingerprint, presented: seen },
    });
  }
  const cas = certs.filter((c) => c.ca);
  if (cas.length === 0) throw new OutpostError('AGENT_CA_INVALID', 'the pinned chain holds no CA certificate');
  return `${cas.map((c) => c.toString().trim()).join('\n')}\n`;
}
