import { describe, expect, it } from 'vitest';
import { decodePayload } from '../../src/index.js';
import type { PayloadKind } from '../../src/index.js';
import { DELETE, mutate } from '../fixtures/mutate.js';
import type { Segment } from '../fixtures/mutate.js';
import { NOW, VALID } from '../fixtures/payloads.js';

const rule = VALID.Rule.minimal;

type Row = [label: string, kind: PayloadKind, base: unknown, changes: [Segment[], unknown][], path: string, reason: string];

const REFUSED: Row[] = [
  ['an absence rule without absenceMs', 'Rule', rule, [[['kind'], 'absence']], 'absenceMs', "absenceMs: required when kind is 'absence'"],
  ['an outside rule without range', 'Rule', rule, [[['condition'], 'outside']], 'range', "range: required when condition is 'outside'"],
  ['an inside rule whose range is reversed', 'Rule', rule, [[['condition'], 'inside'], [['range'], [10, 5]]], 'range', 'range: lower bound 10 is above upper bound 5'],
  ['a threshold rule without threshold', 'Rule', rule, [[['threshold'], DELETE]], 'threshold', "threshold: required when kind is 'threshold' and condition is '>'"],
  ['a rate rule without ratePerS', 'Rule', rule, [[['kind'], 'rate'], [['condition'], '>=']], 'ratePerS', "ratePerS: required when kind is 'rate' and condition is '>='"],
  ['a desired config with an incomplete rule', 'DesiredConfig', VALID.DesiredConfig.full, [[['rules', 1, 'range'], DELETE]], 'rules[1].range', "rules[1].range: required when condition is 'outside'"],
  ['an agent config with a reversed reconnect', 'AgentConfig', VALID.AgentConfig.full, [[['reconnect', 'maxMs'], 10]], 'reconnect.maxMs', 'reconnect.maxMs: 10 is below minMs 1000'],
  ['a cert-revoked event without serial', 'RegistryEvent', VALID.RegistryEvent.full, [[['serial'], DELETE]], 'serial', "serial: required when type is 'cert-revoked'"],
];

const ACCEPTED: [label: string, kind: PayloadKind, base: unknown, changes: [Segment[], unknown][]][] = [
  ['an absence rule with absenceMs and no threshold', 'Rule', rule, [[['kind'], 'absence'], [['threshold'], DELETE], [['absenceMs'], 60_000]]],
  ['a rate rule with ratePerS', 'Rule', rule, [[['kind'], 'rate'], [['threshold'], DELETE], [['ratePerS'], 2.5]]],
  ['a rate rule on a range', 'Rule', rule, [[['kind'], 'rate'], [['condition'], 'outside'], [['range'], [-1, 1]]]],
  ['an inside rule on a one-point range', 'Rule', rule, [[['condition'], 'inside'], [['range'], [3, 3]]]],
  ['equal reconnect bounds', 'AgentConfig', VALID.AgentConfig.full, [[['reconnect', 'maxMs'], 1000]]],
  ['a suspended event without serial', 'RegistryEvent', VALID.RegistryEvent.minimal, []],
];

function apply(base: unknown, changes: [Segment[], unknown][]): unknown {
  return changes.reduce((value, [path, change]) => mutate(value, path, change), base);
}

describe('configuration checks', () => {
  it.each(REFUSED)('refuses %s', (_case, kind, base, changes, path, reason) => {
    expect(decodePayload(kind, JSON.stringify(apply(base, changes)), { now: NOW })).toEqual({
      ok: false,
      code: 'PAYLOAD_INVALID',
      reason,
      path,
    });
  });

  it.each(ACCEPTED)('accepts %s', (_case, kind, base, changes) => {
    expect(decodePayload(kind, JSON.stringify(apply(base, changes)), { now: NOW }).ok).toBe(true);
  });
});
