/**
 * A SQL lexer for injection detection, after libinjection (Nick Galbreath, "libinjection: SQLi detection via
 * lexical analysis", Black Hat USA 2012): the input is tokenized as if it were placed inside a SQL statement in
 * each of three quote contexts — bare (numeric), after a `'` and after a `"` — tokens are classified and
 * folded, and the resulting token sequence (the fingerprint) is judged. The judge is a small set of token
 * grammar rules written for Bulwark (libinjection's 9,000-entry fingerprint table is not used): an input is an
 * injection when, in some context, the SQL it would produce breaks out of its literal and continues with SQL
 * syntax (a logical operator and an operand, a comment, a UNION SELECT, a stacked statement, a time-delay or
 * file-access function, …). A bare value (numeric, ORDER BY, LIMIT contexts) needs no break: it is also read as
 * an expression list and judged when it tests a condition on constants ({@link expressionValue}).
 *
 * Everything is a single forward scan over the input (O(n) tokens, each judged in O(1) lookahead).
 */

/**
 * Token types (libinjection's letters where one exists): `s` string, `1` number (also NULL/TRUE/FALSE),
 * `n` bareword, `v` variable (`@x`, `@@version`), `k` keyword, `f` function (a name followed by `(`),
 * `o` operator, `&` logical operator, `U` UNION, `E` SELECT, `T` other statement (DROP TABLE, INSERT INTO, EXEC …),
 * `B` ORDER BY / GROUP BY / HAVING / LIMIT, `c` comment, `(` `)` `,` `;` punctuation, `x` anything else.
 */
export type TokenType = 's' | '1' | 'n' | 'v' | 'k' | 'f' | 'o' | '&' | 'U' | 'E' | 'T' | 'B' | 'c' | '(' | ')' | ',' | ';' | 'x';

/** A token sequence: parallel arrays of types and (lower-cased for words) values. */
export interface Tokens {
  types: TokenType[];
  values: string[];
}

/** Most tokens kept per context; a longer input is judged on its first tokens plus the anywhere-checks. */
export const MAX_TOKENS = 4096;

const LOGIC = new Set(['and', 'or', 'xor']);
const OPERATOR_WORDS = new Set(['like', 'rlike', 'regexp', 'is', 'in', 'between', 'div', 'mod', 'not', 'sounds', 'escape', 'collate', 'glob', 'match', 'against', 'ilike', 'similar']);
const VALUE_WORDS = new Set(['null', 'true', 'false', 'unknown', 'current_user', 'system_user', 'session_user', 'current_date', 'current_time', 'localtime', 'sysdate']);
const STATEMENTS = new Set([
  'insert', 'update', 'delete', 'drop', 'create', 'alter', 'truncate', 'exec', 'execute', 'declare', 'shutdown', 'grant',
  'revoke', 'merge', 'call', 'handler', 'rename', 'load', 'copy', 'backup', 'restore', 'kill',
]);
const KEYWORDS = new Set([
  'from', 'where', 'into', 'as', 'table', 'database', 'values', 'distinct', 'all', 'top', 'case', 'when', 'then', 'else',
  'end', 'exists', 'outfile', 'dumpfile', 'asc', 'desc', 'on', 'join', 'inner', 'outer', 'cross', 'natural', 'using',
  'with', 'waitfor', 'delay', 'begin', 'set', 'procedure', 'analyse', 'offset', 'fetch', 'schema', 'column', 'by', 'order',
  'group', 'having', 'limit', 'to', 'program', 'dual', 'if', 'while', 'returns', 'return', 'nvarchar', 'varchar', 'char',
  'int', 'integer', 'binary', 'bigint',
]);
/** Class of each SQL word (one lookup per word instead of one per word list). */
const WORD_TYPE = new Map<string, TokenType>();
for (const w of KEYWORDS) WORD_TYPE.set(w, 'k');
for (const w of STATEMENTS) WORD_TYPE.set(w, 'T');
for (const w of VALUE_WORDS) WORD_TYPE.set(w, '1');
for (const w of OPERATOR_WORDS) WORD_TYPE.set(w, 'o');
for (const w of ['union', 'intersect', 'except']) WORD_TYPE.set(w, 'U');
WORD_TYPE.set('select', 'E');
for (const w of LOGIC) WORD_TYPE.set(w, '&');
/** Longest word in {@link WORD_TYPE}; longer words are barewords without a lookup. */
const MAX_KEYWORD = Math.max(...[...WORD_TYPE.keys()].map((w) => w.length));

/** Words that keep their class even when followed by `(`. */
const NOT_FUNCTIONS = new Set(['in', 'and', 'or', 'xor', 'not', 'values', 'as', 'on', 'from', 'into', 'union', 'select', 'where', 'using', 'is', 'like', 'over', 'exists', 'table', 'set', 'to', 'with', 'all']);

/**
 * Functions whose call is an injection signal on its own: time delays (blind SQLi), file and network access,
 * OS command execution, and the error-based extraction functions (OWASP CRS 942160, 942170, 942151 lists).
 */
export const DANGEROUS_FUNCTIONS = new Set([
  'sleep', 'benchmark', 'pg_sleep', 'pg_sleep_for', 'waitfor', 'dbms_lock.sleep', 'dbms_pipe.receive_message', 'dbms_session.sleep',
  'load_file', 'extractvalue', 'updatexml', 'utl_inaddr.get_host_address', 'utl_inaddr.get_host_name', 'utl_http.request',
  'httpuritype', 'xp_cmdshell', 'xp_dirtree', 'xp_fileexist', 'xp_regread', 'sys_eval', 'sys_exec', 'randomblob',
  'name_const', 'pg_read_file', 'pg_ls_dir', 'lo_import', 'lo_export', 'openrowset', 'opendatasource', 'dblink',
  'ctxsys.drithsx.sn', 'dbms_xmlgen.getxml', 'dbms_java.runjava', 'geometrycollection', 'multipoint', 'polygon',
  'multipolygon', 'linestring', 'multilinestring', 'exp', 'gtid_subset', 'json_keys', 'st_latfromgeohash', 'make_set',
  'sqlite_version', 'load_extension', 'pg_read_binary_file', 'copy', 'sp_executesql', 'sp_oacreate', 'sp_makewebtask',
]);

/** System procedures that run OS commands or read the registry/files (MSSQL). */
const SYSTEM_PROCEDURES = new Set(['xp_cmdshell', 'xp_dirtree', 'xp_regread', 'xp_regwrite', 'xp_fileexist', 'sp_oacreate', 'sp_oamethod', 'sp_makewebtask', 'sp_addextendedproc', 'xp_servicecontrol', 'xp_availablemedia', 'xp_subdirs']);

/** Common SQL functions recognised as calls even with whitespace or comments before `(`. */
const KNOWN_FUNCTIONS = new Set([
  'concat', 'concat_ws', 'group_concat', 'char', 'chr', 'nchar', 'ascii', 'ord', 'substring', 'substr', 'mid', 'left',
  'right', 'length', 'len', 'cast', 'convert', 'count', 'if', 'ifnull', 'isnull', 'nullif', 'coalesce', 'iif', 'md5',
  'sha1', 'hex', 'unhex', 'rand', 'floor', 'ceil', 'round', 'exists', 'lower', 'upper', 'replace', 'reverse', 'trim',
  'instr', 'locate', 'position', 'strcmp', 'elt', 'field', 'benchmark', 'version', 'database', 'user', 'schema',
  'row', 'least', 'greatest', 'case', 'current_setting', 'to_char', 'decode', 'encode', 'xmltype',
]);

/** Zero-argument functions that reveal the database (`version()`, `database()`, `user()` …). */
export const INFO_FUNCTIONS = new Set([
  'version', 'database', 'user', 'current_user', 'schema', 'system_user', 'session_user', 'db_name', 'host_name',
  'suser_name', 'user_name', 'current_database', 'current_schema', 'connection_id', 'last_insert_id', 'row_count',
  'sqlite_version', 'banner',
]);

/** True for characters treated as whitespace by SQL parsers in practice (incl. `%0b`, `%a0`, Unicode spaces). */
function isSpace(c: number): boolean {
  if (c <= 0x20) return true; // controls incl. NUL, tab, VT, FF, CR, LF
  if (c === 0x7f || c === 0xa0 || c === 0x85) return true;
  return c >= 0x2000 && (c <= 0x200b || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff);
}

function isWordStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x24 || (c > 0x7f && !isSpace(c));
}

function isWord(c: number): boolean {
  return isWordStart(c) || (c >= 0x30 && c <= 0x39);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/** Lower-cases ASCII letters only (SQL keywords are ASCII). */
function lower(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return s.toLowerCase();
  }
  return s;
}

/**
 * End index (exclusive) of a quoted string starting after its opening quote at `i`; -1 when unterminated.
 * `backslashEscapes`: `\` escapes the next character (MySQL's default); off, it is a plain character
 * (standard SQL: PostgreSQL, SQL Server, Oracle, SQLite, MySQL with NO_BACKSLASH_ESCAPES).
 */
function stringEnd(s: string, i: number, q: number, backslashEscapes: boolean): number {
  const n = s.length;
  let j = i;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === 0x5c && backslashEscapes) {
      j += 2;
      continue;
    }
    if (c === q) {
      if (j + 1 < n && s.charCodeAt(j + 1) === q) {
        j += 2; // doubled quote
        continue;
      }
      return j;
    }
    j++;
  }
  return -1;
}

/**
 * Index of the next non-space character at or after `i` (skipping inline comments, and the `*\/` closing a
 * MySQL executable comment, which {@link tokenize} drops too: `/*!if*\/(1=1,1,0)` is a call).
 */
function nextSignificant(s: string, i: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    if (c === 0x2a && s.charCodeAt(i + 1) === 0x2f) {
      i += 2;
      continue;
    }
    if (c === 0x2f && s.charCodeAt(i + 1) === 0x2a && s.charCodeAt(i + 2) !== 0x21) {
      const e = s.indexOf('*/', i + 2);
      if (e === -1) return n;
      i = e + 2;
      continue;
    }
    return i;
  }
  return n;
}

/**
 * Tokenizes `s` as SQL in quote context `q` (0 bare, 0x27 `'`, 0x22 `"`). In a quote context the input
 * starts inside a string literal: the text up to the first `q` is the first token (`s`); callers skip the
 * context when `q` does not occur. Inline comments are dropped; a trailing comment becomes a final `c`.
 * MySQL executable comments (`/*!50000 … *\/`) are read as code. `backslashEscapes` as in {@link stringEnd}
 * (default on). Linear.
 */
export function tokenize(s: string, q: number, backslashEscapes = true): Tokens {
  const types: TokenType[] = [];
  const values: string[] = [];
  const n = s.length;
  let i = 0;
  if (q !== 0) {
    const e = s.indexOf(String.fromCharCode(q));
    types.push('s');
    values.push(s.slice(0, e === -1 ? n : e));
    i = e === -1 ? n : e + 1;
  }
  let trailingComment = false;
  let commentText = '';
  const push = (t: TokenType, v: string) => {
    trailingComment = false;
    types.push(t);
    values.push(v);
  };
  while (i < n && types.length < MAX_TOKENS) {
    const c = s.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const d = i + 1 < n ? s.charCodeAt(i + 1) : -1;
    // comments
    if (c === 0x2f && d === 0x2a) {
      if (i + 2 < n && s.charCodeAt(i + 2) === 0x21) {
        // /*!50000 code */: read the code
        i += 3;
        while (i < n && isDigit(s.charCodeAt(i))) i++;
        continue;
      }
      const e = s.indexOf('*/', i + 2);
      trailingComment = true;
      commentText = s.slice(i + 2, i + 3);
      i = e === -1 ? n : e + 2;
      continue;
    }
    if (c === 0x2a && d === 0x2f) {
      i += 2;
      continue;
    }
    if ((c === 0x2d && d === 0x2d) || c === 0x23) {
      const e = s.indexOf('\n', i);
      trailingComment = true;
      commentText = s.slice(c === 0x23 ? i + 1 : i + 2, c === 0x23 ? i + 2 : i + 3);
      i = e === -1 ? n : e + 1;
      continue;
    }
    // strings
    if (c === 0x27 || c === 0x22) {
      const e = stringEnd(s, i + 1, c, backslashEscapes);
      const v = s.slice(i + 1, e === -1 ? n : e);
      if (types.length && types[types.length - 1] === 's' && !trailingComment) values[values.length - 1] += v; // 'a' 'b' concatenation
      else push('s', v);
      i = e === -1 ? n : e + 1;
      continue;
    }
    if (c === 0x60) {
      // backtick identifier
      const e = s.indexOf('`', i + 1);
      push('n', lower(s.slice(i + 1, e === -1 ? n : e)));
      i = e === -1 ? n : e + 1;
      continue;
    }
    if (c === 0x5b) {
      // MSSQL [identifier]
      const e = s.indexOf(']', i + 1);
      if (e !== -1 && e - i < 130) {
        push('n', lower(s.slice(i + 1, e)));
        i = e + 1;
        continue;
      }
      push('x', '[');
      i++;
      continue;
    }
    // numbers
    if (isDigit(c) || (c === 0x2e && isDigit(d))) {
      let j = i;
      if (c === 0x30 && (d === 0x78 || d === 0x58)) {
        j += 2;
        while (j < n && isHex(s.charCodeAt(j))) j++;
      } else if (c === 0x30 && (d === 0x62 || d === 0x42) && (s.charCodeAt(i + 2) === 0x30 || s.charCodeAt(i + 2) === 0x31)) {
        j += 2;
        while (j < n && (s.charCodeAt(j) === 0x30 || s.charCodeAt(j) === 0x31)) j++;
      } else {
        while (j < n && isDigit(s.charCodeAt(j))) j++;
        if (j < n && s.charCodeAt(j) === 0x2e) {
          j++;
          while (j < n && isDigit(s.charCodeAt(j))) j++;
        }
        if (j < n && (s.charCodeAt(j) | 0x20) === 0x65 && (isDigit(s.charCodeAt(j + 1)) || ((s.charCodeAt(j + 1) === 0x2b || s.charCodeAt(j + 1) === 0x2d) && isDigit(s.charCodeAt(j + 2))))) {
          j += 2;
          while (j < n && isDigit(s.charCodeAt(j))) j++;
        }
      }
      push('1', s.slice(i, j));
      i = j;
      continue;
    }
    // variables
    if (c === 0x40) {
      let j = i + 1;
      if (j < n && s.charCodeAt(j) === 0x40) j++;
      const st = j;
      while (j < n && (isWord(s.charCodeAt(j)) || s.charCodeAt(j) === 0x2e)) j++;
      if (j === st && (s.charCodeAt(j) === 0x27 || s.charCodeAt(j) === 0x22 || s.charCodeAt(j) === 0x60)) {
        // @'quoted var'
        const e = stringEnd(s, j + 1, s.charCodeAt(j), backslashEscapes);
        j = e === -1 ? n : e + 1;
      }
      push(j === st ? 'o' : 'v', lower(s.slice(i, j)));
      i = j;
      continue;
    }
    // words
    if (isWordStart(c)) {
      let j = i + 1;
      while (j < n) {
        const e = s.charCodeAt(j);
        if (isWord(e)) j++;
        else if (e === 0x2e && j + 1 < n && isWordStart(s.charCodeAt(j + 1))) j++;
        else if (e === 0x2e && s.charCodeAt(j + 1) === 0x2e && j + 2 < n && isWordStart(s.charCodeAt(j + 2))) j += 2;
        else break;
      }
      const w = lower(s.slice(i, j));
      // string prefixes: N'..', X'..', B'..', E'..', _utf8'..'
      if (j < n && (s.charCodeAt(j) === 0x27 || (s.charCodeAt(j) === 0x22 && w.charCodeAt(0) === 0x5f)) && (w === 'n' || w === 'x' || w === 'b' || w === 'e' || w === 'q' || (w.charCodeAt(0) === 0x5f && w.length > 2))) {
        i = j;
        continue; // the string is read next
      }
      i = j;
      const nx = nextSignificant(s, i);
      // a call: `name(` directly, or `name (` / `name/**/(` for known SQL functions (prose has "word (aside)")
      const paren = nx < n && s.charCodeAt(nx) === 0x28 && (nx === i || KNOWN_FUNCTIONS.has(w) || DANGEROUS_FUNCTIONS.has(w) || INFO_FUNCTIONS.has(w));
      let t: TokenType;
      const kw = w.length <= MAX_KEYWORD ? WORD_TYPE.get(w) : undefined;
      if (kw === '&' || kw === 'U' || kw === 'E') t = kw;
      else if (paren && !NOT_FUNCTIONS.has(w)) t = 'f';
      else t = kw ?? 'n';
      push(t, w);
      continue;
    }
    // punctuation and operators
    switch (c) {
      case 0x28: push('(', '('); i++; continue;
      case 0x29: push(')', ')'); i++; continue;
      case 0x2c: push(',', ','); i++; continue;
      case 0x3b: push(';', ';'); i++; continue;
      default:
        break;
    }
    if ((c === 0x7c && d === 0x7c) || (c === 0x26 && d === 0x26)) {
      push('&', c === 0x7c ? '||' : '&&');
      i += 2;
      continue;
    }
    if (c === 0x3d || c === 0x3c || c === 0x3e || c === 0x21 || c === 0x2b || c === 0x2d || c === 0x2a || c === 0x2f || c === 0x25 ||
      c === 0x26 || c === 0x7c || c === 0x5e || c === 0x7e || c === 0x3a) {
      let j = i + 1;
      // multi-char operators: <=>, <=, >=, <>, !=, ==, :=, <<, >>, ->, ->>, ::
      while (j < n && j < i + 3) {
        const e = s.charCodeAt(j);
        if (e === 0x3d || e === 0x3e || (e === 0x3c && c === 0x3c) || (e === 0x3a && c === 0x3a)) j++;
        else break;
      }
      push('o', s.slice(i, j));
      i = j;
      continue;
    }
    push('x', s[i]!);
    i++;
  }
  if (trailingComment) {
    types.push('c');
    values.push(commentText);
  }
  fold(types, values);
  return { types, values };
}

/**
 * Folds the raw token list in place: compound keywords (`ORDER BY` → `B`, `UNION ALL` → `U`, `DROP TABLE` /
 * `INSERT INTO` / `DELETE FROM` → `T`, `WAITFOR DELAY` → dangerous `f`, `NOT LIKE` → `o`, `INTO OUTFILE` → `T`),
 * unary signs into numbers (`- 1` → `-1`), HAVING/LIMIT/PROCEDURE → `B`.
 */
function fold(t: TokenType[], v: string[]): void {
  let w = 0;
  for (let r = 0; r < t.length; r++) {
    let ty = t[r]!;
    let val = v[r]!;
    const nt = r + 1 < t.length ? t[r + 1] : undefined;
    const nv = r + 1 < t.length ? v[r + 1] : undefined;
    // value modifiers that leave an operand an operand: a cast `::type` (PostgreSQL), `COLLATE name`,
    // `AT TIME ZONE 'zone'`: dropped, so `x'::text OR 1=1` reads like `x' OR 1=1`
    const prevType = w > 0 ? t[w - 1] : undefined;
    if ((val === '::' || val === 'collate') && (nt === 'n' || nt === 'k') && (prevType === 's' || prevType === '1' || prevType === 'n' || prevType === ')')) {
      r++;
      continue;
    }
    if (val === 'at' && nv === 'time' && v[r + 2] === 'zone' && (t[r + 3] === 's' || t[r + 3] === 'n') && (prevType === 's' || prevType === '1' || prevType === 'n' || prevType === ')')) {
      r += 3;
      continue;
    }
    if ((val === 'order' || val === 'group') && nv === 'by') {
      ty = 'B';
      val = `${val} by`;
      r++;
    } else if (ty === 'U' && (nv === 'all' || nv === 'distinct' || nv === 'distinctrow')) {
      r++;
    } else if (val === 'having' || val === 'limit' || (val === 'procedure' && nv === 'analyse')) {
      ty = 'B';
    } else if (ty === 'T' && (nv === 'table' || nv === 'database' || nv === 'into' || nv === 'from' || nv === 'schema' || nv === 'procedure' || nv === 'function' || nv === 'user' || nv === 'view' || nv === 'data')) {
      val = `${val} ${nv}`;
      r++;
    } else if (val === 'into' && (nv === 'outfile' || nv === 'dumpfile')) {
      ty = 'T';
      val = `into ${nv}`;
      r++;
    } else if (val === 'waitfor' && (nv === 'delay' || nv === 'time')) {
      ty = 'f';
      val = 'waitfor';
      r++;
    } else if (ty === 'o' && (val === 'not' || val === 'is' || val === 'sounds') && nt === 'o') {
      val = `${val} ${nv}`;
      r++;
    } else if (ty === 'o' && (val === '-' || val === '+') && nt === '1') {
      const prev = w > 0 ? t[w - 1] : undefined;
      if (prev === undefined || prev === 'o' || prev === '&' || prev === '(' || prev === ',' || prev === 'k' || prev === 'E' || prev === 'B' || prev === 'U') {
        ty = '1';
        val = val + nv!;
        r++;
      }
    }
    t[w] = ty;
    v[w] = val;
    w++;
  }
  t.length = w;
  v.length = w;
}

/** A judged injection: the context and the rule of the judge that fired, with the fingerprint. */
export interface SqliFinding {
  context: 'bare' | "'" | '"';
  reason: string;
  fingerprint: string;
}

const OPERANDS: ReadonlySet<string> = new Set(['1', 's', 'v', 'n', 'f']);

/** True when a SELECT at `e` is followed by a select list that reads as SQL rather than prose. */
function selectList(t: readonly TokenType[], v: readonly string[], e: number): boolean {
  let k = e + 1;
  while (t[k] === '(') k++;
  const a = t[k];
  if (a === undefined) return false;
  if (a === '1' || a === 'v' || a === 'f' || a === 's' || a === 'E') return true;
  if (a === 'o' && v[k] === '*') return true;
  if (a === 'k' && (v[k] === 'distinct' || v[k] === 'all' || v[k] === 'top' || v[k] === 'case' || v[k] === 'char')) return true;
  if (a === 'n') {
    const b = t[k + 1];
    return b === ',' || (b === 'k' && (v[k + 1] === 'from' || v[k + 1] === 'as' || v[k + 1] === 'into')) || b === 'c' || b === 'U' || (b === undefined && t[e - 1] === 'U');
  }
  return false;
}

/** Judge rules that apply anywhere in the sequence. Returns a reason or null. */
function anywhere(t: readonly TokenType[], v: readonly string[]): string | null {
  const n = t.length;
  for (let i = 0; i < n; i++) {
    const ty = t[i]!;
    if (ty === 'U') {
      let k = i + 1;
      while (t[k] === '(') k++;
      if (t[k] === 'E' && selectList(t, v, k)) return 'union select';
      // MySQL 8 forms without SELECT: `UNION VALUES ROW(…)`, `UNION TABLE users`, after a value or a quote
      // break (not prose: "the union table of contents")
      const before = i === 0 ? undefined : t[i - 1];
      if (before === '1' || before === 's' || before === ')') {
        if (v[k] === 'values' && v[k + 1] === 'row' && t[k + 2] === '(') return 'union values row';
        if (v[k] === 'table' && t[k + 1] === 'n') return 'union table';
      }
    } else if (ty === 'f') {
      const name = v[i]!;
      if (DANGEROUS_FUNCTIONS.has(name) || name.startsWith('xp_') || name.startsWith('utl_') || name.startsWith('dbms_')) {
        // a call: name ( … ; or waitfor delay '…'
        if (name === 'waitfor' ? t[i + 1] === 's' || t[i + 1] === '1' : t[i + 1] === '(') return `function ${name}`;
      }
      if (INFO_FUNCTIONS.has(name) && t[i + 1] === '(' && t[i + 2] === ')' && n > 3) return `function ${name}()`;
    } else if (ty === ';') {
      const a = t[i + 1];
      if (a === 'E' && selectList(t, v, i + 1)) return 'stacked select';
      if (a === 'T' && stackedStatement(t, v, i + 1)) return `stacked ${v[i + 1]}`;
      if (a === 'f' && v[i + 1] === 'waitfor') return 'stacked waitfor';
    } else if (ty === '(' && t[i + 1] === 'E' && selectList(t, v, i + 1) && (i > 0 || n > 3)) {
      // parenthesised subquery
      let k = i + 2;
      let from = false;
      for (; k < n && k < i + 24; k++) {
        if (t[k] === ')') break;
        if (t[k] === 'k' && v[k] === 'from') from = true;
        if (t[k] === 'f' || t[k] === 'v' || t[k] === '1') from = true;
      }
      if (from) return 'subquery';
    } else if (ty === 'T' && (v[i] === 'into outfile' || v[i] === 'into dumpfile')) {
      return v[i]!;
    } else if (ty === 'T' && i > 0 && STRONG_COMPOUND.has(v[i]!) && (t[i + 1] === 'n' || t[i + 1] === 'f') && t[n - 1] === 'c') {
      return `statement ${v[i]}`;
    } else if (ty === 'n' && n > 1 && v[i]!.indexOf('p_') !== -1 && SYSTEM_PROCEDURES.has(v[i]!.slice(v[i]!.lastIndexOf('.') + 1))) {
      // (every system procedure name has `xp_` or `sp_`: prose words skip the slice and the set lookup)
      return `procedure ${v[i]}`;
    } else if (ty === 'v' && v[i]!.startsWith('@@') && n > 1 && (i === 0 ? t[1] !== 'n' : true)) {
      const prev = i > 0 ? t[i - 1] : undefined;
      if (prev === undefined || prev === 'E' || prev === ',' || prev === '&' || prev === 'o' || prev === '(' || prev === 's') return `system variable ${v[i]}`;
    }
  }
  return null;
}

/** True for a statement after `;` (or at the start) that reads as SQL: `DROP TABLE x`, `EXEC xp_…`, `SHUTDOWN`. */
function stackedStatement(t: readonly TokenType[], v: readonly string[], i: number): boolean {
  const name = v[i]!;
  const a = t[i + 1];
  if (name.includes(' ')) {
    // `CREATE TABLE x (…)`, `INSERT INTO x VALUES …`, `ALTER TABLE x ADD …`: the name alone is prose
    // ("1) Create table layout"); DROP/TRUNCATE TABLE x are complete statements
    const b = t[i + 2];
    const bv = v[i + 2];
    if (name === 'alter table') return a === 'n' && (b === 'T' || (b === 'n' && ALTER_ACTIONS.has(bv!)));
    if (NEEDS_BODY.has(name)) {
      if (a === 'f') return true; // `INSERT INTO t(…`, `CREATE FUNCTION f(…`
      if (a !== 'n') return false;
      return b === '(' || b === 'E' || (b === 'k' && (bv === 'as' || bv === 'like' || bv === 'values' || bv === 'set')) || (b === 'v' && name === 'create procedure');
    }
    if (a === 'k' || a === '(') return true; // `DROP TABLE IF EXISTS`, `DELETE FROM (…)`
    if (a !== 'n' && a !== 'v' && a !== 'f') return false;
    // SQL Server rejects a batch with a syntax error before running any of it: the object name must end the
    // statement (`DROP TABLE users--`, `;`, a list, a WHERE) — "drop table layout in Figma" is prose
    return b === undefined || b === 'c' || b === ';' || b === ',' || b === ')' || b === 'k' || b === 'B' || b === 'T' || b === 'E' ||
      (b === 'n' && STATEMENT_TAILS.has(bv!));
  }
  if (name === 'grant' || name === 'revoke') return (a === 'n' || a === 'k' || a === 'T' || a === 'E') && t[i + 2] !== undefined;
  if (name === 'exec' || name === 'execute' || name === 'call') return a === 'n' || a === 'v' || a === 'f' || a === '(' || a === 's';
  if (name === 'shutdown') return a === undefined || a === 'c' || a === ';' || (a === 'k' && v[i + 1] === 'with');
  if (name === 'declare') return a === 'v';
  if (name === 'copy') return a === 'n' && t[i + 2] === 'k' && (v[i + 2] === 'to' || v[i + 2] === 'from');
  if (name === 'backup database') return a === 'n' && t[i + 2] === 'k' && v[i + 2] === 'to';
  if (name === 'update') return a === 'n' && t[i + 2] === 'k' && v[i + 2] === 'set';
  // DROP/CREATE/ALTER need an object type (TABLE, VIEW … fold into the compound above; `DROP INDEX x`);
  // SQL Server's `DELETE t` / `INSERT t VALUES (…)` and MySQL's `TRUNCATE t` need their table and clause, so
  // numbered prose (`1. Drop the old index`, `1) Insert the card`, `2 delete requests pending`) is not one
  if (name === 'drop' || name === 'create' || name === 'alter') return a === 'k' || (a === 'n' && OBJECT_TYPES.has(v[i + 1]!));
  const b = t[i + 2];
  if (name === 'delete' || name === 'truncate') return a === 'k' || (a === 'n' && (b === undefined || b === 'c' || b === ';' || (b === 'k' && v[i + 2] === 'where')));
  if (name === 'insert') return a === 'k' || (a === 'n' && (b === '(' || b === 'E' || (b === 'k' && v[i + 2] === 'values')));
  return false;
}

/** Object types after DROP / CREATE / ALTER that do not fold into a compound statement word. */
const OBJECT_TYPES: ReadonlySet<string> = new Set([
  'index', 'trigger', 'login', 'role', 'sequence', 'event', 'type', 'synonym', 'tablespace', 'temporary', 'unique', 'clustered',
  'nonclustered', 'assembly', 'extension', 'server', 'domain', 'rule', 'default', 'materialized', 'or', 'definer', 'algorithm', 'sql',
]);

/** Actions of ALTER TABLE that are not statement words themselves (DROP, RENAME, ALTER are). */
const ALTER_ACTIONS: ReadonlySet<string> = new Set(['add', 'modify', 'change', 'owner', 'column', 'engine', 'auto_increment', 'disable', 'enable', 'convert', 'nocheck', 'with']);

/** Words that may follow the object name of a complete DROP / TRUNCATE / CREATE USER statement. */
const STATEMENT_TAILS: ReadonlySet<string> = new Set(['cascade', 'restrict', 'purge', 'identified', 'force', 'go']);

/** Statements whose shortest well-formed shape has a parenthesised column list or a body after the name. */
const NEEDS_BODY: ReadonlySet<string> = new Set(['create table', 'create view', 'create procedure', 'create function', 'insert into', 'alter table']);

/** True when `str` has an ASCII letter (text rather than punctuation such as the `">` after markup). */
function hasLetter(str: string): boolean {
  for (let i = 0; i < str.length; i++) if (isLetter(str.charCodeAt(i))) return true;
  return false;
}

/** Boolean literal words a string may be cast from (PostgreSQL `'yes'::bool`, MySQL reads numbers only). */
const BOOL_WORDS: ReadonlySet<string> = new Set(['true', 'false', 't', 'f', 'yes', 'no', 'y', 'n', 'on', 'off']);

/**
 * True when string content can act as a truth value or number in SQL: it starts (after spaces) with a digit,
 * sign or dot (MySQL casts `'1abc'` to 1), or is a boolean literal word. Bounded: looks at the first 8
 * characters only (a boolean word longer than that never counts).
 */
function truthyString(str: string): boolean {
  let i = 0;
  while (i < str.length && i < 64 && isSpace(str.charCodeAt(i))) i++;
  const c = str.charCodeAt(i);
  if (isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e) return true;
  return str.length - i <= 8 && BOOL_WORDS.has(lower(str.slice(i).trimEnd()));
}

/**
 * Quoted words joined by the words AND / OR in prose (`Type 'and' or 'or' between terms`, `'or' vs 'and'`):
 * read after a quote break, from the logic word at `j` to the end, strings alternate with AND / OR words
 * and none of them is a number or truth value, so the "condition" is a constant falsehood (MySQL) or an
 * error, never a tautology or a probe. Symbolic `||` / `&&` (concatenation, `'||'x'||'`) do not count.
 */
function textChain(t: readonly TokenType[], v: readonly string[], j: number): boolean {
  for (let k = j; k < t.length; k += 2) {
    if (t[k] !== '&' || (v[k] !== 'and' && v[k] !== 'or')) return false;
    if (t[k + 1] !== 's' || truthyString(v[k + 1]!)) return false;
    if (k + 2 < t.length && t[k + 2] !== '&') return false;
  }
  return true;
}

/**
 * Judges the continuation after a literal the input broke out of (`i` = first token after it), or after a
 * leading number in the bare context (`strict`: a numeric prefix such as `3 or 4 items` needs stronger
 * evidence than a quote break).
 */
function afterBreak(t: readonly TokenType[], v: readonly string[], i: number, strict: boolean): string | null {
  let j = i;
  while (t[j] === ')') j++;
  const a = t[j];
  if (a === undefined) return null;
  const b = t[j + 1];
  const c = t[j + 2];
  switch (a) {
    case '&': {
      let k = j + 1;
      while (t[k] === '(') k++;
      const u = t[k];
      const after = t[k + 1];
      if (u === undefined) return null;
      if (u === 'E' || u === 'f' || u === 'v') return `logic ${v[j]} then ${u}`;
      if (u === '(' ) return null;
      if (u === '1' || u === 's') {
        if (u === 's' && after === '&' && textChain(t, v, j)) return null;
        if (after === 'o' || after === 'c' || after === '&' || after === ';' || after === ')' || after === 'B' || after === 'U' || (!strict && after === 'f')) return `logic ${v[j]} literal`;
        if (!strict && (after === undefined || after === 's' || after === '1')) return `logic ${v[j]} literal`;
        // a whole value `OR 1` / `AND true`: a numeric-context tautology
        if (strict && after === undefined && u === '1' && (j === 0 || v[k] === 'true')) return `logic ${v[j]} literal`;
        return null;
      }
      if (u === 'n') {
        if (after === 'o' && t[k + 2] !== undefined && t[k + 2] !== 'n') return `logic ${v[j]} comparison`;
        if (after === 'o' && t[k + 2] === 'n' && v[k] === v[k + 2]) return `logic ${v[j]} tautology`;
        if (after === 'c' || after === ';' || after === '&') return `logic ${v[j]} bareword`;
        if (after === 'o' && (!strict || isSymbolOp(v[k + 1]!))) return `logic ${v[j]} comparison`;
        return null;
      }
      if (u === 'o' && (v[k] === 'not' || v[k] === '!' || v[k] === '-' || v[k] === '~')) {
        const w = t[k + 1];
        return w === '1' || w === 's' || w === '(' || w === 'f' ? `logic ${v[j]} ${v[k]}` : null;
      }
      if (u === 'k' && (v[k] === 'exists' || v[k] === 'case')) return `logic ${v[j]} ${v[k]}`;
      return null;
    }
    case 'U':
      return b === 'E' || b === '(' ? 'union' : null;
    case 'B':
      if (!strict && (b === 'n' || b === 'k')) return `${v[j]}`;
      return b === '1' || b === 'f' || b === '(' || b === 'v' || (b === 'n' && (c === undefined || c === 'c' || c === ',' || c === 'o' || c === '&' || c === 'k')) || (b === 'k' && v[j] === 'having') ? `${v[j]}` : null;
    case ';':
      if (b === 'c' || (b === undefined && !strict)) return strict ? null : 'terminated statement';
      if (b === 'E' || b === 'T' || b === 'f' || b === 'k' || b === 'v') return 'stacked statement';
      return null;
    case 'c':
      // `'--`, `'#`, `'/*`; a run of dashes (`"-----BEGIN CERTIFICATE-----`) is a text divider, not a comment
      return strict || v[j] === '-' ? null : 'comment after literal';
    case 'o': {
      if (strict) return null;
      const op = v[j]!;
      let k = j + 1;
      while (t[k] === '(') k++;
      const u = t[k];
      if (u === 'E' || (u === 'f' && t[k + 1] === '(')) return `operator ${op} then ${u}`;
      // `Use " - " as the separator`, `=A1&" - "&B1`: an arithmetic sign quoted between texts, the right operand
      // being the value's own trailing words (the `'-'` probe ends at the quote or with a number)
      if (u === 's' && t[k + 1] === undefined && ARITHMETIC.has(op) && hasLetter(v[k]!) && !truthyString(v[k]!)) return null;
      if ((u === 's' || u === '1' || u === 'v') && (t[k + 1] === undefined || t[k + 1] === 'c' || t[k + 1] === '&' || t[k + 1] === 'o' || t[k + 1] === ';' || t[k + 1] === ')' || t[k + 1] === 'B' || t[k + 1] === 'U')) {
        return `operator ${op} literal`;
      }
      if (op === 'not' || op === 'is' || op === 'like' || op === 'in' || op === 'regexp' || op === 'rlike' || op === 'between') {
        if (u === 's' || u === '1' || u === '(') return `operator ${op}`;
      }
      return null;
    }
    case ',': {
      // VALUES-list break: `',NULL) waitfor …`, `', 1)--`
      if (strict) return null;
      let k = j + 1;
      while (t[k] === '1' || t[k] === 's' || t[k] === 'v' || t[k] === ',') k++;
      if (k === j + 1 || t[k] !== ')') return null;
      while (t[k] === ')') k++;
      const w = t[k];
      return w === 'c' || w === '&' || w === ';' || w === 'U' || w === 'E' || w === 'f' || (w === 'n' && t[t.length - 1] === 'c') ? 'values-list break' : null;
    }
    case 'k':
      if (v[j] === 'as' && b === 'n' && c === 'k' && v[j + 2] === 'where' && !strict) return 'alias then where';
      if ((v[j] === 'where' || v[j] === 'into' || v[j] === 'procedure' || v[j] === 'from') && b !== undefined && !strict) return `keyword ${v[j]}`;
      return null;
    case 'T':
      // CALL (MySQL, PostgreSQL, Oracle) runs only as a statement of its own, after `;` ("2) call support")
      if (v[j] === 'call') return null;
      return stackedStatement(t, v, j) ? `statement ${v[j]}` : null;
    case 'E': {
      // `Click 'Select' to go on`, `the 'select' button`: a quoted word SELECT whose "select list" is the text
      // after its closing quote (a string that ends the value or runs into words), not a query
      let k = j + 1;
      if (t[k] === 'k' && (v[k] === 'all' || v[k] === 'distinct')) k++;
      if (t[k] === 's' && (t[k + 1] === undefined || (t[k + 1] === 'n' && (t[k + 2] === undefined || t[k + 2] === 'n' || t[k + 2] === 's')))) return null;
      return selectList(t, v, j) ? 'select' : null;
    }
    case 'f':
      return null;
    default:
      return null;
  }
}

/** Renders a token sequence as a fingerprint string (at most 16 tokens). */
export function fingerprint(t: readonly TokenType[]): string {
  return t.slice(0, 16).join('');
}

/**
 * A whole value that is a destructive statement (`DROP TABLE users--`, `EXEC xp_cmdshell 'dir'`): compound
 * statements ending in a comment or carrying a WHERE, or EXEC of a system procedure. A value that is a whole
 * SELECT is not judged at all: APIs legitimately carry queries (osquery, reporting filters), and a SELECT
 * cannot run from inside a literal without a break (judged by the other rules).
 */
function leadingStatement(t: readonly TokenType[], v: readonly string[]): boolean {
  const name = v[0]!;
  if (name === 'exec' || name === 'execute') return t[1] === 'n' && (v[1]!.startsWith('xp_') || v[1]!.startsWith('sp_') || v[1]!.startsWith('master.'));
  if (!name.includes(' ')) return false;
  if (STRONG_COMPOUND.has(name) && (t[1] === 'n' || t[1] === 'f') && (t[2] === '(' || t[2] === undefined || t[2] === ';' || t[2] === 'c')) return true;
  if (name === 'backup database') return stackedStatement(t, v, 0);
  return t[t.length - 1] === 'c' || t.some((x, k) => x === 'k' && v[k] === 'where');
}

/** `SELECT current_user`, `SELECT @@version`, `SELECT current_setting('…')`, `SELECT version()`. */
function systemSelect(t: readonly TokenType[], v: readonly string[]): boolean {
  const a = t[1];
  const w = v[1];
  if (a === 'v' && w!.startsWith('@@')) return true;
  if (a === '1' && (w === 'current_user' || w === 'session_user' || w === 'system_user')) return true;
  if (a === 'f' && (INFO_FUNCTIONS.has(w!) || w === 'current_setting' || DANGEROUS_FUNCTIONS.has(w!))) return true;
  return false;
}

/** Compound statements that never occur in prose. */
const STRONG_COMPOUND = new Set(['create table', 'drop table', 'truncate table', 'insert into', 'alter table', 'drop database', 'create database', 'drop function', 'drop procedure', 'create procedure', 'create function', 'drop view', 'create view', 'drop user', 'create user']);

/** True for symbolic comparison operators (`=`, `<>`, `!=`, `<`, `>=` …). */
function isSymbolOp(op: string): boolean {
  const c = op.charCodeAt(0);
  return c === 0x3d || c === 0x3c || c === 0x3e || (c === 0x21 && op.length > 1);
}

/*
 * Expression values (numeric, ORDER BY, LIMIT contexts). A value placed unquoted into `WHERE id = …` or
 * `ORDER BY …` needs no break: it is already SQL. Boolean- and time-blind probes there are whole SQL
 * expressions that compute a condition on constants: `pi() or 1=1`, `if(1=1,id,name)`,
 * `(case when 1=1 then 1 else 0 end)`, `1 xor 1`, `1 div 0`. The value is parsed as a comma list of
 * expressions (one recursive-descent pass, each token read once, nesting depth bounded); only a value that
 * parses completely is judged, which keeps prose out ("if (you) can", "case when I was young",
 * "pi() in JavaScript" do not parse). Column references make an expression non-constant: filters such as
 * `Status=="ACTIVE" AND Type=="BANK"` or `email LIKE 'x%' AND CONTAINS(list, 'y')` compare columns, and
 * benign values never test a condition that holds regardless of the row.
 */

/** Expression fact bit: no column reference anywhere (same value for every row). */
const X_CONST = 1;
/** Expression fact bit: boolean-valued (comparison, logic, NOT, TRUE/FALSE). */
const X_BOOL = 2;
/** Expression fact bit: a comparison at the top (possibly combined by logic). */
const X_CMP = 4;
/** Expression fact bit: a single literal token. */
const X_LIT = 8;
/** Expression fact bit: the TRUE/FALSE keyword. */
const X_TRUTH = 16;
/** Expression fact bit: a character-code probe `ascii(substring(…))` (blind extraction, one character at a time). */
const X_PROBE = 32;
/** Expression fact bit: a system identity value (`current_user`), which error-based casts leak. */
const X_SYSTEM = 64;
/** Parse failure: the value is not (only) a SQL expression. */
const X_FAIL = -1;
/** Most nested parentheses / calls / CASEs followed; deeper values are not judged (the other rules still are). */
const MAX_EXPR_DEPTH = 32;

/** Comparison operators (after folding: `not like`, `is not`, `sounds like`). */
const COMPARISONS = new Set([
  '=', '==', '<>', '!=', '<', '>', '<=', '>=', '<=>', '!<', '!>', 'like', 'rlike', 'regexp', 'ilike', 'glob', 'not like',
  'not rlike', 'not regexp', 'not ilike', 'not glob', 'sounds like', 'is', 'is not', 'in', 'not in', 'between', 'not between',
]);
/** Arithmetic, bitwise and JSON-path operators. */
const ARITHMETIC = new Set(['+', '-', '*', '/', '%', 'div', 'mod', '&', '|', '^', '<<', '>>', '->', '->>']);
/** Operators no prose, calculator or filter syntax uses: between constants they are SQL. */
const SQL_ONLY_OPERATORS = new Set(['div', 'rlike', 'regexp', 'not rlike', 'not regexp', '<=>', 'sounds like', 'xor', '&&']);
/** Functions that pick an argument on a condition in their first argument (MySQL IF/ELT/MAKE_SET, MSSQL/SQLite IIF). */
const CONDITIONALS = new Set(['if', 'iif', 'elt', 'make_set']);
/** Character-code functions: applied to a substring they read one character of a secret. */
const CHAR_CODES = new Set(['ascii', 'ord', 'unicode']);
const SUBSTRINGS = new Set(['substring', 'substr', 'mid', 'left', 'right', 'substring_index']);
/** Type names accepted as a CONVERT argument (`convert(int, x)`). */
const TYPE_WORDS = new Set(['int', 'integer', 'bigint', 'varchar', 'nvarchar', 'char', 'binary']);
/** System identity values (value words of the lexer) that error-based casts (`cast(current_user as int)`) leak. */
const SYSTEM_VALUES = new Set(['current_user', 'session_user', 'system_user']);

/** Recursive-descent reader of SQL expressions over a folded token sequence; records the first judged finding. */
class ExprParser {
  i = 0;
  depth = 0;
  reason: string | null = null;
  private readonly n: number;
  private readonly t: readonly TokenType[];
  private readonly v: readonly string[];
  constructor(t: readonly TokenType[], v: readonly string[]) {
    this.t = t;
    this.v = v;
    this.n = t.length;
  }

  private note(reason: string): void {
    if (this.reason === null) this.reason = reason;
  }

  private isKw(word: string): boolean {
    return this.t[this.i] === 'k' && this.v[this.i] === word;
  }

  /** `item (, item)*`; facts of a single item, else only the shared X_CONST. */
  list(): number {
    let x = this.item();
    let count = 1;
    while (x !== X_FAIL && this.t[this.i] === ',') {
      this.i++;
      const y = this.item();
      x = y === X_FAIL ? X_FAIL : x & y & X_CONST;
      count++;
    }
    return x === X_FAIL || count === 1 ? x : x & X_CONST;
  }

  /** An ORDER BY item: an expression, then ASC/DESC and NULLS FIRST/LAST. */
  private item(): number {
    const x = this.expr();
    if (x === X_FAIL) return x;
    if (this.isKw('asc') || this.isKw('desc')) this.i++;
    const t = this.t;
    const v = this.v;
    if (t[this.i] === 'n' && v[this.i] === 'nulls' && t[this.i + 1] === 'n' && (v[this.i + 1] === 'first' || v[this.i + 1] === 'last')) this.i += 2;
    return x;
  }

  /** Logical level: `a OR b`, `a XOR b`, `a && b`; judges each combination. */
  expr(): number {
    const ls = this.i;
    return this.logicTail(this.notExpr(), ls);
  }

  /** The `(op operand)*` rest of a logical level after `left` (which started at token `ls`, -1 when unknown). */
  logicTail(left: number, ls: number): number {
    const t = this.t;
    const v = this.v;
    while (left !== X_FAIL && t[this.i] === '&') {
      const op = v[this.i]!;
      this.i++;
      const rs = this.i;
      const right = this.notExpr();
      if (right === X_FAIL) return X_FAIL;
      const constCmp = X_CONST | X_CMP;
      if ((left & constCmp) === constCmp || (right & constCmp) === constCmp) this.note(`logic ${op} with a constant comparison`);
      else if (left & right & X_CONST && (SQL_ONLY_OPERATORS.has(op) || ((left | right) & X_TRUTH && !(left & right & X_LIT)))) this.note(`logic ${op} on constants`);
      else if (left & right & X_LIT && v[ls] === v[rs]) this.note(`logic ${op} on the same literal`);
      left = (left & right & (X_CONST | X_PROBE)) | ((left | right) & X_CMP) | X_BOOL;
      ls = -1;
    }
    return left;
  }

  /** `NOT x`, `!x` (iterative: a run of NOTs costs no stack). */
  private notExpr(): number {
    let nots = 0;
    while (this.t[this.i] === 'o' && (this.v[this.i] === 'not' || this.v[this.i] === '!')) {
      this.i++;
      nots++;
    }
    const x = this.cmpExpr();
    if (nots === 0 || x === X_FAIL) return x;
    if ((x & (X_CONST | X_CMP)) === (X_CONST | X_CMP)) this.note('not on a constant comparison');
    return (x & (X_CONST | X_CMP)) | X_BOOL;
  }

  /** Comparison level: `a = b`, `a LIKE b`, `a IN (…)`, `a IS [NOT] NULL`, `a BETWEEN b AND c`. */
  private cmpExpr(): number {
    const t = this.t;
    const v = this.v;
    let left = this.arith();
    while (left !== X_FAIL && t[this.i] === 'o' && COMPARISONS.has(v[this.i]!)) {
      const op = v[this.i]!;
      this.i++;
      let right: number;
      if (op === 'in' || op === 'not in') {
        right = t[this.i] === '(' ? this.paren() : X_FAIL;
      } else if (op === 'is' || op === 'is not') {
        right = t[this.i] === '1' ? X_CONST : X_FAIL; // NULL, TRUE, FALSE, UNKNOWN
        this.i++;
      } else if (op === 'between' || op === 'not between') {
        const lo = this.arith();
        if (lo === X_FAIL || t[this.i] !== '&' || v[this.i] !== 'and') return X_FAIL;
        this.i++;
        const hi = this.arith();
        right = hi === X_FAIL ? X_FAIL : lo & hi;
      } else {
        right = this.arith();
      }
      if (right === X_FAIL) return X_FAIL;
      if (SQL_ONLY_OPERATORS.has(op) && left & right & X_CONST) this.note(`operator ${op} on constants`);
      if ((left | right) & X_PROBE) this.note('character code of a substring compared');
      left = (left & right & X_CONST) | X_BOOL | X_CMP;
    }
    return left;
  }

  /** Arithmetic level (all binary arithmetic operators at one level: only constness matters here). */
  private arith(): number {
    const t = this.t;
    const v = this.v;
    let left = this.unary();
    while (left !== X_FAIL && t[this.i] === 'o' && ARITHMETIC.has(v[this.i]!)) {
      const op = v[this.i]!;
      this.i++;
      const right = this.unary();
      if (right === X_FAIL) return X_FAIL;
      if (SQL_ONLY_OPERATORS.has(op) && left & right & X_CONST) this.note(`operator ${op} on constants`);
      left = (left & right & X_CONST) | ((left | right) & X_PROBE);
    }
    return left;
  }

  /** Unary signs and bitwise NOT (`-price`, `~0`). */
  private unary(): number {
    while (this.t[this.i] === 'o' && (this.v[this.i] === '-' || this.v[this.i] === '+' || this.v[this.i] === '~')) this.i++;
    return this.primary();
  }

  private primary(): number {
    const ty = this.t[this.i];
    const val = this.v[this.i]!;
    switch (ty) {
      case '1':
        this.i++;
        if (val === 'true' || val === 'false') return X_CONST | X_LIT | X_TRUTH | X_BOOL;
        return X_CONST | X_LIT | (SYSTEM_VALUES.has(val) ? X_SYSTEM : 0);
      case 's':
        this.i++;
        return X_CONST | X_LIT;
      case 'v':
        this.i++;
        return X_CONST;
      case 'n':
        this.i++;
        return 0;
      case 'f':
        return this.call();
      case '(':
        return this.paren();
      case 'k':
        if (val === 'case') return this.caseExpr();
        if (val === 'exists' && this.t[this.i + 1] === '(') {
          this.i++;
          return this.paren() === X_FAIL ? X_FAIL : X_CONST | X_BOOL;
        }
        return X_FAIL;
      default:
        return X_FAIL;
    }
  }

  /** `( list )` or a subquery `(SELECT …)`; a value that ends inside the parentheses is read as closed there. */
  private paren(): number {
    this.i++;
    if (this.t[this.i] === 'E') {
      // the subquery's SQL is judged by the other rules; here it is a constant operand
      let d = 1;
      while (this.i < this.n) {
        const ty = this.t[this.i++];
        if (ty === '(') d++;
        else if (ty === ')' && --d === 0) break;
      }
      return X_CONST;
    }
    if (++this.depth > MAX_EXPR_DEPTH) return X_FAIL;
    const x = this.list();
    this.depth--;
    if (x === X_FAIL) return x;
    if (this.t[this.i] === ')') this.i++;
    else if (this.i < this.n) return X_FAIL;
    return x;
  }

  /** A function call; judges conditionals on constants, character-code probes and casts of system values. */
  private call(): number {
    const t = this.t;
    const v = this.v;
    const name = v[this.i]!;
    this.i++;
    if (t[this.i] !== '(') return X_FAIL; // WAITFOR without parentheses: judged elsewhere
    this.i++;
    if (++this.depth > MAX_EXPR_DEPTH) return X_FAIL;
    let facts = X_CONST;
    let args = 0;
    let first = 0;
    let second = 0;
    let probe = false;
    if (t[this.i] === ')') this.i++;
    else {
      for (;;) {
        const start = this.i;
        let a: number;
        if (t[this.i] === 'o' && v[this.i] === '*' && (t[this.i + 1] === ')' || this.i + 1 >= this.n)) {
          this.i++; // count(*)
          a = X_CONST;
        } else if (t[this.i] === 'k' && TYPE_WORDS.has(v[this.i]!) && (t[this.i + 1] === ',' || t[this.i + 1] === ')')) {
          this.i++; // convert(int, x)
          a = X_CONST;
        } else {
          if (this.isKw('distinct') || this.isKw('all')) this.i++;
          a = this.expr();
        }
        if (a === X_FAIL) return X_FAIL;
        if (args === 0 && CHAR_CODES.has(name) && t[start] === 'f' && SUBSTRINGS.has(v[start]!)) probe = true;
        // CAST(x AS type), SUBSTRING(x FROM 1 FOR 2), EXTRACT(year FROM x), CONVERT(x USING utf8)
        while (t[this.i] === 'k' && (v[this.i] === 'as' || v[this.i] === 'from' || v[this.i] === 'for' || v[this.i] === 'using')) {
          const kw = v[this.i];
          this.i++;
          if (kw === 'as' || kw === 'using') {
            if (t[this.i] !== 'n' && t[this.i] !== 'k' && t[this.i] !== 'f') return X_FAIL;
            const typed = t[this.i] === 'f';
            this.i++;
            while (t[this.i] === 'n' || t[this.i] === 'k') this.i++; // unsigned integer, double precision
            if (typed) {
              // varchar(10), decimal(10,2)
              if (t[this.i] !== '(') return X_FAIL;
              this.i++;
              while (t[this.i] === '1' || t[this.i] === ',') this.i++;
              if (t[this.i] !== ')') return X_FAIL;
              this.i++;
            }
          } else {
            const b = this.expr();
            if (b === X_FAIL) return X_FAIL;
            a &= b | ~X_CONST;
          }
        }
        if (args === 0) first = a;
        else if (args === 1) second = a;
        args++;
        facts &= a | ~X_CONST;
        if ((name === 'cast' || name === 'convert') && a & X_SYSTEM) facts |= X_SYSTEM;
        if (t[this.i] === ',') {
          this.i++;
          continue;
        }
        if (t[this.i] === ')') {
          this.i++;
          break;
        }
        if (this.i >= this.n) break; // the value ends inside the call
        return X_FAIL;
      }
    }
    this.depth--;
    if (CONDITIONALS.has(name) && args >= 2 && (first & (X_CONST | X_BOOL)) === (X_CONST | X_BOOL)) this.note(`conditional ${name}() on a constant`);
    // Oracle DECODE(expr, search, result, …): a constant expr compared with a constant search
    if (name === 'decode' && args >= 3 && first & second & X_CONST) this.note('conditional decode() on constants');
    if (facts & X_SYSTEM) this.note(`${name}() of a system value`);
    return facts | (probe ? X_PROBE : 0);
  }

  /** `CASE [x] WHEN c THEN r … [ELSE r] END`; judges a constant condition (searched) or constant subject and test (simple). */
  private caseExpr(): number {
    this.i++;
    if (++this.depth > MAX_EXPR_DEPTH) return X_FAIL;
    let subject = X_CONST;
    const simple = !this.isKw('when');
    if (simple) {
      subject = this.expr();
      if (subject === X_FAIL) return X_FAIL;
    }
    let facts = X_CONST;
    let whens = 0;
    let constant = false;
    while (this.isKw('when')) {
      this.i++;
      const c = this.expr();
      if (c === X_FAIL || !this.isKw('then')) return X_FAIL;
      if (c & subject & X_CONST) constant = true;
      this.i++;
      const r = this.expr();
      if (r === X_FAIL) return X_FAIL;
      facts &= r | ~X_CONST;
      whens++;
    }
    if (whens === 0) return X_FAIL;
    if (this.isKw('else')) {
      this.i++;
      const r = this.expr();
      if (r === X_FAIL) return X_FAIL;
      facts &= r | ~X_CONST;
    }
    if (this.isKw('end')) this.i++;
    else if (this.i < this.n) return X_FAIL;
    this.depth--;
    if (constant) this.note('conditional case on a constant');
    return facts;
  }
}

/**
 * Judges a bare value that is itself a SQL expression list (numeric, ORDER BY, LIMIT contexts): a condition
 * on constants — logic with a constant comparison, a conditional (IF/IIF/ELT/CASE/DECODE) testing a
 * constant, SQL-only operators (XOR, DIV, RLIKE, `<=>`) between constants, NOT of a constant comparison —
 * a compared character-code probe, or a cast of a system value. The value must parse completely (a trailing
 * comment, `;`, a LIMIT-like clause or unbalanced `)` may follow; after a `)` a logical or `,` continuation is
 * read on); returns a reason or null. Linear in the tokens.
 */
function expressionValue(t: readonly TokenType[], v: readonly string[]): string | null {
  const p = new ExprParser(t, v);
  if (p.list() === X_FAIL) return null;
  // `name) or (1=1`, `id),if(1=1,1,0)`: the value closes a parenthesis the query opened and goes on
  while (t[p.i] === ')' && p.reason === null) {
    while (t[p.i] === ')') p.i++;
    if (t[p.i] === '&') {
      if (p.logicTail(0, -1) === X_FAIL) return null;
    } else if (t[p.i] === ',') {
      p.i++;
      if (p.list() === X_FAIL) return null;
    } else break;
  }
  // what may follow an ORDER BY / WHERE expression: a comment, `;`, `)`, or a LIMIT / GROUP BY / HAVING clause
  const next = t[p.i];
  if (next !== undefined && next !== 'c' && next !== ';' && next !== ')' && next !== 'B') return null;
  return p.reason;
}

/** JSON punctuation that ends the text before a member name or string value (`{"`, `,"`, `["`, `:"`). */
function endsJsonOpen(str: string): boolean {
  let i = str.length - 1;
  while (i >= 0 && isSpace(str.charCodeAt(i))) i--;
  const c = str.charCodeAt(i);
  return c === 0x7b || c === 0x2c || c === 0x5b || c === 0x3a;
}

/** JSON punctuation that follows a member name or string value (`":`, `",`, `"}`, `"]`). */
function startsJsonClose(str: string): boolean {
  let i = 0;
  while (i < str.length && isSpace(str.charCodeAt(i))) i++;
  const c = str.charCodeAt(i);
  return c === 0x3a || c === 0x2c || c === 0x7d || c === 0x5d;
}

/**
 * In a quote context, a JSON document (`filter={"where":{"id":1}}`, GraphQL `variables={"from":"…"}`) shows
 * its member names and string values as SQL between strings of JSON punctuation: a single word there
 * (`{"` where `":{"`) is a JSON string, not SQL, and is retyped as a bareword. An injection written this way
 * leaves strings of JSON punctuation in operand positions (`"{" or ":" 1`), which is not an expression.
 * Returns the same token list when nothing changes. Linear.
 */
function jsonWordsAsBarewords(tk: Tokens): Tokens {
  const t = tk.types;
  const v = tk.values;
  let out: TokenType[] | null = null;
  for (let i = 1; i + 1 < t.length; i++) {
    if (t[i] === 's' || t[i] === 'n' || t[i - 1] !== 's' || t[i + 1] !== 's') continue;
    if (!endsJsonOpen(v[i - 1]!) || !startsJsonClose(v[i + 1]!)) continue;
    out ??= t.slice();
    out[i] = 'n';
  }
  return out === null ? tk : { ...tk, types: out };
}

/** Judges one context's token sequence; returns a reason or null. */
export function judge(tk: Tokens, quoted: boolean): string | null {
  if (quoted) tk = jsonWordsAsBarewords(tk);
  const t = tk.types;
  const v = tk.values;
  if (t.length < 2) return null;
  if (quoted) {
    const r = afterBreak(t, v, 1, false);
    if (r) return r;
  } else {
    let j = 0;
    while (t[j] === '(') j++;
    const a = t[j];
    // a leading TRUE/FALSE/NULL is prose as often as SQL ("True or false: …"): the expression judge decides
    if ((a === '1' && !LITERAL_WORDS.includes(v[j]!)) || a === 'v') {
      const r = afterBreak(t, v, j + 1, true);
      if (r) return r;
    } else if (a === '&' && j === 0) {
      const r = afterBreak(t, v, 0, true);
      if (r) return r;
    } else if (a === 'B' && (t[j + 1] === '1' || t[j + 1] === 'f')) {
      return `leading ${v[j]}`;
    } else if (a === ')' && j === 0) {
      // a value that starts by closing a parenthesis: `) or ('a'='a`
      const r = afterBreak(t, v, 0, false);
      if (r) return `parenthesis break, ${r}`;
    } else if (a === 'k' && j === 0 && (v[0] === 'where' || (v[0] === 'as' && t[1] === 'n' && v[2] === 'where'))) {
      // a leading WHERE clause comparing literals: ` WHERE 1=1 AND 1=0`, ` AS x WHERE 1=1`
      const w = v[0] === 'where' ? 1 : 3;
      if ((t[w] === '1' || t[w] === 's') && t[w + 1] === 'o' && (t[w + 2] === '1' || t[w + 2] === 's')) return 'leading where tautology';
    } else if (a === 'E' && j === 0 && systemSelect(t, v)) {
      return 'select of system information';
    } else if (a === 'T' && j === 0 && stackedStatement(t, v, 0) && leadingStatement(t, v)) {
      return `statement ${v[0]}`;
    }
  }
  return anywhere(t, v) ?? (quoted ? null : expressionValue(t, v));
}

const LOOKALIKE_QUOTES: ReadonlyMap<number, string> = new Map([
  [0x2018, "'"], [0x2019, "'"], [0x201b, "'"], [0x2032, "'"], [0x02bc, "'"], [0x02b9, "'"], [0xff07, "'"],
  [0x201c, '"'], [0x201d, '"'], [0x2033, '"'], [0xff02, '"'], [0x2013, '-'], [0x2014, '-'],
]);

/** The quote look-alikes of {@link LOOKALIKE_QUOTES} (not the dashes): one class, a native linear scan. */
const LOOKALIKE_QUOTE = /[\u02b9\u02bc\u2018\u2019\u201b\u201c\u201d\u2032\u2033\uff02\uff07]/;

function hasLookalikeQuote(s: string): boolean {
  return LOOKALIKE_QUOTE.test(s);
}

function foldQuotes(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += LOOKALIKE_QUOTES.get(s.charCodeAt(i)) ?? s[i];
  return out;
}

const BARE_START = ['true', 'false', 'null', 'not', 'case', '!', '~', 'where', 'as ', 'and', 'or', 'xor', '&&', '||', 'order', 'group', 'having', 'limit', 'union', 'select', 'exec', 'drop', 'delete', 'insert', 'create', 'truncate', 'alter', 'grant', 'revoke', 'shutdown', 'declare', 'update', 'procedure', 'waitfor', 'into', 'backup', 'call'];
const BARE_ANYWHERE = ['union', 'select', ';', '@@', 'xp_', 'sp_', 'waitfor', 'outfile', 'dumpfile'];

/**
 * True when lower-cased `l` may hold a call as {@link tokenize} reads one: a `(` glued to a word, quoted name
 * or comment (`sleep(`, `[fn](`, `if/**\/(`), or after spaces to a known SQL function (`count (`). Prose puts
 * spaces before its parentheses ("the plan (monthly)"), which then costs no tokenizing. Linear: each `(` looks
 * back over the spaces and the one word before it, which end at the previous `(` at the latest.
 */
function mayHaveCall(l: string): boolean {
  for (let p = l.indexOf('('); p !== -1; p = l.indexOf('(', p + 1)) {
    let j = p - 1;
    if (j < 0) continue; // a leading `(` is the caller's first-character check
    const glued = l.charCodeAt(j);
    if (isWord(glued) || glued === 0x2e || glued === 0x60 || glued === 0x5d || glued === 0x22 || glued === 0x2f || glued === 0x2a) return true;
    while (j >= 0 && isSpace(l.charCodeAt(j))) j--;
    if (j < 0) continue;
    const c = l.charCodeAt(j);
    if (c === 0x2f || c === 0x2a) return true; // a comment before the parenthesis
    if (!isWord(c) && c !== 0x2e) continue;
    const end = j + 1;
    while (j >= 0 && (isWord(l.charCodeAt(j)) || l.charCodeAt(j) === 0x2e)) j--;
    const w = l.slice(j + 1, end);
    if (KNOWN_FUNCTIONS.has(w) || DANGEROUS_FUNCTIONS.has(w) || INFO_FUNCTIONS.has(w)) return true;
  }
  return false;
}

/**
 * Cheap gate for the bare context (native `indexOf` scans instead of tokenizing): every bare-context judge
 * rule needs either a leading number, parenthesis, sign or variable, a leading SQL keyword or literal, one of
 * a few tokens anywhere (UNION, SELECT, `;`, `@@`, system procedures, WAITFOR, INTO OUTFILE), a call
 * ({@link mayHaveCall}), the
 * words of a CASE expression, or a comparison together with a logical operator.
 */
function bareMayMatch(s: string): boolean {
  let k = 0;
  while (k < s.length && isSpace(s.charCodeAt(k))) k++;
  const c = s.charCodeAt(k);
  if (isDigit(c) || c === 0x28 || c === 0x29 || c === 0x2d || c === 0x2b || c === 0x40 || c === 0x2e || c === 0x60) return true;
  const l = lower(s);
  for (const w of BARE_START) if (l.startsWith(w, k)) return true;
  for (const w of BARE_ANYWHERE) if (l.indexOf(w) !== -1) return true;
  if (mayHaveCall(l)) return true;
  // expression values ({@link expressionValue}) that start with a column: `id or 1=1`, `name, case when … end`
  if (mayBeCase(l)) return true;
  const cmp = l.indexOf('=') !== -1 || l.indexOf('<') !== -1 || l.indexOf('>') !== -1;
  return cmp && (hasWord(l, 'or') || hasWord(l, 'and') || l.indexOf('&&') !== -1 || l.indexOf('||') !== -1);
}

/** ASCII letter or `_` (what would glue onto a keyword and make it an identifier); false past the end. */
function isLetter(c: number): boolean {
  return ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a) || c === 0x5f;
}

/**
 * True when the lower-cased `l` holds `w` as a word: not glued to a letter on either side (`for`, `order`,
 * `weekend` do not count; `1or`, `(or)`, `/**\/or` do). Repeated `indexOf` from the last hit: linear.
 */
function hasWord(l: string, w: string): boolean {
  for (let i = l.indexOf(w); i !== -1; i = l.indexOf(w, i + 1)) {
    if ((i === 0 || !isLetter(l.charCodeAt(i - 1))) && !isLetter(l.charCodeAt(i + w.length))) return true;
  }
  return false;
}

/** Keywords without which a words-only value cannot be judged an injection. */
const WORD_TRIGGERS = ['where', 'union', 'order', 'group', 'having', 'waitfor', 'exec', 'drop', 'insert', 'delete', 'truncate', 'shutdown', 'create', 'grant', 'xp_', 'sp_', 'information_schema', 'sys'];

/** Operator words that, after a leading literal, make a words-only value a SQL expression (`1 xor 1`, `1 div 0`). */
const LEADING_OPERATOR_WORDS = ['or ', 'and ', 'xor ', 'div ', 'rlike ', 'regexp '];
const LITERAL_WORDS = ['true', 'false', 'null'];

/**
 * True when a words-only value has a SQL keyword that some judge rule needs, starts with a logical operator,
 * or is a literal (number, TRUE/FALSE/NULL) followed by an operator word, or may be a CASE expression.
 */
function mayBeKeywordSql(s: string): boolean {
  const l = lower(s);
  let k = 0;
  while (k < l.length && l.charCodeAt(k) === 0x20) k++;
  if (l.startsWith('or ', k) || l.startsWith('and ', k) || l.startsWith('xor ', k)) return true;
  // a leading literal then an operator word: `1 OR true`, `true or true`, `1 div 0`
  let d = k;
  if (l.charCodeAt(d) === 0x2d) d++;
  const ds = d;
  while (d < l.length && isDigit(l.charCodeAt(d))) d++;
  if (d === ds) {
    for (const w of LITERAL_WORDS) {
      if (l.startsWith(w, d)) {
        d += w.length;
        break;
      }
    }
  }
  if (d > ds && l.charCodeAt(d) === 0x20) {
    while (l.charCodeAt(d) === 0x20) d++;
    for (const w of LEADING_OPERATOR_WORDS) if (l.startsWith(w, d)) return true;
  }
  for (const w of WORD_TRIGGERS) if (l.indexOf(w) !== -1) return true;
  return mayBeCase(l);
}

/** `CASE … WHEN … THEN … END` needs all three words (lower-cased input). */
function mayBeCase(l: string): boolean {
  return l.indexOf('when') !== -1 && hasWord(l, 'when') && hasWord(l, 'then') && hasWord(l, 'end');
}

/** A character outside words, spaces, `.`, `,`, `:`, `/`, `-`, or a `--` comment marker (one class or a literal: linear). */
const NOT_WORDS = /[^A-Za-z0-9_$ .,:/\u0080-\uffff-]|--/;

/** True when the string has no character that can start SQL syntax beyond words and spaces. */
function wordsOnly(s: string): boolean {
  return !NOT_WORDS.test(s);
}

/** Backslash modes to tokenize in ({@link stringEnd}): MySQL's escapes only, or both readings. */
const MYSQL_ESCAPES: readonly boolean[] = [true];
const BOTH_ESCAPE_MODES: readonly boolean[] = [true, false];

/**
 * Detects SQL injection in a (decoded) value: tokenizes it in the bare, `'` and `"` contexts (quote contexts
 * only when the quote occurs), also with inline comments deleted (`UN/**\/ION` evasion) when `/*` occurs, and
 * judges each. Returns the first finding or null. Linear in the input.
 */
export function detectSqli(input: string): SqliFinding | null {
  if (input.length < 2) return null;
  if (wordsOnly(input)) {
    // letters, digits, spaces, dots, commas, single dashes: only keyword-driven shapes can be SQL here
    if (input.indexOf(' ') === -1 || !mayBeKeywordSql(input)) return null;
  }
  const variants = [input];
  // best-fit mapping (Windows code pages, some JDBC drivers) turns look-alike quotes into ASCII quotes
  if (hasLookalikeQuote(input)) variants.push(foldQuotes(input));
  if (input.indexOf('/*') !== -1) {
    let out = '';
    let i = 0;
    while (i < input.length) {
      const s = input.indexOf('/*', i);
      if (s === -1 || input.charCodeAt(s + 2) === 0x21) {
        out += input.slice(i);
        break;
      }
      out += input.slice(i, s);
      const e = input.indexOf('*/', s + 2);
      if (e === -1) {
        i = input.length;
        break;
      }
      i = e + 2;
    }
    if (out !== input) variants.push(out);
  }
  for (const s of variants) {
    // a backslash before a quote escapes it in MySQL but is a plain character in standard SQL: read both ways
    const modes = s.indexOf("\\'") !== -1 || s.indexOf('\\"') !== -1 ? BOTH_ESCAPE_MODES : MYSQL_ESCAPES;
    const bareMay = bareMayMatch(s); // depends on the text only, not on the escape mode
    for (const esc of modes) {
      if (bareMay) {
        const bare = tokenize(s, 0, esc);
        const r0 = judge(bare, false);
        if (r0) return { context: 'bare', reason: r0, fingerprint: fingerprint(bare.types) };
      }
      for (const q of [0x27, 0x22]) {
        if (s.indexOf(String.fromCharCode(q)) === -1) continue;
        const tk = tokenize(s, q, esc);
        const r = judge(tk, true);
        if (r) return { context: q === 0x27 ? "'" : '"', reason: r, fingerprint: fingerprint(tk.types) };
      }
    }
  }
  return null;
}
