import type { Location } from '../../core/types.ts';
import type { InspectionScope, PartRule, TransformName } from '../types.ts';
import { canonPath, clip, around, isWordChar, isAlpha, lowerAscii, NeedleSet } from './lib/text.ts';

/**
 * Path traversal / local file inclusion (OWASP CRS REQUEST-930-APPLICATION-ATTACK-LFI, CWE-22, CWE-98).
 *
 * Rule ids (CRS range 930xxx):
 * - `930100` `../` / `..\` traversal in any encoding (percent, double percent, `%u`, overlong UTF-8
 *   `%c0%af`, Unicode look-alike slashes `%u2215`, two-dot leader `‥`, `0x2f` byte notation, `....//`, servlet
 *   path parameters `..;x=y/`), PL1, critical.
 * - `930105` the same hidden in a base64-encoded parameter, PL1, critical.
 * - `930110` sensitive OS file or system directory by absolute path (`/etc/passwd`, `/proc/self/environ`,
 *   `c:\windows\win.ini`, `boot.ini`, cloud CLI credentials, …; empty and `.` segments collapsed first), a
 *   parameter that is a Windows drive-letter path, an absolute path to a config/log/credential file type
 *   (CWE-36) or to a dot entry of a home directory, and in the request path a drive segment, a
 *   `/<system dir>/<name>` pair (`/static/etc/hostname`) or a credential dotfile, PL1, critical.
 * - `930120` NUL-byte truncation after a file-like value (`file.php%00.html`), PL1, critical.
 * - `930130` stream wrappers that read local files (`file://`, `php://filter`, `expect://`, `zip://`,
 *   `phar://`, `glob://`, `compress.zlib://`), PL1, critical.
 * - `930140` a `data:` URI (no `//`, which PHP's `include` accepts) whose content is PHP code, PL1, critical.
 *
 * All matchers are single forward scans over {@link canonPath}'s output (linear time).
 */

const TAGS = ['OWASP_CRS/ATTACK-LFI', 'CWE-22', 'attack-lfi'] as const;

/** Locations whose values are inspected for traversal (request-target, arguments, bodies, cookies, files). */
export const TRAVERSAL_TARGETS: readonly Location['kind'][] = [
  'path', 'query', 'query_name', 'form', 'json', 'cookie', 'multipart', 'filename', 'xml', 'body',
];

/**
 * Decode chain: percent-decoding until stable (double encoding); overlong UTF-8, IIS `%u`/lenient hex and
 * look-alikes are folded by {@link canonPath} inside the rules, which needs the raw bytes.
 */
const CHAINS: readonly (readonly TransformName[])[] = [['urlDecodeRepeat']];

/**
 * Finds a traversal sequence in a canonical value (see {@link canonPath}): a run of two or more dots (Windows
 * also accepts `?` wildcards in the run, `.?/`) that
 * - starts at a path boundary (start, or a character that is not a letter, digit, `_` or `-`), so that prose
 *   such as `wait.../` does not count, and is followed by `/` (or the bare `2f`/`5c` of a stripped `%`); or
 * - follows a `/` and ends the value or is followed by `;` (Tomcat `..;/`), `%` (IIS `..%5c`) or `?`.
 * Returns the index of the run or -1. Linear.
 */
export function findDotDot(s: string): number {
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c0 = s.charCodeAt(i);
    if (c0 !== 0x2e && c0 !== 0x3f) { i++; continue; }
    const start = i;
    let dots = 0;
    while (i < n) {
      const c = s.charCodeAt(i);
      if (c === 0x2e) dots++;
      else if (c !== 0x3f) break;
      i++;
    }
    if (i - start < 2 || dots === 0) continue;
    const before = start === 0 ? -1 : s.charCodeAt(start - 1);
    const boundary = before === -1 || !(isWordChar(before) || before === 0x2d || before > 0x7f);
    if (!boundary) continue;
    const after = i < n ? s.charCodeAt(i) : -1;
    if (after === 0x2f) return start;
    if (after === 0x3b && pathParamEnds(s, i + 1)) return start; // Tomcat `..;/`, `..;jsessionid=x/`
    if (after === 0x32 && (s.charCodeAt(i + 1) === 0x66)) return start; // `..2f`
    if (after === 0x35 && (s.charCodeAt(i + 1) === 0x63)) return start; // `..5c`
    if (before === 0x2f && dots === 2 && i - start === 2 && (after === -1 || after === 0x3b || after === 0x25 || after === 0x3f)) return start;
  }
  return -1;
}

/**
 * True when the path parameter that starts at `i` (after `;`) runs to a `/` or the end of the value: servlet
 * containers drop `;params` from each segment, so `..;jsessionid=x/` is `../`. Bounded (64 units).
 */
function pathParamEnds(s: string, i: number): boolean {
  const stop = Math.min(s.length, i + 64);
  for (let k = i; k < stop; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x2f) return true;
    if (c === 0x20 || c === 0x3f || c === 0x23) return false;
  }
  return stop === s.length;
}

/**
 * Sensitive file names and system paths (from OWASP CRS `lfi-os-files.data`, abridged and generalised to
 * directory prefixes). Matched at a path boundary (start of value or after `/`), on the canonical form.
 */
const SENSITIVE: readonly string[] = [
  'etc/passwd', 'etc/shadow', 'etc/group', 'etc/hosts', 'etc/issue', 'etc/motd', 'etc/master.passwd',
  'etc/security/', 'etc/sudoers', 'etc/crontab', 'etc/fstab', 'etc/httpd/', 'etc/apache', 'etc/nginx/',
  'etc/php', 'etc/mysql/', 'etc/ssh/', 'etc/resolv.conf', 'etc/profile', 'etc/inittab', 'etc/network',
  'proc/self/', 'proc/version', 'proc/cmdline', 'proc/mounts', 'proc/net/', 'proc/sched_debug', 'proc/cpuinfo',
  'proc/meminfo', 'proc/1/', 'var/log/', 'var/www/', 'var/lib/', 'var/mail/', 'var/spool/', 'var/run/',
  'var/adm/', 'var/apache', 'var/cpanel', 'var/mysql', 'usr/local/', 'usr/lib/', 'usr/pkg/', 'usr/share/',
  'usr/bin/', 'usr/sbin/', 'root/.', 'home/*/', '.ssh/id_', '.ssh/authorized_keys', '.bash_history',
  '.htpasswd', '.htaccess', 'boot.ini', 'win.ini', 'system.ini', 'windows/system32', 'windows/repair',
  'windows/panther', 'windows/debug', 'windows/iis', 'windows/temp', 'windows/system.', 'winnt/',
  'system32/config', 'system32/drivers', 'system32/inetsrv', 'inetpub/', 'program files', 'programfiles/',
  'documents and settings', 'xampp/', 'wamp/', 'sysprep', 'unattend', 'web.config', 'wp-config.php',
  'ntuser.dat', 'applicationhost.config', 'php.ini', 'httpd.conf', 'my.cnf', 'my.ini', 'global.asa',
  'web-inf/', 'meta-inf/', 'private/etc/', 'private/var/', 'repair/sam', 'config/sam', '.git/config',
  // credentials of cloud CLIs and orchestrators in home directories, and mounted container secrets
  '.aws/credentials', '.aws/config', '.kube/config', '.docker/config.json', '.git-credentials', '.azure/accesstokens.json',
  '.config/gcloud/', 'run/secrets/',
];

/** Top-level Unix directories that make a value starting with `/<dir>/` an absolute system path. */
const UNIX_ROOTS: readonly string[] = [
  'etc', 'proc', 'var', 'usr', 'root', 'sys', 'dev', 'boot', 'bin', 'sbin', 'lib', 'lib64', 'opt', 'srv', 'private', 'library',
];

/** Windows environment variables that expand to system directories (`%SYSTEMROOT%\repair\SAM`). */
const WIN_ENV_DIRS = new NeedleSet([
  '%systemroot%', '%windir%', '%systemdrive%', '%programfiles%', '%programfiles(x86)%', '%userprofile%', '%appdata%',
  '%allusersprofile%', '%programdata%', '%homedrive%', '%public%', '%localappdata%',
]);

/** {@link SENSITIVE} as a first-character dispatch set. */
const SENSITIVE_SET = new NeedleSet(SENSITIVE.filter((n) => !n.startsWith('home/*/')));

/** Needles that may be followed by more word characters (prefixes such as `sysprep` → `sysprep.inf`). */
const OPEN_ENDED: ReadonlySet<string> = new Set([
  'etc/passwd', 'sysprep', 'unattend', 'program files', 'etc/apache', 'etc/php', 'etc/network', 'var/apache', 'var/cpanel', 'var/mysql',
]);

/** Path boundary before a sensitive name: start, `/`, `:` (file:), `=`, space, quotes, `;`. */
function pathBoundary(b: number): boolean {
  return b === -1 || b === 0x2f || b === 0x3a || b === 0x3d || b === 0x20 || b === 0x22 || b === 0x27 || b === 0x3b;
}

/** Accepts a {@link SENSITIVE} match that ends at a segment boundary (or is an open-ended prefix). */
function sensitiveAt(s: string, i: number, needle: string): boolean {
  const endIdx = i + needle.length;
  const e = endIdx < s.length ? s.charCodeAt(endIdx) : -1;
  return needle.endsWith('/') || needle.endsWith('.') || needle.endsWith('_') || e === -1 || !isWordChar(e) || OPEN_ENDED.has(needle);
}

/** Returns the sensitive fragment found at a path boundary in canonical `s`, or null. Linear. */
export function findSensitive(s: string): string | null {
  const m = SENSITIVE_SET.find(s, sensitiveAt, 0, pathBoundary);
  return m === null ? null : m.needle;
}

/**
 * True when the canonical value is an absolute Unix system path: it begins (after optional whitespace,
 * quotes, `file:`/`//` prefixes or traversal) with `/<root>/x` where `<root>` is a system directory.
 */
export function startsWithSystemPath(s: string): string | null {
  let i = 0;
  const n = s.length;
  while (i < n && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x22 || s.charCodeAt(i) === 0x27)) i++;
  if (s.startsWith('file:', i)) i += 5;
  if (i >= n || s.charCodeAt(i) !== 0x2f) return null;
  while (i < n && (s.charCodeAt(i) === 0x2f || s.charCodeAt(i) === 0x2e)) i++;
  for (const r of UNIX_ROOTS) {
    if (s.startsWith(r, i) && s.charCodeAt(i + r.length) === 0x2f) {
      const c = s.charCodeAt(i + r.length + 1);
      if (isWordChar(c) || c === 0x2e || c === 0x2a) return '/' + r + '/';
    }
  }
  return null;
}

/** True when `s` starts with a Windows drive-letter absolute path (`c:/…`, after canonicalisation). */
export function startsWithDrive(s: string): boolean {
  let i = 0;
  while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x22 || s.charCodeAt(i) === 0x27)) i++;
  if (s.startsWith('file:', i)) {
    i += 5;
    while (s.charCodeAt(i) === 0x2f) i++;
  }
  // `c:/x` but not a URL scheme such as `c://` (single-letter schemes do not exist, but be strict).
  return isAlpha(s.charCodeAt(i)) && s.charCodeAt(i + 1) === 0x3a && s.charCodeAt(i + 2) === 0x2f && s.charCodeAt(i + 3) !== 0x2f;
}

/**
 * True when the canonical value is an absolute path to a dot entry directly in a home directory
 * (`/home/bob/.bash_history`, `/home/bob/.ssh/id_ed25519`, `/users/bob/.aws/…`): shell history, keys and
 * credentials live there.
 */
export function homeDotEntry(s: string): boolean {
  let i = 0;
  while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x22 || s.charCodeAt(i) === 0x27)) i++;
  if (s.startsWith('file:', i)) i += 5;
  while (s.charCodeAt(i) === 0x2f) i++;
  if (i === 0 || s.charCodeAt(i - 1) !== 0x2f) return false;
  if (s.startsWith('home/', i)) i += 5;
  else if (s.startsWith('users/', i)) i += 6;
  else return false;
  const slash = s.indexOf('/', i);
  if (slash <= i) return false;
  return s.charCodeAt(slash + 1) === 0x2e && (isWordChar(s.charCodeAt(slash + 2)) || s.charCodeAt(slash + 2) === 0x2d);
}

/**
 * Collapses empty and `.` segments (`//` → `/`, `/./` → `/`) as every path resolver does, so that
 * `/etc//passwd` and `/etc/./shadow` name the files they open. Linear; returns `s` when there is nothing to do.
 */
export function collapseSeparators(s: string): string {
  if (s.indexOf('//') === -1 && s.indexOf('/./') === -1) return s;
  let out = '';
  let run = 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) !== 0x2f) continue;
    let j = i + 1;
    // skip following `/` and `./` units
    for (;;) {
      if (s.charCodeAt(j) === 0x2f) j++;
      else if (s.charCodeAt(j) === 0x2e && (s.charCodeAt(j + 1) === 0x2f)) j += 2;
      else break;
    }
    if (j === i + 1) continue;
    out += s.slice(run, i + 1);
    run = j;
    i = j - 1;
  }
  return run === 0 ? s : out + s.slice(run);
}

/**
 * File extensions and names of server configuration, logs, credentials and scripts (OWASP CRS
 * `restricted-files.data` / `lfi-os-files.data`, generalised): an absolute path that ends in one of them is a
 * file read attempt.
 */
const SENSITIVE_EXT: readonly string[] = [
  '.log', '.conf', '.cnf', '.ini', '.inf', '.cfg', '.config', '.passwd', '.htpasswd', '.htaccess', '.bak', '.old',
  '.sql', '.db', '.sqlite', '.mdb', '.key', '.pem', '.err', '.evt', '.sam', '.history', '.rhosts', '.shosts',
  '.bashrc', '.profile', '.forward', '.logout', '.xauthority', '.netrc', '.pgpass', '.env', '_log', '.properties',
];

/**
 * Script and data extensions that name an ordinary page or document (`/index.php`, `/openapi.yaml`) unless the
 * file name says it holds configuration or credentials (`/core/config.php`, `/db.yml`).
 */
const CONFIG_ONLY_EXT: readonly string[] = ['.php', '.asp', '.aspx', '.jsp', '.inc', '.yml', '.yaml', '.xml', '.json', '.dat', '.js'];
const CONFIG_WORDS: readonly string[] = ['conf', 'db', 'database', 'setting', 'install', 'passw', 'secret', 'credential', 'connect', 'wp-config', 'local'];

/**
 * True when the canonical value as a whole is an absolute Unix path (`/a/b.log`) naming a sensitive file type,
 * or a root-level dotfile (`/.bashrc`). CWE-36 absolute path traversal. Linear.
 */
export function absoluteSensitiveFile(s: string): string | null {
  let i = 0;
  while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x22 || s.charCodeAt(i) === 0x27)) i++;
  if (s.charCodeAt(i) !== 0x2f || s.charCodeAt(i + 1) === 0x2f) return null;
  // Must look like a bare path: no spaces in the first 2 segments, no URL query.
  let end = s.length;
  while (end > i && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x3b)) end--;
  for (let k = i; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x3f || c === 0x23 || c === 0x3c || c === 0x3e || c === 0x22) return null;
  }
  const p = s.slice(i, end);
  for (const ext of SENSITIVE_EXT) if (p.endsWith(ext)) return ext;
  const base = p.slice(p.lastIndexOf('/') + 1);
  for (const ext of CONFIG_ONLY_EXT) {
    if (!base.endsWith(ext)) continue;
    for (const w of CONFIG_WORDS) if (base.indexOf(w) !== -1) return ext;
  }
  if (p.indexOf('/logs/') !== -1 || p.indexOf('/log/') !== -1) return '/logs/';
  return null;
}

/**
 * Unix directories that never name a segment of a real API route but do name system paths: a request path
 * containing `/<dir>/<name>` (e.g. `/static/etc/hostname.le0`) asks for a system file.
 */
const PATH_ROOTS: ReadonlySet<string> = new Set(['etc', 'proc', 'var', 'usr', 'boot', 'sbin', 'srv', 'opt']);

/** Dotfiles holding credentials or shell state (a request path ending in one is a file-read attempt). */
const DOTFILES: ReadonlySet<string> = new Set([
  '.bashrc', '.bash_history', '.bash_profile', '.profile', '.zshrc', '.zsh_history', '.forward', '.rhosts', '.shosts',
  '.netrc', '.pgpass', '.my.cnf', '.htpasswd', '.htaccess', '.env', '.xauthority', '.logout', '.passwd', '.git-credentials',
  '.npmrc', '.dockercfg', '.history', '.viminfo', '.mysql_history', '.psql_history',
]);

/**
 * Checks a canonical request path for a system path: a drive-letter segment (`/c:/…`), a segment pair
 * `/<system dir>/<name>` ({@link PATH_ROOTS}), or a final credential dotfile ({@link DOTFILES}). Linear.
 */
export function systemPathInRequestPath(s: string): string | null {
  let start = 0;
  const n = s.length;
  while (start <= n) {
    let end = s.indexOf('/', start);
    if (end === -1) end = n;
    const len = end - start;
    if (len === 2 && isAlpha(s.charCodeAt(start)) && s.charCodeAt(start + 1) === 0x3a) return 'windows drive in path ' + clip(s.slice(start, start + 40));
    if (len >= 3 && len <= 4 && end < n && isWordChar(s.charCodeAt(end + 1)) && PATH_ROOTS.has(s.slice(start, end))) {
      return 'system directory in path ' + clip(s.slice(start, start + 40));
    }
    if (end === n && len > 2 && s.charCodeAt(start) === 0x2e && DOTFILES.has(s.slice(start, end))) return 'dotfile ' + s.slice(start, end);
    start = end + 1;
  }
  return null;
}

/**
 * The canonical form of a rule input: 930100 and 930110 run on the same transformed value of every part, so it
 * is computed once per part through the engine's per-part memo ({@link InspectionScope.derive}); without one
 * (direct calls) a last-value cache.
 */
let lastIn = '';
let lastOut = '';
function canon(input: string, scope: InspectionScope | undefined): string {
  if (scope?.derive !== undefined) return scope.derive(input, canonPath);
  if (input === lastIn) return lastOut;
  lastIn = input;
  lastOut = canonPath(input);
  return lastOut;
}

/** `930100`: traversal sequences. */
const dotdot: PartRule = {
  kind: 'part',
  id: '930100',
  name: 'lfi-path-traversal',
  category: 'traversal',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TRAVERSAL_TARGETS,
  transforms: CHAINS,
  match(input, part, scope) {
    if (input.length < 2) return null;
    const s = canon(input, scope);
    if (s.indexOf('..') === -1 && s.indexOf('.?') === -1 && s.indexOf('?.') === -1 && s.indexOf('/./') === -1) return null;
    const i = findDotDot(s);
    if (i !== -1) return clip(around(s, i));
    // `/./\/./././` chains: a value made of three or more `./` hops is path obfuscation.
    let hops = 0;
    for (let k = s.indexOf('/./'); k !== -1; k = s.indexOf('/./', k + 2)) if (++hops >= 3) return clip(s);
    return null;
  },
};

/** Standard base64 alphabet value per ASCII code (`=` and others 0; the alphabet is checked before use). */
const B64 = new Uint8Array(128);
for (let i = 0; i < 64; i++) B64['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.charCodeAt(i)] = i;

function printable(b: number): boolean {
  return b >= 0x20 && b <= 0x7e;
}

/**
 * Decodes `s` as standard base64 when the whole value is base64 (length ≥ 8, multiple of 4, alphabet only)
 * and the result is printable ASCII; else null. Linear.
 */
export function decodeBase64Printable(s: string): string | null {
  const n = s.length;
  if (n < 8 || n % 4 !== 0 || n > 16384) return null;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const ok = isWordChar(c) ? c !== 0x5f : c === 0x2b || c === 0x2f || (c === 0x3d && i >= n - 2);
    if (!ok) return null;
  }
  // the first quantum (never padded: n ≥ 8) decides most values, since words and ids decode to non-printable
  // bytes: check its three bytes before allocating the whole decoding
  const q = (B64[s.charCodeAt(0)]! << 18) | (B64[s.charCodeAt(1)]! << 12) | (B64[s.charCodeAt(2)]! << 6) | B64[s.charCodeAt(3)]!;
  if (!printable(q >> 16) || !printable((q >> 8) & 255) || !printable(q & 255)) return null;
  const out = Buffer.from(s, 'base64').toString('latin1');
  for (let i = 0; i < out.length; i++) {
    const c = out.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return null;
  }
  return out;
}

/** `930105`: traversal or sensitive path hidden in a base64-encoded parameter (`Li4vZXRjL3Bhc3N3ZA==`). */
const base64Path: PartRule = {
  kind: 'part',
  id: '930105',
  name: 'lfi-path-in-base64',
  category: 'traversal',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: ['query', 'form', 'json', 'cookie', 'multipart', 'path_segment'],
  transforms: [['none']],
  match(input) {
    const d = decodeBase64Printable(input);
    if (d === null) return null;
    const s = canonPath(decodeURIComponentSafe(d));
    if (findDotDot(s) !== -1) return clip('base64 ' + s);
    const f = findSensitive(s);
    return f === null ? null : clip('base64 ' + s);
  },
};

/** `decodeURIComponent` that returns its input on malformed escapes instead of throwing. */
function decodeURIComponentSafe(s: string): string {
  if (s.indexOf('%') === -1) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** `930110`: sensitive OS files and absolute system paths. */
const sensitive: PartRule = {
  kind: 'part',
  id: '930110',
  name: 'lfi-sensitive-os-file',
  category: 'traversal',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TRAVERSAL_TARGETS,
  transforms: CHAINS,
  match(input, part, scope) {
    if (input.length < 6) return null;
    if (input.indexOf('%') !== -1) {
      // env-var paths first: the lenient `%xx` folding of canonPath would garble them
      const env = WIN_ENV_DIRS.find(lowerAscii(input), (v, i, n) => v.charCodeAt(i + n.length) === 0x5c || v.charCodeAt(i + n.length) === 0x2f);
      if (env !== null) return 'windows system path ' + env.needle;
    }
    const s = collapseSeparators(canon(input, scope));
    const f = findSensitive(s);
    if (f !== null) return 'sensitive path ' + f;
    if (part.loc.kind === 'path') {
      const r = systemPathInRequestPath(s);
      if (r !== null) return r;
    } else {
      const r = startsWithSystemPath(s);
      if (r !== null) return 'absolute system path ' + r;
      if (startsWithDrive(s)) return clip('windows absolute path ' + s);
      if (homeDotEntry(s)) return clip('home directory dot entry ' + s);
      const e = absoluteSensitiveFile(s);
      if (e !== null) return clip('absolute path to ' + e + ' file');
    }
    return null;
  },
};

/** `930120`: NUL-byte truncation (`%00`) in a file-like value. */
const nullByte: PartRule = {
  kind: 'part',
  id: '930120',
  name: 'lfi-null-byte-truncation',
  category: 'traversal',
  severity: 'critical',
  paranoia: 1,
  tags: [...TAGS, 'CWE-158'],
  targets: TRAVERSAL_TARGETS,
  transforms: [['urlDecodeRepeat']],
  decodedOnly: true, // a NUL is a control character: never in an inert value
  match(input) {
    const z = input.indexOf('\u0000');
    if (z === -1) return null;
    // File-like: a `.ext` or a `/` before the NUL, or an extension right after it (`%00.jpg`).
    const before = input.slice(Math.max(0, z - 64), z);
    const next = input.charCodeAt(z + 1);
    if (before.includes('/') || before.includes('\\') || before.lastIndexOf('.') > before.length - 6 || next === 0x2e) {
      return clip('NUL after ' + before.slice(-32));
    }
    return null;
  },
};

/** Stream wrappers that read local files or run code (PHP manual "Supported Protocols and Wrappers"). */
const WRAPPERS: readonly string[] = [
  'file:', 'php://', 'expect://', 'zip://', 'phar://', 'glob://', 'compress.zlib://', 'compress.bzip2://',
  'zlib:', 'ogg://', 'rar://', 'jar:file:', 'jar:http', 'data://',
];

/** `930130`: local-file stream wrappers. */
const wrappers: PartRule = {
  kind: 'part',
  id: '930130',
  name: 'lfi-stream-wrapper',
  category: 'traversal',
  severity: 'critical',
  paranoia: 1,
  tags: [...TAGS, 'CWE-98'],
  targets: TRAVERSAL_TARGETS,
  transforms: [['urlDecodeRepeat', 'lowercase']],
  needs: ':', // the first guard of match
  match(input) {
    if (input.indexOf(':') === -1) return null; // every wrapper has a `:` (one native scan instead of 14)
    for (const w of WRAPPERS) {
      let from = 0;
      for (;;) {
        const i = input.indexOf(w, from);
        if (i === -1) break;
        const b = i === 0 ? -1 : input.charCodeAt(i - 1);
        if (b === -1 || !isWordChar(b)) {
          if (w === 'file:') {
            // `file:` alone is common prose ("file: x"); require `file:/` or `file:\` and then a path or host
            // (not "`file://` URL" in documentation)
            let k = i + 5;
            while (k < input.length && k - i < 10 && (input.charCodeAt(k) === 0x2f || input.charCodeAt(k) === 0x5c)) k++;
            const c = input.charCodeAt(k);
            if (k === i + 5 || !(isWordChar(c) || c === 0x2e || c === 0x25 || c === 0x7e)) { from = i + 1; continue; }
          }
          return clip(input.slice(i, i + 48));
        }
        from = i + 1;
      }
    }
    return null;
  },
};

/**
 * Returns a description when the value is a `data:` URI (PHP accepts `data:` without `//` in `include`) whose
 * content, plain or base64-decoded, opens PHP code (`<?php`, `<?=`, `<? `); else null. Reads at most 4 KiB of
 * content. Linear.
 */
export function dataUriCode(s: string): string | null {
  let i = 0;
  while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x22 || s.charCodeAt(i) === 0x27)) i++;
  if (s.slice(i, i + 5).toLowerCase() !== 'data:') return null;
  const comma = s.indexOf(',', i + 5);
  if (comma === -1 || comma - i > 128) return null;
  const header = s.slice(i + 5, comma).toLowerCase();
  let body = s.slice(comma + 1, comma + 1 + 4096);
  if (header.endsWith(';base64')) body = Buffer.from(body, 'base64').toString('latin1');
  for (let k = body.indexOf('<?'); k !== -1; k = body.indexOf('<?', k + 2)) {
    const c = body.charCodeAt(k + 2);
    if (c === 0x3d || c === 0x20 || c === 0x0a || c === 0x09 || body.slice(k + 2, k + 5).toLowerCase() === 'php') return 'data: URI with PHP code';
  }
  return null;
}

/** `930140`: a `data:` URI whose content is PHP code (inclusion of attacker-supplied code without a wrapper `//`). */
const dataCode: PartRule = {
  kind: 'part',
  id: '930140',
  name: 'lfi-data-uri-php-code',
  category: 'traversal',
  severity: 'critical',
  paranoia: 1,
  tags: [...TAGS, 'CWE-98'],
  targets: ['query', 'form', 'json', 'cookie', 'multipart', 'xml', 'body'],
  transforms: [['urlDecodeRepeat']], // case kept: base64 content
  needs: ':', // the `data:` prefix
  match(input) {
    if (input.indexOf(':') === -1) return null;
    return dataUriCode(input);
  },
};

/** The traversal / LFI rules (see the module comment for ids and levels). */
export const rules: readonly PartRule[] = [dotdot, base64Path, sensitive, nullByte, wrappers, dataCode];
