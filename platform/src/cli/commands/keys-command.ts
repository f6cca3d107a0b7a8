/**
 * `outpost keys`: the operator's OTA signing keys. `create` works offline; `register` and
 * `remove` fetch the current TrustSet, make the next version and sign it here with a key the
 * set already trusts (the very first set is signed by its own key), then send it: the server
 * never sees a private key.
 */
import { buildTrustSet, signTrustSet, type PublicSigningKey } from '@outpost/ota/signing';
import { Type, type Static } from 'typebox';
import type { CommandContext, CommandSpec } from '../command.js';
import { apiFlags, jsonFlag } from '../common-flags.js';
import { formatTable } from '../format-table.js';
import { formatTime, printable } from '../terminal-text.js';
import { createKeyFiles, PASSPHRASE_ENV, readPrivateKey, readPublicKey } from './signing-key-file.js';

const TrustedKey = Type.Object({ keyId: Type.String(), alg: Type.Literal('ed25519'), publicKey: Type.String() });
const TrustSetAnswer = Type.Object({ v: Type.Literal(1), version: Type.Integer(), keys: Type.Array(TrustedKey), signatures: Type.Array(Type.Object({ keyId: Type.String(), sig: Type.String() })) });
const KeysAnswer = Type.Object({
  version: Type.Integer(),
  keys: Type.Array(Type.Object({ keyId: Type.String(), alg: Type.String(), publicKey: Type.String(), addedInVersion: Type.Integer(), addedAt: Type.Number() })),
  trustSet: TrustSetAnswer,
});
type KeysAnswer = Static<typeof KeysAnswer>;

function keyPath(keyId: string): string {
  return `/signing-keys/${encodeURIComponent(keyId)}`;
}

function printKeys(ctx: CommandContext, answer: KeysAnswer): void {
  if (ctx.boolean('json')) {
    ctx.print(JSON.stringify(answer, null, 2));
    return;
  }
  if (answer.keys.length === 0) {
    ctx.note("No signing key is registered yet: 'outpost keys create', then 'outpost keys register --key FILE'.");
    return;
  }
  ctx.note(`TrustSet version ${answer.version}:`);
  for (const line of formatTable(
    [
      { header: 'key id', value: (k: KeysAnswer['keys'][number]) => k.keyId },
      { header: 'alg', value: (k) => k.alg },
      { header: 'since version', value: (k) => k.addedInVersion },
      { header: 'added', value: (k) => formatTime(k.addedAt) },
    ],
    answer.keys,
  )) {
    ctx.print(line);
  }
}

const create: CommandSpec = {
  name: 'create',
  summary: 'Make an Ed25519 signing key pair (offline)',
  description:
    'Writes the private key to FILE (PKCS#8 PEM, encrypted with a passphrase unless --no-passphrase; mode 0600; never over an existing file) ' +
    `and the public key to FILE.pub. The passphrase comes from ${PASSPHRASE_ENV}, else a prompt (twice), else the first line of stdin. ` +
    'Prints the key id: sha256: and the first 16 bytes of the SHA-256 of the public key (SPKI DER), in hex. Keep the private key off the server.',
  flags: {
    out: { type: 'string', valueName: 'FILE', description: 'where to write the private key', default: 'outpost-signing-key.pem' },
    'no-passphrase': { type: 'boolean', description: 'write the private key unencrypted (for throwaway keys)' },
  },
  examples: ['outpost keys create --out release-2026.pem', `${PASSPHRASE_ENV}=… outpost keys create --out ci.pem`],
  async run(ctx) {
    const path = ctx.string('out') ?? 'outpost-signing-key.pem';
    const key = await createKeyFiles(ctx, path, !ctx.boolean('no-passphrase'));
    ctx.note(`Wrote ${printable(path)} (private, 0600) and ${printable(path)}.pub.`);
    ctx.print(key.keyId);
  },
};

const list: CommandSpec = {
  name: 'list',
  summary: 'List the trusted signing keys (the current TrustSet)',
  flags: { ...jsonFlag, ...apiFlags },
  async run(ctx) {
    const api = await ctx.api();
    printKeys(ctx, await api.call('GET', '/signing-keys', KeysAnswer));
  },
};

const register: CommandSpec = {
  name: 'register',
  summary: 'Trust a new key: send the next TrustSet, signed with a key the set already trusts',
  description:
    'Fetches the current TrustSet, adds the public key of --key (FILE.pub, or the private key file) as version+1, signs it with the private key ' +
    '--sign-with (a key of the current set; for the very first set, --key itself signs and --sign-with may be left out) and sends it. ' +
    'The server checks it and publishes it to every device.',
  flags: {
    key: { type: 'string', required: true, valueName: 'FILE', description: 'the key to trust: its .pub file or its private key file' },
    'sign-with': { type: 'string', valueName: 'FILE', description: 'private key file of an already-trusted key', default: '--key, for the very first set' },
    ...jsonFlag,
    ...apiFlags,
  },
  examples: ['outpost keys register --key first.pem', 'outpost keys register --key next.pem.pub --sign-with first.pem'],
  async run(ctx) {
    const api = await ctx.api();
    const keyFile = ctx.string('key') ?? '';
    const signWith = ctx.string('sign-with');
    const current = await api.call('GET', '/signing-keys', KeysAnswer);
    if (signWith === undefined && current.trustSet.keys.length > 0) throw ctx.usageError(`the current set (version ${current.version}) must sign the change: pass --sign-with FILE, the private key of a trusted key`);
    // The first set is signed by the key it adds: read that private key once.
    const own = signWith === undefined ? await readPrivateKey(ctx, keyFile) : undefined;
    const added: PublicSigningKey = own ?? (await readPublicKey(ctx, keyFile));
    if (current.trustSet.keys.some((k) => k.keyId === added.keyId)) {
      ctx.print(`${added.keyId} is trusted already (TrustSet version ${current.version}).`);
      return;
    }
    const signer = own ?? (await readPrivateKey(ctx, signWith ?? keyFile));
    const next = signTrustSet(buildTrustSet(current.version + 1, [...current.trustSet.keys, { keyId: added.keyId, alg: added.alg, publicKey: added.publicKey }]), [signer]);
    const answer = await api.call('POST', '/signing-keys', KeysAnswer, { body: { trustSet: next } });
    if (ctx.boolean('json')) printKeys(ctx, answer);
    else ctx.print(`Registered ${added.keyId}: TrustSet version ${answer.version} holds ${answer.keys.length} key(s), signed by ${signer.keyId}.`);
  },
};

const remove: CommandSpec = {
  name: 'remove',
  summary: 'Stop trusting a key: send the next TrustSet without it',
  description: 'Fetches the current TrustSet, removes KEYID as version+1, signs it with --sign-with (a key of the current set) and sends it. The last key cannot be removed.',
  args: [{ name: 'KEYID', description: "the key's id (sha256:…), as 'outpost keys list' shows it" }],
  flags: {
    'sign-with': { type: 'string', required: true, valueName: 'FILE', description: 'private key file of a trusted key' },
    ...jsonFlag,
    ...apiFlags,
  },
  examples: ['outpost keys remove sha256:0123456789abcdef0123456789abcdef --sign-with next.pem'],
  async run(ctx) {
    const api = await ctx.api();
    const keyId = ctx.arg('KEYID');
    const current = await api.call('GET', '/signing-keys', KeysAnswer);
    const signer = await readPrivateKey(ctx, ctx.string('sign-with') ?? '');
    const next = signTrustSet(buildTrustSet(current.version + 1, current.trustSet.keys.filter((k) => k.keyId !== keyId)), [signer]);
    const answer = await api.call('DELETE', keyPath(keyId), KeysAnswer, { body: { trustSet: next } });
    if (ctx.boolean('json')) printKeys(ctx, answer);
    else ctx.print(`Removed ${printable(keyId)}: TrustSet version ${answer.version} holds ${answer.keys.length} key(s).`);
  },
};

export const keysCommand: CommandSpec = {
  name: 'keys',
  summary: 'OTA signing keys: create (offline), register, remove, list',
  description:
    'Firmware is signed with Ed25519 keys that stay with the operator. Devices trust the keys of the TrustSet the platform publishes; ' +
    'each change to it is signed offline with a key it already trusts, so several keys can be trusted at once and rotated without downtime.',
  subcommands: [create, register, remove, list],
};
