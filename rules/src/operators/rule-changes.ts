/**
 * Snapshots of the rule set → changes by rule id: a rule that appeared or whose content changed
 * (any field, compared as canonical JSON) is emitted with the rule, a rule that disappeared
 * without it. Unchanged rules emit nothing, so their state survives. A later duplicate id in
 * one snapshot wins.
 */
import { canonicalJson } from '@outpost/protocol';
import type { Rule } from '@outpost/protocol';
import { concatMap, defer, from } from 'rxjs';
import type { OperatorFunction } from 'rxjs';

export interface RuleChange {
  readonly id: string;
  /** The new version; absent when the rule was removed. */
  readonly rule?: Rule;
}

export function ruleChanges(): OperatorFunction<readonly Rule[], RuleChange> {
  return (snapshots$) =>
    defer(() => {
      let current = new Map<string, string>();
      return snapshots$.pipe(
        concatMap((rules) => {
          const next = new Map<string, { rule: Rule; key: string }>();
          for (const rule of rules) next.set(rule.id, { rule, key: canonicalJson(rule) });
          const changes: RuleChange[] = [];
          for (const id of current.keys()) if (!next.has(id)) changes.push({ id });
          for (const [id, { rule, key }] of next) if (current.get(id) !== key) changes.push({ id, rule });
          current = new Map([...next].map(([id, { key }]) => [id, key]));
          return from(changes);
        }),
      );
    });
}
