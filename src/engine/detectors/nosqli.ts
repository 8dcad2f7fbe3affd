import type { Location } from '../../core/types.ts';
import type { PartRule, TransformName } from '../types.ts';
import { clip, isWordChar, isAlpha, isSpace } from './lib/text.ts';

/**
 * NoSQL (MongoDB) injection (OWASP WSTG-INPV-05.6, CWE-943).
 *
 * Rule ids (938xxx, unused by OWASP CRS; chosen for NoSQL injection):
 * - `938100` a MongoDB query operator as a JSON key or a bracketed parameter name (`{"$ne": …}`,
 *   `user[$ne]=`), PL1, critical — the classic login bypass `{"password": {"$gt": ""}}`.
 * - `938110` an operator object inside a string value (`{ $ne: 1 }`, `', $where: '1 == 1'`, `[$regex]=`),
 *   PL1, critical.
 * - `938120` server-side JavaScript in `$where`/`mapReduce` style payloads: a quote break followed by JS
 *   (`';return true;var x='`, `' && this.password.match(/.*\/)//`, `';sleep(5000);'`), `db.coll.insert(`,
 *   busy-wait loops (`while(pt-it<5000)`), PL1, critical.
 * - `938130` a CouchDB database-wide endpoint as a path segment of a value (`/_all_docs?include_docs=true`),
 *   PL1, critical.
 * - `938140` Redis protocol after a line break in a value (RESP framing, `FLUSHALL`, `CONFIG SET dir`), PL1,
 *   critical.
 *
 * All scans are single passes over the value with bounded look-ahead.
 */

const TAGS = ['OWASP_CRS/ATTACK-NOSQLI', 'CWE-943', 'attack-injection-nosql'] as const;

/** MongoDB query, update and aggregation operators (MongoDB manual, "Query and Projection Operators"). */
export const MONGO_OPERATORS: ReadonlySet<string> = new Set([
  'ne', 'eq', 'gt', 'gte', 'lt', 'lte', 'in', 'nin', 'and', 'or', 'nor', 'not', 'exists', 'type', 'regex',
  'where', 'expr', 'jsonschema', 'mod', 'text', 'search', 'all', 'elemmatch', 'size', 'options', 'function',
  'accumulator', 'lookup', 'unionwith', 'merge', 'out', 'set', 'unset', 'inc', 'push', 'pull', 'rename',
  'comment', 'natural', 'bitsallset', 'bitsanyset', 'geowithin', 'near', 'slice',
]);

/** Reads `$op` at `i` (index of `$`); returns the lower-cased operator when it is a Mongo operator. */
function operatorAt(s: string, i: number): string | null {
  let k = i + 1;
  while (k < s.length && isAlpha(s.charCodeAt(k)) && k - i < 16) k++;
  if (k === i + 1 || (k < s.length && isWordChar(s.charCodeAt(k)))) return null;
  const op = s.slice(i + 1, k).toLowerCase();
  return MONGO_OPERATORS.has(op) ? op : null;
}

/** Key-like locations: JSON keys and parameter/cookie names. */
const NAME_TARGETS: readonly Location['kind'][] = ['json_key', 'query_name', 'form_name', 'cookie_name', 'multipart_name'];
/** Value locations. */
const VALUE_TARGETS: readonly Location['kind'][] = ['query', 'form', 'json', 'cookie', 'multipart', 'body', 'xml'];

const operatorKey: PartRule = {
  kind: 'part',
  id: '938100',
  name: 'nosqli-operator-in-key',
  category: 'nosqli',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: NAME_TARGETS,
  // the second chain: `a[\u0024ne]=` for parsers that unescape names (a `\` makes the value non-inert)
  transforms: [['urlDecodeRepeat'], ['urlDecodeRepeat', 'jsDecode']],
  needs: '$', // the loop of match
  match(input) {
    // `$ne` as the whole key, or `[$ne]` / `[ $ne ]` in a bracketed name; `&exists` (a `$` lost to encoding) too.
    for (let i = input.indexOf('$'); i !== -1; i = input.indexOf('$', i + 1)) {
      let p = i - 1;
      while (p >= 0 && p > i - 8 && isSpace(input.charCodeAt(p))) p--;
      const b = p < 0 ? -1 : input.charCodeAt(p);
      if (b === -1 || b === 0x5b || (b === 0x2e && p === i - 1)) {
        const op = operatorAt(input, i);
        // a whole name `$search` is OData's system query option (Microsoft Graph, SAP); Mongo's `$search` only
        // works inside `$text` or an Atlas pipeline stage, which the nested forms (`[$search]`, `.$search`) cover
        if (op === 'search' && b === -1) continue;
        if (op !== null) return 'operator $' + op + ' in name';
      }
    }
    return null;
  },
};

/**
 * Finds `$op` followed (after optional quote and spaces) by `:` or `]` inside a value, or a quoted
 * `"$op":`; the operator must follow `{`, `,`, `[`, a quote or the start (object-literal syntax).
 */
export function findOperatorObject(s: string): string | null {
  for (let i = s.indexOf('$'); i !== -1; i = s.indexOf('$', i + 1)) {
    const op = operatorAt(s, i);
    if (op === null) continue;
    let b = i - 1;
    const q = b >= 0 && (s.charCodeAt(b) === 0x22 || s.charCodeAt(b) === 0x27);
    if (q) b--;
    while (b >= 0 && isSpace(s.charCodeAt(b))) b--;
    const before = b < 0 ? -1 : s.charCodeAt(b);
    if (!(before === -1 || before === 0x7b || before === 0x2c || before === 0x5b || before === 0x27 || before === 0x22)) continue;
    let k = i + 1 + op.length;
    if (s.charCodeAt(k) === 0x22 || s.charCodeAt(k) === 0x27) k++;
    while (k < s.length && isSpace(s.charCodeAt(k))) k++;
    const after = s.charCodeAt(k);
    if (after === 0x3a || (after === 0x5d && before === 0x5b)) return clip(s.slice(Math.max(0, b), k + 24));
  }
  // `{"&exists": false}`: the `$` replaced by `&` (URL-encoding mishap or filter evasion)
  for (let i = s.indexOf('"&'); i !== -1; i = s.indexOf('"&', i + 1)) {
    const op = operatorAt(s, i + 1);
    if (op !== null && s.charCodeAt(i + 2 + op.length) === 0x22) return clip(s.slice(i, i + 24));
  }
  return null;
}

const operatorValue: PartRule = {
  kind: 'part',
  id: '938110',
  name: 'nosqli-operator-object-in-value',
  category: 'nosqli',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: VALUE_TARGETS,
  // the second chain: `{"\u0024ne": 1}` inside a string the application parses as JSON later
  transforms: [['urlDecodeRepeat'], ['urlDecodeRepeat', 'jsDecode']],
  needs: '$&', // the first guard of match
  match(input) {
    if (input.indexOf('$') === -1 && input.indexOf('"&') === -1) return null;
    return findOperatorObject(input);
  },
};

/** JavaScript that follows a quote break in `$where` payloads. */
const JS_AFTER_BREAK: readonly string[] = [
  'return', 'sleep(', 'this.', 'while(', 'while (', 'do{', 'do {', 'var ', 'let ', 'it=', 'function(', 'function (',
  'db.', 'tojson(', 'emit(', 'throw ',
];

/** Mongo shell collection methods (`db.coll.<method>(`). */
const DB_METHODS: readonly string[] = [
  'insert', 'insertone', 'insertmany', 'find', 'findone', 'remove', 'drop', 'update', 'updateone', 'updatemany',
  'deleteone', 'deletemany', 'mapreduce', 'aggregate', 'count', 'getcollectionnames', 'dropdatabase', 'eval',
];

/** Strips quote characters from both ends of a short operand. */
function unquote(x: string): string {
  let a = 0;
  let b = x.length;
  while (a < b && (x.charCodeAt(a) === 0x27 || x.charCodeAt(a) === 0x22)) a++;
  while (b > a && (x.charCodeAt(b - 1) === 0x27 || x.charCodeAt(b - 1) === 0x22)) b--;
  return x.slice(a, b);
}

/**
 * Finds server-side JavaScript typical of `$where` injection. Returns a finding or null. Linear: each
 * separator is examined with a bounded look-ahead.
 */
export function findWhereJs(raw: string): string | null {
  const s = raw.toLowerCase();
  const n = s.length;
  // 1. a quote or `0` break followed by `;` / `&&` / `||` and JS (the per-character scan only acts at those
  // characters: skipped when none occurs, e.g. on a long field list that only has `.` for step 2)
  const breaks = s.indexOf(';') !== -1 || s.indexOf('&') !== -1 || s.indexOf('|') !== -1;
  for (let i = 0; breaks && i < n; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x3b && !((c === 0x26 || c === 0x7c) && s.charCodeAt(i + 1) === c)) continue;
    // what precedes: a quote (possibly after spaces) or the start/number (`0;return true`)
    let b = i - 1;
    while (b >= 0 && s.charCodeAt(b) === 0x20) b--;
    const pb = b < 0 ? -1 : s.charCodeAt(b);
    const quoteBreak = pb === 0x27 || pb === 0x22 || pb === -1 || (pb >= 0x30 && pb <= 0x39 && b === 0);
    if (!quoteBreak) continue;
    let k = c === 0x3b ? i + 1 : i + 2;
    while (k < n && s.charCodeAt(k) === 0x20) k++;
    for (const js of JS_AFTER_BREAK) {
      if (s.startsWith(js, k)) {
        if (js === 'return') {
          const e = s.charCodeAt(k + 6);
          if (e !== 0x20 && e !== 0x28 && e !== 0x27 && e !== 0x22) continue;
        }
        return clip(s.slice(Math.max(0, b), k + 32));
      }
    }
    // `|| 1==1`, `' || 'a'=='a`: a JS equality tautology (`==`, not SQL `=`)
    if (c !== 0x3b) {
      const eq = s.indexOf('==', k);
      if (eq !== -1 && eq - k <= 12) {
        const left = unquote(s.slice(k, eq).trim());
        let r = eq + 2;
        if (s.charCodeAt(r) === 0x3d) r++;
        while (r < n && s.charCodeAt(r) === 0x20) r++;
        const right = unquote(s.slice(r, r + left.length + 2).trim());
        if (left.length > 0 && right.startsWith(left) && (right.length === left.length || !isWordChar(right.charCodeAt(left.length)))) {
          return clip(s.slice(Math.max(0, b), r + left.length + 2));
        }
      }
    }
    i = k - 1 > i ? k - 1 : i;
  }
  // 2. `db.<collection>.<method>(`
  for (let i = s.indexOf('db.'); i !== -1; i = s.indexOf('db.', i + 3)) {
    if (i > 0 && isWordChar(s.charCodeAt(i - 1))) continue;
    let k = i + 3;
    while (k < n && (isWordChar(s.charCodeAt(k)) || s.charCodeAt(k) === 0x2d) && k - i < 80) k++;
    // `db.getCollectionNames()`, `db.dropDatabase()`: a method on the database itself
    if (s.charCodeAt(k) === 0x28 && DB_METHODS.includes(s.slice(i + 3, k))) return clip(s.slice(i, k + 1));
    if (s.charCodeAt(k) !== 0x2e) continue;
    for (const m of DB_METHODS) {
      if (s.startsWith(m, k + 1) && s.charCodeAt(k + 1 + m.length) === 0x28) return clip(s.slice(i, k + 2 + m.length));
    }
  }
  // 3. `this.<field>.match(` / `this.<field> ==` inside a value
  for (let i = s.indexOf('this.'); i !== -1; i = s.indexOf('this.', i + 5)) {
    if (i > 0 && isWordChar(s.charCodeAt(i - 1))) continue;
    let k = i + 5;
    while (k < n && isWordChar(s.charCodeAt(k)) && k - i < 64) k++;
    if (s.startsWith('.match(', k) || s.startsWith('==', k) || s.startsWith(' ==', k) || s.startsWith('.length', k)) {
      return clip(s.slice(i, k + 12));
    }
  }
  return null;
}

const whereJs: PartRule = {
  kind: 'part',
  id: '938120',
  name: 'nosqli-server-side-javascript',
  category: 'nosqli',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: VALUE_TARGETS,
  transforms: [['urlDecodeRepeat']],
  needs: ';&|.', // findWhereJs: a `;`/`&&`/`||` break, `db.` or `this.`
  match(input) {
    if (input.length < 4) return null;
    return findWhereJs(input);
  },
};

/**
 * Finds a CouchDB database-wide endpoint (`_all_docs`, `_all_dbs`) as a path segment of a value
 * (`../_all_docs`, `db/_all_docs?include_docs=true`): a value spliced into a CouchDB URL that lists every
 * document. The name must start the value or follow `/` and end it or precede `/`, `?`, `#` (prose that
 * mentions the endpoint has a space before it). Linear.
 */
export function findCouchEndpoint(s: string): string | null {
  for (let i = s.indexOf('_all_d'); i !== -1; i = s.indexOf('_all_d', i + 1)) {
    const end = s.startsWith('_all_docs', i) ? i + 9 : s.startsWith('_all_dbs', i) ? i + 8 : -1;
    if (end === -1) continue;
    const b = i === 0 ? -1 : s.charCodeAt(i - 1);
    const e = end < s.length ? s.charCodeAt(end) : -1;
    if ((b === -1 || b === 0x2f) && (e === -1 || e === 0x2f || e === 0x3f || e === 0x23)) return clip(s.slice(Math.max(0, i - 16), end + 24));
  }
  return null;
}

const couchEndpoint: PartRule = {
  kind: 'part',
  id: '938130',
  name: 'nosqli-couchdb-endpoint-in-value',
  category: 'nosqli',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: VALUE_TARGETS,
  transforms: [['urlDecodeRepeat']],
  needs: '_', // the loop of findCouchEndpoint
  match(input) {
    return input.length < 8 ? null : findCouchEndpoint(input);
  },
};

/** Redis commands that reconfigure or wipe the server when smuggled onto a new protocol line. */
const REDIS_LINE_COMMANDS: readonly string[] = ['flushall', 'flushdb', 'slaveof ', 'replicaof ', 'config set ', 'module load ', 'shutdown'];

/** `config set` parameters used to write files or hijack replication (Redis RCE write-ups). */
const REDIS_CONFIG_PARAMS: readonly string[] = ['dir', 'dbfilename', 'masterauth', 'requirepass', 'protected-mode', 'slave-read-only', 'replica-read-only'];

/**
 * Finds Redis protocol smuggled after a line break in a value (CWE-93/CWE-943; the SSRF-to-Redis and
 * key-injection pattern): a RESP array header followed by a bulk-string header (`*1\r\n$8\r\n`), or a line that
 * is a destructive command (`FLUSHALL`, `CONFIG SET dir /var/www`, `SLAVEOF host port`). Only lines after a CR or
 * LF count: one command word as a whole value is ordinary text. Linear: each line start is read with a bounded
 * look-ahead.
 */
export function findRedisCommand(s: string): string | null {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x0a && c !== 0x0d) continue;
    let k = i + 1;
    while (k < n && (s.charCodeAt(k) === 0x0a || s.charCodeAt(k) === 0x0d)) k++;
    i = k - 1;
    if (k >= n) break;
    // RESP: `*<n>` CRLF `$<len>`
    if (s.charCodeAt(k) === 0x2a) {
      let d = k + 1;
      while (d < n && d - k < 6 && s.charCodeAt(d) >= 0x30 && s.charCodeAt(d) <= 0x39) d++;
      if (d > k + 1 && (s.charCodeAt(d) === 0x0d || s.charCodeAt(d) === 0x0a)) {
        while (d < n && (s.charCodeAt(d) === 0x0d || s.charCodeAt(d) === 0x0a)) d++;
        const e = s.charCodeAt(d + 1);
        if (s.charCodeAt(d) === 0x24 && e >= 0x30 && e <= 0x39) return clip(s.slice(k, k + 32));
      }
    }
    const line = s.slice(k, Math.min(n, k + 48)).toLowerCase();
    for (const cmd of REDIS_LINE_COMMANDS) {
      if (!line.startsWith(cmd)) continue;
      const after = line.charCodeAt(cmd.length);
      if (cmd === 'config set ') {
        if (REDIS_CONFIG_PARAMS.some((p) => line.startsWith(p, cmd.length) && (line.length === cmd.length + p.length || line.charCodeAt(cmd.length + p.length) === 0x20))) return clip(line);
      } else if (cmd === 'module load ') {
        if (after === 0x2f || after === 0x2e) return clip(line);
      } else if (cmd.endsWith(' ')) {
        // `SLAVEOF host port`: a host then digits
        const sp = line.indexOf(' ', cmd.length);
        const p = line.charCodeAt(sp + 1);
        if (sp > cmd.length && p >= 0x30 && p <= 0x39) return clip(line);
      } else if (Number.isNaN(after) || after === 0x0d || after === 0x0a || (after === 0x20 && (line.startsWith('async', cmd.length + 1) || line.startsWith('sync', cmd.length + 1) || line.startsWith('nosave', cmd.length + 1)))) {
        return clip(line);
      }
    }
  }
  return null;
}

const redisCommand: PartRule = {
  kind: 'part',
  id: '938140',
  name: 'nosqli-redis-protocol-injection',
  category: 'nosqli',
  severity: 'critical',
  paranoia: 1,
  tags: [...TAGS, 'CWE-93'],
  targets: VALUE_TARGETS,
  transforms: [['urlDecodeRepeat']],
  decodedOnly: true, // needs a CR or LF
  match(input) {
    if (input.indexOf('\n') === -1 && input.indexOf('\r') === -1) return null;
    return findRedisCommand(input);
  },
};

/** The NoSQL injection rules (ids and levels in the module comment). */
export const rules: readonly PartRule[] = [operatorKey, operatorValue, whereJs, couchEndpoint, redisCommand];
