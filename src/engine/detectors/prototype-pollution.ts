import type { Location } from '../../core/types.ts';
import type { PartRule, PayloadRule, RequestRule } from '../types.ts';
import { clip, isWordChar } from './lib/text.ts';

/**
 * JavaScript prototype pollution (CWE-1321; OWASP CRS 934130 "JavaScript Prototype Pollution").
 *
 * Rule ids (CRS range 934xxx):
 * - `934150` `__proto__` in a JSON key, a parameter/cookie name (`a[__proto__][x]=`) or a value used as a
 *   property path (`a.__proto__.b`), PL1, critical.
 * - `934160` `constructor` followed by `prototype` as property access (`constructor.prototype`,
 *   `constructor[prototype]`, `["constructor"]["prototype"]`, or JSON key path `…constructor.prototype…`),
 *   PL1, critical.
 * - `934161` a property path given as a JSON array with consecutive elements `constructor`, `prototype`, PL1,
 *   critical.
 */

const TAGS = ['OWASP_CRS/ATTACK-NODEJS', 'CWE-1321', 'attack-prototype-pollution'] as const;

const TARGETS: readonly Location['kind'][] = [
  'json_key', 'query_name', 'form_name', 'cookie_name', 'multipart_name', 'query', 'form', 'json', 'cookie', 'multipart', 'body',
];

/** True when `word` occurs in `s` as a whole identifier (not inside a longer word). Linear. */
function hasIdent(s: string, word: string): number {
  for (let i = s.indexOf(word); i !== -1; i = s.indexOf(word, i + 1)) {
    const b = i === 0 ? -1 : s.charCodeAt(i - 1);
    const e = i + word.length < s.length ? s.charCodeAt(i + word.length) : -1;
    if ((b === -1 || !isWordChar(b) || word.startsWith('_')) && (e === -1 || !isWordChar(e) || word.endsWith('_'))) return i;
  }
  return -1;
}

const proto: PartRule = {
  kind: 'part',
  id: '934150',
  name: 'prototype-pollution-proto',
  category: 'prototype-pollution',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'jsDecode']],
  match(input, part) {
    const i = hasIdent(input, '__proto__');
    if (i !== -1) return clip(input.slice(Math.max(0, i - 16), i + 24));
    // The JSON key path (`a.__proto__.b`) when the key itself was split by the parser.
    const name = part.loc.name;
    if (name !== undefined && part.loc.kind === 'json_key' && name.indexOf('__proto__') !== -1) return clip('key path ' + name);
    return null;
  },
};

/**
 * Finds `constructor` followed by `prototype` as a property access: separated only by `.`, `[`, `]`, `/`
 * (JSON Pointer paths of JSON Patch, RFC 6901/6902), quotes and spaces. Returns the index or -1. Linear.
 */
export function findConstructorPrototype(s: string): number {
  for (let i = s.indexOf('constructor'); i !== -1; i = s.indexOf('constructor', i + 1)) {
    if (i > 0 && isWordChar(s.charCodeAt(i - 1))) continue;
    let k = i + 11;
    let sep = 0;
    while (k < s.length && sep < 8) {
      const c = s.charCodeAt(k);
      if (c === 0x2e || c === 0x5b || c === 0x5d || c === 0x2f || c === 0x22 || c === 0x27 || c === 0x20) {
        k++;
        sep++;
      } else break;
    }
    if (sep > 0 && s.startsWith('prototype', k) && !isWordChar(s.charCodeAt(k + 9))) return i;
  }
  return -1;
}

const ctorProto: PartRule = {
  kind: 'part',
  id: '934160',
  name: 'prototype-pollution-constructor-prototype',
  category: 'prototype-pollution',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'jsDecode']],
  match(input, part) {
    if (input.indexOf('constructor') !== -1 || input.indexOf('prototype') !== -1) {
      const i = findConstructorPrototype(input);
      if (i !== -1) return clip(input.slice(i, i + 40));
    }
    // JSON `{"constructor": {"prototype": {…}}}`: the key `prototype` under a `constructor` key path.
    const name = part.loc.name;
    if (name !== undefined && (part.loc.kind === 'json_key' || part.loc.kind === 'json') && findConstructorPrototype(name) !== -1) {
      return clip('key path ' + name);
    }
    return null;
  },
};

/**
 * A property path given as a JSON array (`{"path": ["constructor", "prototype", "isAdmin"]}`, as lodash `set`
 * and similar helpers accept): consecutive elements `constructor`, `prototype` of one array. Linear in the parts.
 */
const ctorProtoArray: RequestRule = {
  kind: 'request',
  id: '934161',
  name: 'prototype-pollution-path-array',
  category: 'prototype-pollution',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  phase: 'body',
  check(scope) {
    const parts = scope.parts;
    for (let i = 1; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.loc.kind !== 'json' || p.value !== 'prototype') continue;
      const q = parts[i - 1]!;
      if (q.loc.kind === 'json' && q.value === 'constructor' && sameArray(q.loc.name, p.loc.name)) return [{ hit: 'array path constructor, prototype', loc: p.loc, value: clip(`${q.loc.name} ${p.loc.name}`) }];
    }
    return [];
  },
};

/** True when JSON part names `a` and `b` are elements of one array (`x.path[0]`, `x.path[1]`). */
function sameArray(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined || !a.endsWith(']') || !b.endsWith(']')) return false;
  const ia = a.lastIndexOf('[');
  const ib = b.lastIndexOf('[');
  return ia > 0 && ia === ib && a.slice(0, ia) === b.slice(0, ib);
}

/** The prototype pollution rules (ids and levels in the module comment). */
export const rules: readonly PayloadRule[] = [proto, ctorProto, ctorProtoArray];
