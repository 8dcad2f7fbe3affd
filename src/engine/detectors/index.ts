import type { PayloadRule } from '../types.ts';
import { rules as sqli } from './sqli.ts';
import { rules as xss } from './xss.ts';
import { rules as traversal } from './traversal.ts';
import { rules as rfi } from './rfi.ts';
import { rules as cmdi } from './cmdi.ts';
import { rules as ssrf } from './ssrf.ts';
import { rules as nosqli } from './nosqli.ts';
import { rules as prototypePollution } from './prototype-pollution.ts';
import { rules as ssti } from './ssti.ts';
import { rules as jndi } from './jndi.ts';
import { rules as xxe } from './xxe.ts';
import { rules as scanner } from './scanner.ts';
import { rules as protocol } from './protocol.ts';
import { rules as ldapi } from './ldapi.ts';
import { rules as ssi } from './ssi.ts';

/**
 * The rule sets of the payload engine, one module per attack (`src/engine/detectors/<attack>.ts`, each
 * exporting `rules: readonly PayloadRule[]`). The order here is the evaluation order within a severity class
 * (the engine runs mandatory critical paranoia-1 rules first). To add an attack module, import it here.
 */
export const RULE_SETS: Readonly<Record<string, readonly PayloadRule[]>> = Object.freeze({
  sqli,
  xss,
  traversal,
  rfi,
  cmdi,
  ssrf,
  nosqli,
  'prototype-pollution': prototypePollution,
  ssti,
  jndi,
  xxe,
  scanner,
  protocol,
  ldapi,
  ssi,
});

/** All payload rules, flattened in module order. */
export const ALL_RULES: readonly PayloadRule[] = Object.freeze(Object.values(RULE_SETS).flat());
