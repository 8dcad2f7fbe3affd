import type { Location } from '../../core/types.ts';
import type { PartRule, RequestRule } from '../types.ts';
import { applyChain } from '../transforms.ts';
import { clip, isWordChar, NeedleSet, needsFrom } from './lib/text.ts';
import { LruMap } from '../../core/lru.ts';

/**
 * Security scanners and attack tools (OWASP CRS REQUEST-913-SCANNER-DETECTION; CWE-200 reconnaissance).
 *
 * Rule ids (CRS range 913xxx):
 * - `913100` User-Agent of a known scanner or attack tool (`sqlmap`, `Nikto`, `Nmap Scripting Engine`,
 *   `masscan`, `zgrab`, `Nuclei`, `WPScan`, `DirBuster`, `gobuster`, `Fuzz Faster U Fool`, `Acunetix`,
 *   `Netsparker` …), PL1, critical. Tool names are matched as whole words, case-insensitively.
 * - `913110` headers that only scanners send (`Acunetix-Product`, `X-Scanner`, `X-WIPP`, `X-Request-Memo`,
 *   …), PL1, critical.
 * - `913120` out-of-band interaction hosts (Burp Collaborator `*.burpcollaborator.net`, `*.oastify.com`,
 *   Interactsh `*.oast.*` / `*.interact.sh`, `dnslog.cn`, `ceye.io`, canary tokens) in any value, PL1,
 *   critical — they exist to confirm blind injection.
 * - `913200` request path of a well-known probe (`/.env`, `/.git/`, `/wp-admin`, `/phpmyadmin`,
 *   `/server-status`, `/actuator/env`, backup files `*.bak`, `*.sql`, `*~`), PL1, notice: a low-severity
 *   signal that the behavioural detectors combine with 404 ratios; it does not block alone.
 */

const TAGS = ['OWASP_CRS/SCANNER-DETECTION', 'CWE-200', 'attack-reputation-scanner'] as const;

/**
 * Tool names as they appear in User-Agents (OWASP CRS `scanners-user-agents.data`, abridged, lower-case).
 * Multi-word entries are matched as phrases.
 */
const TOOL_AGENTS: readonly string[] = [
  'sqlmap', 'nikto', 'nmap scripting engine', 'nmap', 'masscan', 'zgrab', 'nuclei', 'wpscan', 'dirbuster', 'gobuster',
  'fuzz faster u fool', 'ffuf', 'feroxbuster', 'acunetix', 'netsparker', 'invicti', 'arachni', 'w3af', 'openvas',
  'nessus', 'havij', 'jaeles', 'wfuzz', 'whatweb', 'skipfish', 'appscan', 'webinspect', 'commix', 'xsstrike',
  'dirsearch', 'fimap', 'paros', 'pangolin', 'zmeu', 'morfeus', 'jorgee', 'hydra', 'sqlninja', 'bsqlbf', 'absinthe',
  'nsauditor', 'webshag', 'wapiti', 'vega', 'x-scan', 'zap', 'owasp zap', 'burp', 'qualys', 'detectify', 'grabber',
  'sitelock', 'metasploit', 'brutus', 'medusa', 'nasl', 'cgichk', 'webvulnscan', 'sf-scan', 'blackwidow', 'crimscanner',
  'httprint', 'wpsec', 'muieblackcat', 'dotdotpwn', 'struts-pwn', 'log4j-scan', 'interactsh', 'httpx - open-source',
];

/** Names that are also ordinary words or product names in browser/SDK UAs: need a tool-like context. */
const AMBIGUOUS: ReadonlySet<string> = new Set(['zap', 'burp', 'hydra', 'medusa', 'vega', 'paros', 'grabber', 'nasl', 'brutus']);

/** {@link TOOL_AGENTS} as a dispatch set. */
const TOOL_SET = new NeedleSet(TOOL_AGENTS);

/** A tool name must be a whole word; ambiguous names only as a product token (`zap/2.14`, start of the UA). */
function toolAt(ua: string, i: number, t: string): boolean {
  const b = i === 0 ? -1 : ua.charCodeAt(i - 1);
  const e = i + t.length < ua.length ? ua.charCodeAt(i + t.length) : -1;
  if ((b !== -1 && isWordChar(b)) || (e !== -1 && isWordChar(e))) return false;
  return !AMBIGUOUS.has(t) || i === 0 || e === 0x2f;
}

/** Finds a tool name in a lower-case User-Agent at word boundaries. Linear (one dispatch pass). */
export function findToolAgent(ua: string): string | null {
  const m = TOOL_SET.find(ua, toolAt);
  return m === null ? null : m.needle;
}

/** Recent User-Agents and their tool name (or null): bounded (512 × ≤ 1024 chars), UAs repeat across requests. */
const uaMemo = new LruMap<string, string | null>(512);

/** {@link findToolAgent} on the lower-cased first 1024 chars of a User-Agent, memoised. */
function toolAgentOf(ua: string): string | null {
  const hit = uaMemo.get(ua);
  if (hit !== undefined) return hit;
  const t = findToolAgent(ua.length > 1024 ? ua.slice(0, 1024).toLowerCase() : ua.toLowerCase());
  if (ua.length <= 1024) uaMemo.add(ua, t); // absent (the get above missed): no second lookup
  return t;
}

const userAgent: RequestRule = {
  kind: 'request',
  id: '913100',
  name: 'scanner-user-agent',
  category: 'scanner',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  check(scope) {
    const ua = scope.ctx.header('user-agent');
    if (ua === '') return [];
    const t = toolAgentOf(ua);
    return t === null ? [] : [{ hit: `scanner User-Agent ${t}`, loc: { kind: 'header', name: 'user-agent' }, value: clip(ua, 256) }];
  },
};

/** Headers sent only by scanners (CRS 913110 `scanners-headers.data`). */
const SCANNER_HEADERS: ReadonlySet<string> = new Set([
  'acunetix-product', 'acunetix-scanning-agreement', 'acunetix-user-agreement', 'x-scanner', 'x-wipp', 'x-request-memo',
  'x-requestmanager-memo', 'x-scan-memo', 'x-netsparker', 'x-ns-scan', 'bug-bounty', 'x-bug-bounty',
]);

/** Lengths of {@link SCANNER_HEADERS} names (ASCII: lower-casing keeps the length). */
const SCANNER_HEADER_LENGTHS: ReadonlySet<number> = new Set([...SCANNER_HEADERS].map((h) => h.length));

const scannerHeaders: RequestRule = {
  kind: 'request',
  id: '913110',
  name: 'scanner-specific-header',
  category: 'scanner',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  check(scope) {
    const raw = scope.ctx.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      if (!SCANNER_HEADER_LENGTHS.has(raw[i]!.length)) continue; // no lower-cased copy of every header name
      const n = raw[i]!.toLowerCase();
      if (SCANNER_HEADERS.has(n)) return [{ hit: `scanner header ${n}`, loc: { kind: 'header', name: n } }];
    }
    return [];
  },
};

/** Out-of-band application security testing (OAST) domains. */
const OAST_DOMAINS: readonly string[] = [
  'burpcollaborator.net', 'oastify.com', 'interact.sh', 'oast.fun', 'oast.pro', 'oast.live', 'oast.site',
  'oast.online', 'oast.me', 'dnslog.cn', 'ceye.io', 'canarytokens.com', 'requestrepo.com', 'xss.ht', 'bxss.me',
  'dnslog.link', 'eyes.sh',
];

/** {@link OAST_DOMAINS} as a dispatch set. */
const OAST_SET = new NeedleSet(OAST_DOMAINS);

/** A host label boundary before a domain: start, `.`, `/`, `@`, space. */
function hostBoundary(b: number): boolean {
  return b === -1 || b === 0x2e || b === 0x2f || b === 0x40 || b === 0x20;
}

/** The domain must end the host name. */
function domainEnds(s: string, i: number, d: string): boolean {
  const e = i + d.length < s.length ? s.charCodeAt(i + d.length) : -1;
  return e === -1 || !(isWordChar(e) || e === 0x2d);
}

/** Finds an OAST domain as a host suffix (`abc.oastify.com`) in a lower-case value. Linear. */
export function findOast(s: string): string | null {
  const m = OAST_SET.find(s, domainEnds, 0, hostBoundary);
  return m === null ? null : m.needle;
}

const oast: PartRule = {
  kind: 'part',
  id: '913120',
  name: 'scanner-oast-interaction-host',
  category: 'scanner',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: ['query', 'form', 'json', 'cookie', 'multipart', 'xml', 'body', 'header', 'path'] as readonly Location['kind'][],
  transforms: [['urlDecodeRepeat', 'lowercase']],
  needs: needsFrom(OAST_DOMAINS, '.'), // only a domain matches
  pure: true,
  match(input) {
    const d = findOast(input);
    return d === null ? null : 'OAST host ' + d;
  },
};

/** Probe path prefixes (segment-anchored, lower-case), from common scanner wordlists and CRS 913/930 data. */
export const PROBE_PREFIXES: readonly string[] = [
  '/.env', '/.git/', '/.git', '/.svn/', '/.hg/', '/.bzr/', '/.ds_store', '/.htaccess', '/.htpasswd', '/.aws/',
  '/.ssh/', '/.vscode/', '/.idea/', '/wp-admin', '/wp-login.php', '/wp-config', '/xmlrpc.php', '/wp-content/plugins/',
  '/phpmyadmin', '/pma/', '/myadmin', '/adminer', '/server-status', '/server-info', '/actuator/env',
  '/actuator/heapdump', '/actuator/gateway', '/actuator/jolokia', '/jolokia', '/web-inf/', '/meta-inf/',
  '/manager/html', '/jmx-console', '/cgi-bin/', '/vendor/phpunit', '/solr/admin', '/hnap1', '/boaform',
  '/console/', '/_ignition/', '/telescope/', '/config.php', '/phpinfo.php', '/info.php', '/shell.php',
  '/owa/auth', '/.well-known/security.txt~', '/debug/pprof', '/elmah.axd', '/trace.axd', '/web.config',
];

/** Backup / dump file suffixes probed by scanners. */
export const PROBE_SUFFIXES: readonly string[] = ['.bak', '.old', '.orig', '.swp', '.sql', '.sql.gz', '.tar.gz', '.zip', '.tgz', '.7z', '.rar', '~', '.save', '.backup', '.dump'];

/** Position of each probe prefix in {@link PROBE_PREFIXES} (the report names the first listed match). */
const PROBE_RANK: ReadonlyMap<string, number> = new Map(PROBE_PREFIXES.map((p, i) => [p, i]));

/** {@link PROBE_PREFIXES} by their second character (the one after the leading `/`), ASCII codes. */
const PREFIXES_BY_SECOND: readonly (readonly string[])[] = (() => {
  const t: string[][] = Array.from({ length: 128 }, () => []);
  for (const pre of PROBE_PREFIXES) t[pre.charCodeAt(1)]!.push(pre);
  return t;
})();

/** {@link PROBE_SUFFIXES} by their last character, ASCII codes. */
const SUFFIXES_BY_LAST: readonly (readonly string[])[] = (() => {
  const t: string[][] = Array.from({ length: 128 }, () => []);
  for (const suf of PROBE_SUFFIXES) t[suf.charCodeAt(suf.length - 1)]!.push(suf);
  return t;
})();

/** Scratch bit set (128 bits) of the characters that follow a `/` in the path (reused: rules run one at a time). */
const AFTER_SLASH = new Uint32Array(4);

const probePath: RequestRule = {
  kind: 'request',
  id: '913200',
  name: 'scanner-probe-path',
  category: 'scanner',
  severity: 'notice',
  paranoia: 1,
  tags: TAGS,
  check(scope) {
    const raw = scope.ctx.path;
    if (raw.length > 2048) return [];
    const p = applyChain(raw, ['urlDecodeUni', 'lowercase']);
    // every prefix starts with `/`: only prefixes whose second character follows some `/` in the path can
    // occur (one pass instead of one `indexOf` per prefix)
    const after = AFTER_SLASH.fill(0);
    for (let k = p.indexOf('/'); k !== -1 && k + 1 < p.length; k = p.indexOf('/', k + 1)) {
      const d = p.charCodeAt(k + 1);
      if (d < 128) after[d >> 5]! |= 1 << (d & 31);
    }
    // in list order, as before: the first listed prefix that occurs is the one reported
    let best: string | undefined;
    let bestRank = PROBE_PREFIXES.length;
    for (let w = 0; w < 4; w++) {
      for (let bits = after[w]!; bits !== 0; bits &= bits - 1) {
        const d = (w << 5) | (31 - Math.clz32(bits & -bits));
        for (const pre of PREFIXES_BY_SECOND[d]!) {
          const i = p.indexOf(pre);
          if (i === -1) continue;
          const e = i + pre.length < p.length ? p.charCodeAt(i + pre.length) : -1;
          if (pre.endsWith('/') || e === -1 || e === 0x2f || e === 0x2e || e === 0x3f || e === 0x5f || e === 0x2d) {
            const rank = PROBE_RANK.get(pre)!;
            if (rank < bestRank) {
              best = pre;
              bestRank = rank;
            }
          }
        }
      }
    }
    if (best !== undefined) return [{ hit: `probe path ${best}`, loc: { kind: 'path' }, value: clip(raw, 256) }];
    const last = p.length > 0 ? p.charCodeAt(p.length - 1) : 0;
    if (last < 128) {
      // in list order among the suffixes sharing the last character (the longer `.sql.gz` is listed after `.sql`)
      for (const suf of SUFFIXES_BY_LAST[last]!) if (p.endsWith(suf) && p.length > suf.length + 1) return [{ hit: `backup file ${suf}`, loc: { kind: 'path' }, value: clip(raw, 256) }];
    }
    return [];
  },
};

/** The scanner rules (ids and levels in the module comment). */
export const rules: readonly (PartRule | RequestRule)[] = [userAgent, scannerHeaders, oast, probePath];
