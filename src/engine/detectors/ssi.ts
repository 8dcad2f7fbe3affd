import type { Location } from '../../core/types.ts';
import type { PartRule } from '../types.ts';
import { clip, isSpace } from './lib/text.ts';

/**
 * Server-side includes (CWE-97; Apache mod_include directives) and Edge Side Includes (ESI 1.0, W3C Note;
 * GoSecure "ESI injection" research). An include directive in request data is never legitimate input.
 *
 * Rule ids (935xxx, unused by OWASP CRS; chosen for SSI/ESI):
 * - `935100` SSI directive `<!--#exec|include|echo|config|printenv|set|flastmod|fsize|if …`, PL1, critical.
 * - `935110` ESI tag `<esi:include|vars|assign|inline|debug|choose|when|try|attempt|remove|comment`, PL1,
 *   critical.
 * - `935120` ESI variable reference `$(HTTP_COOKIE{…})`, `$(QUERY_STRING)` (session theft through an ESI
 *   processor that evaluates it in the response), PL1, critical.
 * Both tag rules also try a JS-unescaped form (`\u003c!--#exec`).
 */

const TAGS = ['OWASP_CRS/ATTACK-SSI', 'CWE-97', 'attack-injection-ssi'] as const;

const TARGETS: readonly Location['kind'][] = ['query', 'form', 'json', 'cookie', 'multipart', 'xml', 'body', 'header', 'path'];

/** Apache mod_include element names. */
const SSI_DIRECTIVES: readonly string[] = ['exec', 'include', 'echo', 'config', 'printenv', 'set', 'flastmod', 'fsize', 'if', 'elif', 'else', 'endif'];

/** ESI 1.0 element names. */
const ESI_TAGS: readonly string[] = ['include', 'vars', 'assign', 'inline', 'debug', 'choose', 'when', 'otherwise', 'try', 'attempt', 'except', 'remove', 'comment', 'eval'];

/** Finds `<!--#directive` (optional spaces after `#`). */
export function findSsi(s: string): string | null {
  for (let i = s.indexOf('<!--'); i !== -1; i = s.indexOf('<!--', i + 4)) {
    let k = i + 4;
    while (k < s.length && isSpace(s.charCodeAt(k)) && k - i < 12) k++;
    if (s.charCodeAt(k) !== 0x23) continue;
    k++;
    while (k < s.length && isSpace(s.charCodeAt(k)) && k - i < 16) k++;
    for (const d of SSI_DIRECTIVES) {
      if (s.startsWith(d, k)) {
        const e = s.charCodeAt(k + d.length);
        if (Number.isNaN(e) || isSpace(e) || e === 0x2d) return clip(s.slice(i, i + 48));
      }
    }
  }
  return null;
}

/** Finds `<esi:tag` / `</esi:tag`. */
export function findEsi(s: string): string | null {
  for (let i = s.indexOf('esi:'); i !== -1; i = s.indexOf('esi:', i + 4)) {
    const b = i > 0 ? s.charCodeAt(i - 1) : -1;
    if (b !== 0x3c && !(b === 0x2f && i > 1 && s.charCodeAt(i - 2) === 0x3c)) continue;
    for (const t of ESI_TAGS) if (s.startsWith(t, i + 4)) return clip(s.slice(i - 1, i + 48));
  }
  return null;
}

const ssi: PartRule = {
  kind: 'part',
  id: '935100',
  name: 'ssi-directive',
  category: 'ssi',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: TARGETS,
  // the second chain: `\u003c!--#exec …` inside a JS/JSON string that the application unescapes
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase'], ['urlDecodeRepeat', 'jsDecode', 'htmlEntityDecode', 'lowercase']],
  needs: '<', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('<!--') === -1) return null;
    return findSsi(input);
  },
};

const esi: PartRule = {
  kind: 'part',
  id: '935110',
  name: 'esi-tag',
  category: 'ssi',
  severity: 'critical',
  paranoia: 1,
  tags: [...TAGS, 'CWE-94'],
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'htmlEntityDecode', 'lowercase'], ['urlDecodeRepeat', 'jsDecode', 'htmlEntityDecode', 'lowercase']],
  needs: ':', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('esi:') === -1) return null;
    return findEsi(input);
  },
};

/** ESI 1.0 variables (§3 "ESI Variables"): the request data an `$(…)` reference leaks into the cached page. */
const ESI_VARIABLES: readonly string[] = ['http_cookie', 'http_host', 'http_referer', 'http_user_agent', 'http_accept_language', 'query_string'];

/**
 * Finds an ESI variable reference `$(HTTP_COOKIE)`, `$(HTTP_COOKIE{'sid'})`, `$(QUERY_STRING{a})` in lower-cased
 * `s`: only these six names, followed by `)` or `{` (Makefile-style `$(HTTP_PROXY)` is not one of them).
 */
export function findEsiVariable(s: string): string | null {
  for (let i = s.indexOf('$('); i !== -1; i = s.indexOf('$(', i + 2)) {
    for (const v of ESI_VARIABLES) {
      if (!s.startsWith(v, i + 2)) continue;
      const e = s.charCodeAt(i + 2 + v.length);
      if (e === 0x29 || e === 0x7b) return clip(s.slice(i, i + 48));
    }
  }
  return null;
}

const esiVariable: PartRule = {
  kind: 'part',
  id: '935120',
  name: 'esi-variable',
  category: 'ssi',
  severity: 'critical',
  paranoia: 1,
  tags: [...TAGS, 'CWE-200'],
  targets: TARGETS,
  transforms: [['urlDecodeRepeat', 'lowercase']],
  needs: '$', // the first guard of match
  pure: true,
  match(input) {
    if (input.indexOf('$(') === -1) return null;
    return findEsiVariable(input);
  },
};

/** The SSI / ESI rules (ids and levels in the module comment). */
export const rules: readonly PartRule[] = [ssi, esi, esiVariable];
