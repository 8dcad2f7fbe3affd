import type { PayloadRule } from '../types.ts';
import { rules as sqli } from './sqli.ts';
import { rules as xss } from './xss.ts';

/**
 * The rule sets of the payload engine, one module per attack (`src/engine/detectors/<attack>.ts`, each
 * exporting `rules: readonly PayloadRule[]`). The order here is the evaluation order within a severity.
 *
 * Modules of attacks still being written are loaded when present (top-level `await import`), so that the
 * engine works while the set grows; a module that exists but fails to load is an error, not skipped.
 */
const OPTIONAL_MODULES = [
  'traversal', 'rfi', 'cmdi', 'ssrf', 'nosqli', 'prototype-pollution', 'ssti', 'jndi', 'xxe', 'scanner', 'protocol',
  'ldapi', 'ssi',
] as const;

const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

async function loadOptional(name: string): Promise<readonly PayloadRule[]> {
  const url = new URL(`./${name}${ext}`, import.meta.url);
  try {
    const m = (await import(url.href)) as { rules?: readonly PayloadRule[] };
    return m.rules ?? [];
  } catch (err) {
    const e = err as { code?: string; url?: string; message?: string };
    if (e.code === 'ERR_MODULE_NOT_FOUND' && (e.url === url.href || (e.message ?? '').includes(`${name}${ext}`))) return [];
    throw err;
  }
}

const optional = await Promise.all(OPTIONAL_MODULES.map(loadOptional));

/** Every rule set, by module name. */
export const RULE_SETS: Readonly<Record<string, readonly PayloadRule[]>> = Object.freeze({
  sqli,
  xss,
  ...Object.fromEntries(OPTIONAL_MODULES.map((n, i) => [n, optional[i]!])),
});

/** All payload rules, flattened in module order. */
export const ALL_RULES: readonly PayloadRule[] = Object.freeze(Object.values(RULE_SETS).flat());
