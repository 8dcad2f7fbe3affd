import type { Location } from '../../core/types.ts';
import type { PartRule, TransformName } from '../types.ts';
import { clip, isWordChar, isSpace } from './lib/text.ts';

/**
 * LDAP filter injection (CWE-90; RFC 4515 filter syntax) and XPath injection (CWE-643). These feed the
 * corpus' `other` category together with XXE and SSI.
 *
 * An LDAP search filter is a parenthesised prefix expression: `(&(uid=x)(pass=y))`. Injection closes the
 * application's filter and opens new terms, so the scanner looks for filter *structure* in a value — a
 * closing paren immediately followed by a new term, or a composite operator between parens — rather than
 * for single metacharacters (which appear in ordinary text).
 *
 * Rule ids (936xxx, unused by OWASP CRS; chosen for query-language injection other than SQL):
 * - `936100` LDAP filter structure: `)(attr=`, `)(|`, `(|(`, `(&(`, `*)(`, `*))`, PL1, critical.
 * - `936110` a value made only of LDAP filter metacharacters (`*()|&'`, `*|`, `)(`), at least two
 *   characters including a paren or operator, PL1, critical — probing input (no text field is only that).
 * - `936200` XPath injection: a quote break followed by `or`/`and` and an XPath function or axis
 *   (`' or name()='x`, `' or count(/*)=1`, `'] | //user[`), PL1, critical.
 * - `936120` a trailing LDAP wildcard after a word (`admin*`), PL3, notice (ordinary in search boxes).
 */

const TAGS = ['OWASP_CRS/ATTACK-LDAP', 'CWE-90', 'attack-injection-ldap'] as const;
const XPATH_TAGS = ['OWASP_CRS/ATTACK-XPATH', 'CWE-643', 'attack-injection-xpath'] as const;

const TARGETS: readonly Location['kind'][] = ['query', 'form', 'json', 'cookie', 'multipart', 'xml'];

const CHAINS: readonly (readonly TransformName[])[] = [['urlDecodeRepeat', 'removeNulls']];

/** Attribute-name characters in a filter (RFC 4512 `descr` / OID). */
function isAttrChar(c: number): boolean {
  return isWordChar(c) || c === 0x2d || c === 0x2e || c === 0x3b;
}

/** Finds LDAP filter structure in `s`; returns an excerpt or null. Linear with bounded look-ahead. */
export function findLdapFilter(s: string): string | null {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x28) {
      // `(|(` `(&(` `(!(`
      const op = s.charCodeAt(i + 1);
      if ((op === 0x7c || op === 0x26 || op === 0x21) && s.charCodeAt(i + 2) === 0x28) return clip(s.slice(i, i + 32));
      continue;
    }
    if (c !== 0x29) continue;
    const prev = i === 0 ? -1 : s.charCodeAt(i - 1);
    let k = i + 1;
    while (k < n && isSpace(s.charCodeAt(k))) k++;
    const next = k < n ? s.charCodeAt(k) : -1;
    // `*)(` and `*))`: a wildcard closing the application's term
    if (prev === 0x2a && (next === 0x28 || next === 0x29)) return clip(s.slice(Math.max(0, i - 8), i + 24));
    if (next !== 0x28) continue;
    // `)(` followed by an operator or `attr=` / `attr>=` / `attr~=`
    const t = k + 1;
    const op = s.charCodeAt(t);
    if (op === 0x7c || op === 0x26 || op === 0x21) return clip(s.slice(i, i + 32));
    let e = t;
    while (e < n && e - t < 64 && isAttrChar(s.charCodeAt(e))) e++;
    if (e > t) {
      const q = s.charCodeAt(e);
      if (q === 0x3d || ((q === 0x3e || q === 0x3c || q === 0x7e) && s.charCodeAt(e + 1) === 0x3d)) return clip(s.slice(i, e + 16));
    }
  }
  return null;
}

const filter: PartRule = {
  kind: 'part',
  id: '936100',
  name: 'ldap-filter-injection',
  category: 'ldapi',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: CHAINS,
  needs: '()', // the first guard of match
  match(input) {
    if (input.indexOf(')') === -1 && input.indexOf('(') === -1) return null;
    return findLdapFilter(input);
  },
};

const metaOnly: PartRule = {
  kind: 'part',
  id: '936110',
  name: 'ldap-metacharacter-probe',
  category: 'ldapi',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'trim']],
  needs: '()|&', // the structural count of match
  match(input) {
    const n = input.length;
    if (n < 2 || n > 32) return null;
    let structural = 0;
    for (let i = 0; i < n; i++) {
      const c = input.charCodeAt(i);
      // * ( ) | & ! = ' " NUL backslash
      if (c === 0x28 || c === 0x29 || c === 0x7c || c === 0x26) structural++;
      else if (!(c === 0x2a || c === 0x21 || c === 0x3d || c === 0x27 || c === 0x22 || c === 0x00 || c === 0x5c)) return null; // no spaces: `| | |` is a Markdown table row
    }
    if (structural === 0) return null;
    // `()` alone, `&&`, `||` are common enough in text to need more: require two different characters
    // including a wildcard or an operator.
    let distinct = 0;
    const seen = new Set<number>();
    for (let i = 0; i < n; i++) if (!seen.has(input.charCodeAt(i))) { seen.add(input.charCodeAt(i)); distinct++; }
    if (distinct < 2) return null;
    if (input === '()' || input === '( )') return null;
    return 'metacharacters ' + clip(input, 32);
  },
};

/** XPath 1.0 core functions and axes used in blind XPath injection (W3C XPath 1.0 §4). */
const XPATH_FUNCS: readonly string[] = [
  'name(', 'local-name(', 'count(', 'string-length(', 'substring(', 'contains(', 'starts-with(', 'text(', 'node(',
  'position(', 'last(', 'string(', 'normalize-space(', 'translate(', 'concat(', 'boolean(', 'number(', 'not(',
  '//', '/child::', '/descendant::', '/parent::', '/ancestor::', 'comment(', 'processing-instruction(',
];

/** Finds `' or <xpath-function>` / `" and <axis>` (a quote break into an XPath predicate). */
export function findXPath(raw: string): string | null {
  const s = raw.toLowerCase();
  const n = s.length;
  // visit the quotes in order with two native scans (long prose/HTML values have few quotes per character)
  let sq = s.indexOf("'");
  let dq = s.indexOf('"');
  while (sq !== -1 || dq !== -1) {
    let i: number;
    if (dq === -1 || (sq !== -1 && sq < dq)) {
      i = sq;
      sq = s.indexOf("'", sq + 1);
    } else {
      i = dq;
      dq = s.indexOf('"', dq + 1);
    }
    let k = i + 1;
    if (s.charCodeAt(k) === 0x5d) k++; // `']`
    while (k < n && isSpace(s.charCodeAt(k))) k++;
    let opEnd = -1;
    if (s.startsWith('or', k) && !isWordChar(s.charCodeAt(k + 2))) opEnd = k + 2;
    else if (s.startsWith('and', k) && !isWordChar(s.charCodeAt(k + 3))) opEnd = k + 3;
    else if (s.charCodeAt(k) === 0x7c) opEnd = k + 1; // `'] | //user`
    if (opEnd === -1) continue;
    let f = opEnd;
    while (f < n && isSpace(s.charCodeAt(f))) f++;
    for (const fn of XPATH_FUNCS) {
      if (!s.startsWith(fn, f)) continue;
      if (!fn.endsWith('(')) return clip(s.slice(i, f + 32)); // an axis or `//`
      // a function must be compared (`name()='x'`, `count(/*)>1`): SQL-like filter languages also
      // have `CONTAINS(a, 'b')` without a comparison.
      let depth = 1;
      let e = f + fn.length;
      while (e < n && depth > 0 && e - f < 96) {
        const d = s.charCodeAt(e);
        if (d === 0x28) depth++;
        else if (d === 0x29) depth--;
        e++;
      }
      while (e < n && isSpace(s.charCodeAt(e))) e++;
      const cmp = s.charCodeAt(e);
      if (depth === 0 && (cmp === 0x3d || cmp === 0x3c || cmp === 0x3e || (cmp === 0x21 && s.charCodeAt(e + 1) === 0x3d))) {
        return clip(s.slice(i, e + 16));
      }
    }
  }
  return null;
}

const xpath: PartRule = {
  kind: 'part',
  id: '936200',
  name: 'xpath-injection',
  category: 'other',
  severity: 'critical',
  paranoia: 1,
  tags: XPATH_TAGS,
  targets: TARGETS,
  transforms: [['urlDecodeRepeat']],
  needs: '\'"', // the first guard of match
  match(input) {
    if (input.indexOf("'") === -1 && input.indexOf('"') === -1) return null;
    return findXPath(input);
  },
};

const trailingWildcard: PartRule = {
  kind: 'part',
  id: '936120',
  name: 'ldap-trailing-wildcard',
  category: 'ldapi',
  severity: 'notice',
  paranoia: 3,
  tags: TAGS,
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'trim']],
  match(input) {
    const n = input.length;
    if (n < 2 || n > 128 || input.charCodeAt(n - 1) !== 0x2a) return null;
    return isWordChar(input.charCodeAt(n - 2)) ? 'wildcard ' + clip(input, 32) : null;
  },
};

/** The LDAP and XPath injection rules (ids and levels in the module comment). */
export const rules: readonly PartRule[] = [filter, metaOnly, xpath, trailingWildcard];
