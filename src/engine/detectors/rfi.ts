import type { Location } from '../../core/types.ts';
import type { PartRule, TransformName } from '../types.ts';
import { inetAton, portLike } from './ssrf.ts';
import { clip, isWordChar } from './lib/text.ts';

/**
 * Remote file inclusion (OWASP CRS REQUEST-931-APPLICATION-ATTACK-RFI, CWE-98). URLs are ordinary in API
 * fields (webhooks, `redirect_uri`, avatars), so paranoia-1 rules need an inclusion signal besides the URL:
 * an include-style parameter name, or a trailing `?` / `#` / NUL that cuts off the suffix the application
 * appends (`include($page . ".php")`). Weaker signals are paranoia 2.
 *
 * Rule ids (CRS range 931xxx):
 * - `931100` remote URL (`http(s):`/`ftp(s):` with any mix of `/` and `\\`, `//host`, `\\host\share`) in an
 *   include-style parameter (`page`, `file`, `include`, `template`, `lang`, …, or a compound name ending in
 *   such a word: `include_path`, `templateFile`), PL1, critical.
 * - `931110` remote URL ending in `?`, `#` or a NUL byte (suffix truncation), PL1, critical.
 * - `931120` remote URL to a script or text payload (`.php`, `.txt`, `.phtml`, `.asp`, `.jsp`, `.pl`,
 *   `.cgi`, `.sh`, `.inc`) in any parameter, PL2, error.
 * - `931130` a value that is a URL whose host is an IP literal (as OWASP CRS 931100 at paranoia 1: payloads
 *   are served from bare IPs, real integrations use names), PL1, critical.
 */

const TAGS = ['OWASP_CRS/ATTACK-RFI', 'CWE-98', 'attack-rfi'] as const;

const TARGETS: readonly Location['kind'][] = ['query', 'form', 'json', 'cookie', 'multipart', 'xml'];

const CHAINS: readonly (readonly TransformName[])[] = [['urlDecodeRepeat', 'trim']];

/** Parameter names used for file inclusion in PHP/JSP/ASP applications (OWASP WSTG-INPV-11.2, abridged). */
const INCLUDE_PARAMS: ReadonlySet<string> = new Set([
  'page', 'file', 'filename', 'include', 'inc', 'template', 'tpl', 'path', 'doc', 'document', 'folder', 'root',
  'pg', 'style', 'pdf', 'php_path', 'mod', 'module', 'conf', 'config', 'layout', 'view', 'show', 'load', 'read',
  'content', 'cont', 'site', 'dir', 'lib', 'library', 'req', 'require', 'src_file', 'main', 'body', 'nav', 'cat',
  'lang', 'language', 'locale', 'theme', 'skin',
]);

/**
 * Last words of compound parameter names that make them include-style (`include_path`, `templateFile`,
 * `page-template`): the name's final word, split at `_`, `-` and lower-to-upper case changes.
 */
const INCLUDE_WORDS: ReadonlySet<string> = new Set(['include', 'template', 'tpl', 'path', 'file', 'page', 'module', 'layout', 'dir']);

/** True when a parameter name (case kept) is include-style: {@link INCLUDE_PARAMS} or {@link INCLUDE_WORDS}. */
function isIncludeName(key: string): boolean {
  const low = key.toLowerCase();
  if (INCLUDE_PARAMS.has(low)) return true;
  let w = key.length;
  while (w > 0) {
    const ch = key.charCodeAt(w - 1);
    if (ch === 0x5f || ch === 0x2d) break;
    // camelCase boundary: an upper-case letter after a lower-case one starts the word
    if (ch >= 0x41 && ch <= 0x5a && w >= 2 && key.charCodeAt(w - 2) >= 0x61 && key.charCodeAt(w - 2) <= 0x7a) {
      w--;
      break;
    }
    w--;
  }
  return w > 0 && INCLUDE_WORDS.has(low.slice(w));
}

/** Schemes PHP, Java and URL libraries fetch remotely; WHATWG parsers accept any run of `/` and `\\` after them. */
const REMOTE_SCHEMES: readonly string[] = ['https', 'http', 'ftps', 'ftp'];

/**
 * A remote URL at the start of `s` (after spaces and quotes): returns the index of its host, or -1. Accepted:
 * `http(s):` / `ftp(s):` followed by any mix of `/` and `\\`, even none (`http:\\\\evil`, `https:/\\/evil`,
 * `http:evil` all reach `evil` through a WHATWG parser), and a scheme-relative or UNC prefix of two or more
 * separators (`//evil`, `\\\\evil\\share`, `\\\\\\\\evil`). The host must start with a word character or `[`.
 */
function remoteUrlStart(s: string): number {
  let i = 0;
  while (i < s.length && (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x22 || s.charCodeAt(i) === 0x27)) i++;
  const c = s.charCodeAt(i) | 0x20;
  if (c !== 0x68 && c !== 0x66 && c !== 0x2f && c !== 0x5c && c !== 0x7c) return -1; // h, f, /, \ (0x7c = `\` | 0x20)
  let j = i;
  if (c === 0x68 || c === 0x66) {
    const low = s.slice(i, i + 6).toLowerCase();
    let scheme = '';
    for (const p of REMOTE_SCHEMES) if (low.startsWith(p + ':')) { scheme = p; break; }
    if (scheme === '') return -1;
    j = i + scheme.length + 1;
  }
  const sepStart = j;
  while (j < s.length && j - sepStart < 16 && (s.charCodeAt(j) === 0x2f || s.charCodeAt(j) === 0x5c)) j++;
  if (sepStart === i && j - i < 2) return -1; // no scheme: two or more separators
  const h = s.charCodeAt(j);
  if (!(isWordChar(h) || h === 0x5b)) return -1;
  if (j === sepStart && sepStart !== i) {
    if (portLike(s, j)) return -1; // `http:80` names a port (service configuration), not the host 0.0.0.80
  }
  return j;
}

/** Precondition of every rule here (each starts with {@link remoteUrlStart}, which needs a `/` or a `\`). */
const URL_NEEDS = '/\\';

/** The last key of a location name (`a.b.page` → `page`, `q[page]` → `page`), case kept. */
function lastKey(name: string | undefined): string {
  if (name === undefined) return '';
  let end = name.length;
  while (end > 0 && (name.charCodeAt(end - 1) === 0x5d || name.charCodeAt(end - 1) === 0x22)) end--;
  let start = end;
  while (start > 0) {
    const c = name.charCodeAt(start - 1);
    if (c === 0x2e || c === 0x5b || c === 0x22) break;
    start--;
  }
  return name.slice(start, end);
}

const includeParam: PartRule = {
  kind: 'part',
  id: '931100',
  name: 'rfi-url-in-include-parameter',
  category: 'rfi',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: CHAINS,
  needs: URL_NEEDS,
  match(input, part) {
    if (remoteUrlStart(input) === -1) return null;
    const k = lastKey(part.loc.name);
    return isIncludeName(k) ? clip(`${k}=${input}`) : null;
  },
};

const truncated: PartRule = {
  kind: 'part',
  id: '931110',
  name: 'rfi-url-with-truncating-suffix',
  category: 'rfi',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: CHAINS,
  needs: URL_NEEDS,
  match(input) {
    const start = remoteUrlStart(input);
    if (start === -1) return null;
    const last = input.charCodeAt(input.length - 1);
    // `http://evil/x.txt?` — the application's `.php` suffix becomes a query string
    if (last === 0x3f || last === 0x00 || (last === 0x23 && input.indexOf('#') === input.length - 1)) {
      // a bare origin with `?` (`https://example.com/?`) is still a URL to nothing in particular: require a path
      const slash = input.indexOf('/', start);
      if (slash !== -1 && slash < input.length - 2) return clip(input);
    }
    const nul = input.indexOf('\u0000', start);
    return nul !== -1 ? clip(input.slice(0, nul) + '%00') : null;
  },
};

/** Extensions of script/text payloads fetched by inclusion (PHP shells are usually served as `.txt`). */
const PAYLOAD_EXT: readonly string[] = ['.php', '.phtml', '.php5', '.txt', '.asp', '.aspx', '.jsp', '.pl', '.cgi', '.sh', '.inc', '.py'];

const scriptUrl: PartRule = {
  kind: 'part',
  id: '931120',
  name: 'rfi-url-to-script',
  category: 'rfi',
  severity: 'error',
  paranoia: 2,
  tags: TAGS,
  targets: TARGETS,
  transforms: CHAINS,
  needs: URL_NEEDS,
  match(input) {
    const start = remoteUrlStart(input);
    if (start === -1) return null;
    let end = input.length;
    for (let i = start; i < input.length; i++) {
      const c = input.charCodeAt(i);
      if (c === 0x3f || c === 0x23 || c === 0x20) { end = i; break; }
    }
    const path = input.slice(start, end).toLowerCase();
    if (path.indexOf('/') === -1) return null;
    for (const e of PAYLOAD_EXT) if (path.endsWith(e)) return clip(input);
    return null;
  },
};

const ipHost: PartRule = {
  kind: 'part',
  id: '931130',
  name: 'rfi-url-with-ip-host',
  category: 'rfi',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  transforms: CHAINS,
  needs: URL_NEEDS,
  match(input) {
    const start = remoteUrlStart(input);
    if (start === -1) return null;
    let end = start;
    while (end < input.length) {
      const c = input.charCodeAt(end);
      if (c === 0x2f || c === 0x3f || c === 0x23 || c === 0x3a || c === 0x5c) break;
      end++;
    }
    const host = input.slice(start, end);
    const at = host.lastIndexOf('@');
    return inetAton(at === -1 ? host : host.slice(at + 1)) === -1 ? null : clip(input);
  },
};

/** The RFI rules (ids and levels in the module comment). */
export const rules: readonly PartRule[] = [includeParam, truncated, scriptUrl, ipHost];
