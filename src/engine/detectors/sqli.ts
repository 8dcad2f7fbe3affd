import type { Location } from '../../core/types.ts';
import type { PartRule, TransformName } from '../types.ts';
import { detectSqli } from './sqli-lexer.ts';

/**
 * SQL injection rules (OWASP CRS REQUEST-942-APPLICATION-ATTACK-SQLI, CWE-89).
 *
 * - `942100` (PL1, critical): lexer-based detection ({@link detectSqli}, libinjection's method with
 *   Bulwark's own token-grammar judge). Case, inline comments (`UN/**\/ION`), whitespace substitutes
 *   (`%0b`, `%a0`, tabs, Unicode spaces), string concatenation, `0x` literals and backticks do not help: the
 *   lexer reads them as SQL does. Values used unquoted (numeric, ORDER BY, LIMIT) are also read as SQL
 *   expressions: one that tests a condition on constants (`pi() or 1=1`, `if(1=1,id,name)`, `1 xor 1`) fires.
 * - `942140` (PL1, critical): names of database system catalogs (`information_schema`, `sysobjects`,
 *   `pg_catalog` …; CRS 942140 "common DB names").
 * - `942430` (PL2, warning): restricted SQL character anomaly: 12 or more of ``'"`;()=`` and comment
 *   markers in one value (CRS 942430 counts the same characters at PL2).
 * - `942440` (PL2, error): SQL comment sequence right after a quote or closing parenthesis (`'--`, `')#`,
 *   `"/*`; CRS 942440).
 */

const TAGS = ['OWASP_CRS/ATTACK-SQLI', 'CWE-89', 'attack-sqli', 'capec/1000/152/248/66'] as const;

/** Request parts that can carry a SQL fragment into a query (CRS: ARGS, ARGS_NAMES, cookies, User-Agent, Referer, XML). */
export const SQLI_TARGETS: readonly Location['kind'][] = [
  'query', 'query_name', 'form', 'form_name', 'json', 'json_key', 'cookie', 'header', 'multipart', 'multipart_name',
  'filename', 'xml', 'body', 'path_segment',
];

/** One more percent-decoding round (values arrive decoded once), overlong UTF-8, NFKC (full-width `＇`), NULs. */
const CHAINS: readonly (readonly TransformName[])[] = [['urlDecodeUni', 'utf8ToUnicode', 'unicodeNormalize', 'removeNulls']];

/** System catalog segments (one identifier between dots). */
const CATALOG_SEGMENTS = new Set([
  'information_schema', 'sysobjects', 'syscolumns', 'sysdatabases', 'sysusers', 'sysservers', 'sysprocesses', 'syslogins',
  'pg_catalog', 'pg_shadow', 'pg_user', 'pg_database', 'pg_tables', 'pg_group', 'pg_authid', 'pg_roles', 'pg_namespace',
  'sqlite_master', 'sqlite_schema', 'sqlite_temp_master', 'msysaccessobjects', 'msysobjects', 'msysqueries', 'all_tables',
  'user_tables', 'all_tab_columns', 'user_tab_columns', 'dba_users', 'dba_tables', 'all_users', 'v$version', 'v$database',
  'sql_logins', 'sysibm', 'syscat', 'user$',
]);
/** Qualified names whose parts are ordinary words on their own (`mysql.user`, `sys.tables`). */
const CATALOG_QUALIFIED = new Set(['mysql.user', 'mysql.db', 'sys.tables', 'sys.objects', 'sys.databases', 'sys.columns', 'sys.sysobjects', 'master.dbo', 'master..sysdatabases', 'master..sysservers']);

/** Substrings every catalog name contains (literal alternation: linear); gates the identifier scan. */
const CATALOG_HINT = /information_schema|sys|pg_|mysql\.|sqlite_|_tab|all_users|dba_|v\$|master\.|rdb\$|user\$|sql_logins/;

function isIdent(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x24;
}

/**
 * Finds a database system catalog name (OWASP CRS 942140 list, extended) in lower-cased text: one pass over
 * identifier runs (`[a-z0-9_$.]`), each checked by set lookups per dot-separated segment. Linear.
 */
export function findCatalog(s: string): string | null {
  if (!CATALOG_HINT.test(s)) return null;
  const n = s.length;
  let i = 0;
  while (i < n) {
    if (!isIdent(s.charCodeAt(i))) {
      i++;
      continue;
    }
    const st = i;
    while (i < n && (isIdent(s.charCodeAt(i)) || s.charCodeAt(i) === 0x2e)) i++;
    if (i - st < 5) continue;
    const word = s.slice(st, i);
    if (CATALOG_SEGMENTS.has(word)) return word;
    if (word.indexOf('.') !== -1) {
      let from = 0;
      for (;;) {
        const dot = word.indexOf('.', from);
        const seg = word.slice(from, dot === -1 ? word.length : dot);
        if (CATALOG_SEGMENTS.has(seg) || seg.startsWith('rdb$') || (seg.startsWith('dba_') && from > 0)) return word;
        if (dot === -1) break;
        // qualified pair starting at this segment
        const next = word.indexOf('.', dot + 1 + (word.charCodeAt(dot + 1) === 0x2e ? 1 : 0));
        const pair = word.slice(from, next === -1 ? word.length : next);
        if (CATALOG_QUALIFIED.has(pair)) return pair;
        from = dot + 1;
      }
    } else if (word.startsWith('rdb$')) return word;
  }
  return null;
}

/** Counts SQL-meaningful special characters (CRS 942430's class). */
export function specialCount(s: string): number {
  let k = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x27 || c === 0x22 || c === 0x60 || c === 0x3b || c === 0x28 || c === 0x29 || c === 0x3d || c === 0x23) k++;
    else if ((c === 0x2d && s.charCodeAt(i + 1) === 0x2d) || (c === 0x2f && s.charCodeAt(i + 1) === 0x2a)) k++;
  }
  return k;
}

/** A quote or `)` directly followed by a SQL comment marker. */
export function quoteComment(s: string): string | null {
  for (let i = 0; i + 1 < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x27 && c !== 0x22 && c !== 0x29 && c !== 0x60) continue;
    let j = i + 1;
    while (j < s.length && (s.charCodeAt(j) === 0x20 || s.charCodeAt(j) === 0x29)) j++;
    const d = s.charCodeAt(j);
    const e = s.charCodeAt(j + 1);
    if ((d === 0x2d && e === 0x2d) || d === 0x23 || (d === 0x2f && e === 0x2a) || (d === 0x3b && j + 1 >= s.length)) return s.slice(i, j + 2);
  }
  return null;
}

/** The SQL injection rule set. */
export const rules: readonly PartRule[] = [
  {
    kind: 'part',
    id: '942100',
    name: 'sqli-lexer-token-sequence',
    category: 'sqli',
    severity: 'critical',
    paranoia: 1,
    tags: TAGS,
    targets: SQLI_TARGETS,
    transforms: CHAINS,
    pure: true,
    match(input) {
      const f = detectSqli(input);
      return f ? `${f.reason} (context ${f.context}, tokens ${f.fingerprint})` : null;
    },
  },
  {
    kind: 'part',
    id: '942140',
    name: 'sqli-db-catalog-names',
    category: 'sqli',
    severity: 'critical',
    paranoia: 1,
    tags: TAGS,
    targets: SQLI_TARGETS,
    transforms: [['urlDecodeUni', 'unicodeNormalize', 'lowercase']],
    pure: true,
    match(input) {
      if (input.length < 6) return null;
      const m = findCatalog(input);
      return m ? `catalog ${m}` : null;
    },
  },
  {
    kind: 'part',
    id: '942430',
    name: 'sqli-special-character-anomaly',
    category: 'sqli',
    severity: 'warning',
    paranoia: 2,
    tags: TAGS,
    targets: ['query', 'form', 'json', 'cookie', 'multipart'],
    transforms: [['urlDecodeUni']],
    match(input) {
      if (input.length < 12) return null;
      const k = specialCount(input);
      return k >= 12 ? `${k} SQL special characters` : null;
    },
  },
  {
    kind: 'part',
    id: '942440',
    name: 'sqli-comment-after-quote',
    category: 'sqli',
    severity: 'error',
    paranoia: 2,
    tags: TAGS,
    targets: SQLI_TARGETS,
    transforms: [['urlDecodeUni', 'removeNulls']],
    pure: true,
    match(input) {
      return quoteComment(input);
    },
  },
];
