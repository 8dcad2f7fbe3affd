import type { PayloadRule } from './types.ts';
import { ALL_RULES, RULE_SETS } from './detectors/index.ts';
import { validateRules } from './engine.ts';

/**
 * The rule registry: every payload rule of every attack module (`src/engine/detectors/index.ts`), validated
 * once at load (unique numeric ids, valid severities and paranoia levels).
 * @throws {RuleRegistryError} at import time when the registry is inconsistent (a programming error, caught by
 *   the test suite).
 */
validateRules(ALL_RULES);

/** All registered rules, in evaluation order. */
export function ruleRegistry(): readonly PayloadRule[] {
  return ALL_RULES;
}

/** Rules per attack module (`sqli`, `xss`, `traversal`, …), for docs and `bulwark eval` reports. */
export function ruleSets(): Readonly<Record<string, readonly PayloadRule[]>> {
  return RULE_SETS;
}

/** Looks a rule up by numeric id (`942100`) or signal id (`sqli.942100`). */
export function findRule(ref: string): PayloadRule | undefined {
  const dot = ref.lastIndexOf('.');
  const id = dot === -1 ? ref : ref.slice(dot + 1);
  return ALL_RULES.find((r) => r.id === id);
}
