import { describe, it } from 'vitest';
import type { Rule } from '@outpost/protocol';
import { ruleChanges } from '../../src/operators/rule-changes.js';
import type { RuleChange } from '../../src/operators/rule-changes.js';
import { createTestScheduler, makeRule } from '../helpers/marbles.js';

const r1 = makeRule({ id: 'r1' });
const r2 = makeRule({ id: 'r2', threshold: 50 });
const r1Changed = makeRule({ id: 'r1', threshold: 35 });

describe('ruleChanges', () => {
  it('emits added, changed and removed rules by id, and nothing for unchanged ones', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      const snapshots$ = cold<readonly Rule[]>('abcdef|', {
        a: [r1],
        b: [r1, r2],
        c: [r2, r1Changed],
        d: [{ ...r1Changed }, { ...r2 }],
        e: [r2],
        f: [],
      });
      expectObservable(snapshots$.pipe(ruleChanges())).toBe('abc-ef|', {
        a: { id: 'r1', rule: r1 },
        b: { id: 'r2', rule: r2 },
        c: { id: 'r1', rule: r1Changed },
        e: { id: 'r1' },
        f: { id: 'r2' },
      } satisfies Record<string, RuleChange>);
    });
  });

  it('takes the last of duplicate ids in one snapshot', () => {
    const scheduler = createTestScheduler();
    scheduler.run(({ cold, expectObservable }) => {
      expectObservable(cold<readonly Rule[]>('a|', { a: [r1, r1Changed] }).pipe(ruleChanges())).toBe('a|', { a: { id: 'r1', rule: r1Changed } });
    });
  });
});
