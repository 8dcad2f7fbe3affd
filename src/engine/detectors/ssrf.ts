import type { Location } from '../../core/types.ts';
import type { PartRule, TransformName } from '../types.ts';
import { parseIp } from '../../core/ip.ts';
import { clip, isDigit, isWordChar, hexVal } from './lib/text.ts';

/**
 * Server-side request forgery (OWASP API Security Top 10 2023 API7, CWE-918; OWASP CRS 934110 cloud metadata).
 *
 * URLs in parameters are parsed by hand (attackers rely on parser differentials, so every candidate host of an
 * authority is checked: before and after `@`, `#`, `\`) and each host is classified: loopback, RFC 1918
 * private, CGNAT 100.64/10 (RFC 6598), link-local 169.254/16 and cloud metadata, `0.0.0.0/8`, IPv6 loopback,
 * ULA `fc00::/7` (AWS `fd00:ec2::254`), link-local `fe80::/10`, IPv4-mapped forms, `localhost` and its
 * variants, metadata host names, and wildcard-DNS names that resolve to an embedded IP (`nip.io`). IPv4 hosts
 * are read with the BSD `inet_aton` rules that URL fetchers inherit: 1–4 parts, each decimal, octal (`0177`)
 * or hex (`0x7f`), the last part filling the remaining bytes (`127.1`, `2130706433`).
 *
 * Rule ids (CRS range 934xxx):
 * - `934100` URL whose host is internal (loopback, private, link-local, metadata), PL1, critical — when the
 *   URL is the value (or the value is one token); a loopback URL in a browser-navigation parameter
 *   (`redirect_uri`, `return_to`) is exempt. `934101`: internal URLs inside prose, PL2, warning.
 * - `934110` URL with a scheme used to reach non-HTTP services (`gopher://`, `dict://`, `ldap://`, `tftp://`,
 *   `netdoc://`, `jar:`), PL1, critical.
 * - `934120` a value that is a bare internal host or IP (`127.0.0.1:6379`, `169.254.169.254`), PL2, error
 *   (bare private IPs are ordinary values in network-management APIs).
 * - `934130` URL with any other uncommon fetch scheme (`sftp://`, `ssh://`, `smb://`), PL2, warning.
 */

const TAGS = ['OWASP_CRS/ATTACK-SSRF', 'CWE-918', 'OWASP_API/API7'] as const;

/** Locations whose values are URL-like inputs (arguments, bodies, cookies). */
export const SSRF_TARGETS: readonly Location['kind'][] = ['query', 'form', 'json', 'cookie', 'multipart', 'xml', 'body'];

/** Percent-decoding, then NFKC as well (folds enclosed and full-width digits: `①②⑦.⓪.⓪.①` → `127.0.0.1`). */
const CHAINS: readonly (readonly TransformName[])[] = [['urlDecodeRepeat'], ['urlDecodeRepeat', 'unicodeNormalize']];

/**
 * Parses a host as IPv4 with `inet_aton` semantics. Returns the uint32 address, or -1 when `h` is not a
 * numeric host. A single part wider than 32 bits is reduced to its low 32 bits (some fetchers truncate
 * `0x41414141A9FEA9FE` that way; no legitimate host looks like that either).
 */
export function inetAton(h: string): number {
  if (h.length === 0 || h.length > 64) return -1;
  const parts = h.split('.');
  if (parts.length > 4) return -1;
  if (parts[parts.length - 1] === '' && parts.length > 1) parts.pop(); // trailing dot `127.0.0.1.`
  const vals: bigint[] = [];
  for (const p of parts) {
    if (p.length === 0) return -1;
    let v = 0n;
    if (p.length > 1 && p.charCodeAt(0) === 0x30 && (p.charCodeAt(1) | 0x20) === 0x78) {
      if (p.length === 2) return -1;
      for (let i = 2; i < p.length; i++) {
        const d = hexVal(p.charCodeAt(i));
        if (d === -1) return -1;
        v = v * 16n + BigInt(d);
      }
    } else if (p.length > 1 && p.charCodeAt(0) === 0x30) {
      for (let i = 1; i < p.length; i++) {
        const c = p.charCodeAt(i);
        if (c < 0x30 || c > 0x37) return -1;
        v = v * 8n + BigInt(c - 0x30);
      }
    } else {
      for (let i = 0; i < p.length; i++) {
        const c = p.charCodeAt(i);
        if (!isDigit(c)) return -1;
        v = v * 10n + BigInt(c - 0x30);
      }
    }
    vals.push(v);
  }
  const n = vals.length;
  if (n === 1) return Number(vals[0]! & 0xffffffffn);
  for (let i = 0; i < n - 1; i++) if (vals[i]! > 255n) return -1;
  const lastBits = BigInt(8 * (5 - n));
  if (vals[n - 1]! >= 1n << lastBits) return -1;
  let out = 0n;
  for (let i = 0; i < n - 1; i++) out |= vals[i]! << BigInt(8 * (3 - i));
  out |= vals[n - 1]!;
  return Number(out);
}

/** Classifies an IPv4 address (uint32): a label for internal ranges, or null for public addresses. */
export function internalV4(a: number): string | null {
  const o1 = a >>> 24;
  const o2 = (a >>> 16) & 0xff;
  if (o1 === 127) return 'loopback';
  if (o1 === 0) return 'this-network 0.0.0.0/8';
  if (o1 === 10) return 'private 10/8';
  if (o1 === 172 && o2 >= 16 && o2 <= 31) return 'private 172.16/12';
  if (o1 === 192 && o2 === 168) return 'private 192.168/16';
  if (o1 === 169 && o2 === 254) return 'link-local / cloud metadata';
  if (o1 === 100 && o2 >= 64 && o2 <= 127) return 'CGNAT 100.64/10';
  if (o1 === 192 && o2 === 0 && ((a >>> 8) & 0xff) === 0) return 'IETF 192.0.0/24';
  if (o1 === 198 && (o2 === 18 || o2 === 19)) return 'benchmark 198.18/15';
  if (o1 >= 224) return 'multicast/reserved';
  return null;
}

/** The IPv4 address carried in bits `shift`..`shift+31` of an IPv6 address. */
function v4At(v: bigint, shift: bigint): number {
  return Number((v >> shift) & 0xffffffffn);
}

/**
 * Classifies an IPv6 address (128-bit bigint). Transition formats that carry an IPv4 address are judged by that
 * address, because the host stack or a gateway on the path delivers them to it: IPv4-compatible `::a.b.c.d`,
 * SIIT `::ffff:0:a.b.c.d` (RFC 6145), NAT64 `64:ff9b::/96` and `64:ff9b:1::/48` (RFC 6052, 8215), 6to4
 * `2002:AABB:CCDD::/48` (RFC 3056) and Teredo `2001:0::/32`, whose client address is stored inverted (RFC 4380).
 */
function internalV6(v: bigint): string | null {
  if (v === 0n) return 'unspecified ::';
  if (v === 1n) return 'loopback ::1';
  const top16 = Number(v >> 112n);
  if ((top16 & 0xfe00) === 0xfc00) return 'unique-local fc00::/7';
  if ((top16 & 0xffc0) === 0xfe80) return 'link-local fe80::/10';
  if ((top16 & 0xffc0) === 0xfec0) return 'site-local fec0::/10';
  if ((top16 & 0xff00) === 0xff00) return 'multicast ff00::/8';
  if (v >> 64n === 0x0100000000000000n) return 'discard 100::/64';
  const hi96 = v >> 32n;
  if (hi96 === 0n || hi96 === 0xffff0000n || hi96 === 0x64ff9b0000000000000000n || v >> 80n === 0x64ff9b0001n) {
    const r = internalV4(v4At(v, 0n));
    return r === null ? null : 'IPv4-embedding IPv6, ' + r;
  }
  if (top16 === 0x2002) {
    const r = internalV4(v4At(v, 80n));
    return r === null ? null : '6to4 2002::/16, ' + r;
  }
  if (v >> 96n === 0x20010000n) {
    const r = internalV4(~v4At(v, 0n) >>> 0);
    return r === null ? null : 'Teredo 2001::/32, ' + r;
  }
  return null;
}

/** Host names that reach the local machine or a cloud metadata service. */
const INTERNAL_NAMES: ReadonlySet<string> = new Set([
  'localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback', 'metadata', 'metadata.google.internal',
  'metadata.goog', 'instance-data', 'instance-data.ec2.internal', 'kubernetes.default', 'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local', 'metadata.azure.com', 'metadata.platformequinix.com', 'broadcasthost',
  'metadata.tencentyun.com', 'metadata.packet.net',
]);

/**
 * Name suffixes reserved for private networks, never resolvable on the public Internet: `.localhost` (RFC 6761),
 * `.local` (mDNS, RFC 6762), `.internal` (ICANN 2024: GCP metadata, `host.docker.internal`, `*.ec2.internal`),
 * `.home.arpa` (RFC 8375) and `.localdomain`.
 */
const PRIVATE_SUFFIXES: readonly string[] = ['.localhost', '.local', '.internal', '.home.arpa', '.localdomain'];

/** Wildcard-DNS services whose names resolve to an embedded or loopback IP (DNS rebinding helpers). */
const WILDCARD_DNS: readonly string[] = [
  'nip.io', 'xip.io', 'sslip.io', 'localtest.me', 'lvh.me', 'vcap.me', 'lacolhost.com', 'localh.st', '127.0.0.1.nip.io',
  'burpcollaborator.net', 'oastify.com', 'interact.sh', 'oast.fun', 'oast.pro', 'oast.live', 'oast.site', 'oast.online', 'oast.me',
  'traefik.me', 'local.gd', 'localhost.direct', 'rbndr.us', '1u.ms',
];

/**
 * Folds what URL parsers ignore or map to `.` in a host (WHATWG URL with UTS 46): removes tab, LF and CR
 * (stripped from the whole URL), and the code points UTS 46 maps to nothing (soft hyphen U+00AD, U+034F,
 * Mongolian selectors U+180B–U+180F, zero-width U+200B–U+200D, U+2060, variation selectors U+FE00–U+FE0F,
 * U+FEFF); maps the other full stops (U+3002, U+FF0E, U+FF61) to `.`, also when they arrive as their UTF-8
 * bytes read as Latin-1 (`\u00e3\u0080\u0082`) or still percent-encoded (`%e3%80%82`): `169。254。169。254`
 * and `loc\u00adalhost` reach internal hosts through Node's URL parser. Linear; returns `h` itself when nothing
 * applies.
 */
export function foldHostChars(h: string): string {
  let out = '';
  let run = 0;
  const n = h.length;
  for (let i = 0; i < n; i++) {
    const c = h.charCodeAt(i);
    let skip = -1; // units consumed
    let rep = '';
    if (c === 0x09 || c === 0x0a || c === 0x0d || c === 0xad || c === 0x34f || (c >= 0x180b && c <= 0x180f) || (c >= 0x200b && c <= 0x200d) || c === 0x2060 || (c >= 0xfe00 && c <= 0xfe0f) || c === 0xfeff) skip = 1;
    else if (c === 0x3002 || c === 0xff0e || c === 0xff61) { skip = 1; rep = '.'; }
    else if ((c === 0xe3 || c === 0xef) && i + 2 < n) {
      const b = h.charCodeAt(i + 1);
      const d = h.charCodeAt(i + 2);
      if ((c === 0xe3 && b === 0x80 && d === 0x82) || (c === 0xef && ((b === 0xbc && d === 0x8e) || (b === 0xbd && d === 0xa1)))) { skip = 3; rep = '.'; }
    } else if (c === 0x25 && i + 8 < n && h.charCodeAt(i + 3) === 0x25 && h.charCodeAt(i + 6) === 0x25) {
      const t = h.slice(i, i + 9).toLowerCase();
      if (t === '%e3%80%82' || t === '%ef%bc%8e' || t === '%ef%bd%a1') { skip = 9; rep = '.'; }
    }
    if (skip === -1) continue;
    out += h.slice(run, i) + rep;
    i += skip - 1;
    run = i + 1;
  }
  return run === 0 ? h : out + h.slice(run);
}

/**
 * True when the leading labels of a host name are an internal IPv4 address written out, as dotted labels
 * (`10.0.0.1.example.com`) or dash-separated inside one label (`app-127-0-0-1.example.com`): the scheme of
 * wildcard-DNS and rebinding services (nip.io, sslip.io, traefik.me and their self-hosted clones) whose names
 * resolve to the address they spell. Linear.
 */
function embeddedInternalV4(h: string): string | null {
  // dotted: four consecutive decimal labels anywhere, followed by a label that is not a number (a real name
  // ends in one; `10.0.0.1.2` is a version, not a name): each window of four is checked
  let window = 0; // last four numeric labels, one byte each
  let run = 0; // consecutive numeric labels so far
  const hits: number[] = [];
  let i = 0;
  while (i <= h.length) {
    let j = i;
    let v = 0;
    while (j < h.length && j - i < 4 && isDigit(h.charCodeAt(j))) v = v * 10 + h.charCodeAt(j++) - 0x30;
    const end = h.indexOf('.', i);
    const labelEnd = end === -1 ? h.length : end;
    if (j === labelEnd && j > i && j - i <= 3 && v <= 255) {
      window = ((window << 8) | v) >>> 0;
      run++;
      if (run >= 4) hits.push(window);
    } else {
      // a non-numeric label: windows seen before it are names spelling an address
      for (const w of hits) {
        const r = internalV4(w);
        if (r !== null) return r;
      }
      hits.length = 0;
      run = 0;
    }
    if (end === -1) break;
    i = end + 1;
  }
  // dashed: `d-d-d-d` bounded by the label's start/end or a dash, within the first label
  const dot = h.indexOf('.');
  const label = dot === -1 ? '' : h.slice(0, dot);
  for (let s = 0; s < label.length; s++) {
    if (!isDigit(label.charCodeAt(s)) || (s > 0 && label.charCodeAt(s - 1) !== 0x2d)) continue;
    let j = s;
    let a = 0;
    let parts = 0;
    while (parts < 4) {
      let v = 0;
      const st = j;
      while (j < label.length && j - st < 4 && isDigit(label.charCodeAt(j))) v = v * 10 + label.charCodeAt(j++) - 0x30;
      if (j === st || j - st > 3 || v > 255) break;
      a = a * 256 + v;
      parts++;
      if (parts < 4) {
        if (label.charCodeAt(j) !== 0x2d) break;
        j++;
      }
    }
    if (parts === 4 && (j === label.length || label.charCodeAt(j) === 0x2d)) {
      const r = internalV4(a >>> 0);
      if (r !== null) return r;
    }
    // the next candidate starts after a dash: skip this digit run (keeps the scan linear)
    while (s + 1 < label.length && isDigit(label.charCodeAt(s + 1))) s++;
  }
  return null;
}

/** Classifies one host candidate (no port, brackets removed or not). Returns a label or null. */
export function classifyHost(raw: string): string | null {
  let h = foldHostChars(raw.trim()).toLowerCase();
  if (h.length === 0 || h.length > 255) return null;
  if (h.charCodeAt(0) === 0x5b) {
    const close = h.indexOf(']');
    h = close === -1 ? h.slice(1) : h.slice(1, close);
    const p = parseIp(h);
    if (p === undefined) return null;
    return p.version === 4 ? internalV4(p.v4) : internalV6(p.v6);
  }
  // strip a port
  const colon = h.lastIndexOf(':');
  if (colon !== -1 && h.indexOf(':') === colon) h = h.slice(0, colon);
  else if (colon !== -1) {
    const p = parseIp(h);
    if (p !== undefined) return p.version === 4 ? internalV4(p.v4) : internalV6(p.v6);
    return null;
  }
  while (h.endsWith('.') && h.length > 1) h = h.slice(0, -1);
  if (h.length === 0) return null;
  const v4 = inetAton(h);
  if (v4 !== -1) return internalV4(v4);
  if (INTERNAL_NAMES.has(h)) return 'internal name ' + h;
  for (const suf of PRIVATE_SUFFIXES) if (h.endsWith(suf)) return 'private-use name ' + h;
  for (const w of WILDCARD_DNS) if (h === w || h.endsWith('.' + w)) return 'wildcard DNS ' + w;
  const e = embeddedInternalV4(h);
  return e === null ? null : 'name spelling an internal address, ' + e;
}

/** End of an authority: `/`, `?`, whitespace, quotes, `<`, `>` (but not `\`, `#`, `@`: those are checked). */
function authorityEnd(c: number): boolean {
  return c === 0x2f || c === 0x3f || c <= 0x20 || c === 0x22 || c === 0x27 || c === 0x3c || c === 0x3e || c === 0x2c || c === 0x7d || c === 0x29;
}

/**
 * Checks the authority that starts at `i` (just after `//`): every host candidate separated by `@`, `#`, `\\`
 * (parsers disagree on which one wins). WHATWG parsers delete tab, LF and CR anywhere in a URL
 * (`http://loc%09alhost/`), so when one of them cuts the authority short the candidates are checked both up to
 * it and with it removed. Returns a finding or null.
 */
function checkAuthority(s: string, i: number): string | null {
  const n = s.length;
  // skip extra slashes / backslashes (`http:\\\\host`, `file://\\/\\/`)
  while (i < n && (s.charCodeAt(i) === 0x2f || s.charCodeAt(i) === 0x5c)) i++;
  let end = i;
  let cut = -1;
  let bracket = false;
  while (end < n && end - i < 260) {
    const c = s.charCodeAt(end);
    if (c === 0x5b) bracket = true;
    if (c === 0x5d) bracket = false;
    if (c === 0x09 || c === 0x0a || c === 0x0d) {
      if (cut === -1) cut = end;
    } else if (!bracket && authorityEnd(c)) break;
    end++;
  }
  if (cut === -1) return checkCandidates(s.slice(i, end));
  return checkCandidates(s.slice(i, cut)) ?? checkCandidates(s.slice(i, end));
}

/** Classifies each piece of an authority between `@`, `#` and `\\`; returns the first internal one or null. */
function checkCandidates(auth: string): string | null {
  let start = 0;
  for (let k = 0; k <= auth.length; k++) {
    const c = k < auth.length ? auth.charCodeAt(k) : 0x40;
    if (c === 0x40 || c === 0x23 || c === 0x5c) {
      let piece = auth.slice(start, k);
      // `!` and other sub-delims some parsers drop (`127.0.0.1!`)
      while (piece.length && (piece.endsWith('!') || piece.endsWith(';') || piece.endsWith('&'))) piece = piece.slice(0, -1);
      // userinfo `user:pass` pieces before `@` are candidates too (`127.1.1.1:80\\@127.2.2.2`)
      if (piece.length) {
        const label = classifyHost(piece);
        if (label !== null) return label + ' (' + clip(piece, 64) + ')';
      }
      start = k + 1;
    }
  }
  return null;
}

/**
 * WHATWG "special" schemes: their parser reads an authority even without slashes (`http:127.0.0.1/`,
 * `https:localhost:8443`), and whatever mix of `/` and `\\` follows the colon.
 */
const SPECIAL_SCHEMES: readonly string[] = ['http', 'https', 'ws', 'wss', 'ftp'];

/** Schemes that make a fetcher speak to non-HTTP services (SSRF amplifiers, CRS 934110 / PortSwigger). */
const DANGEROUS_SCHEMES: readonly string[] = ['gopher', 'dict', 'ldap', 'ldaps', 'ldapi', 'tftp', 'netdoc', 'jar', 'php', 'expect', 'file'];
/** Less common fetch schemes, suspicious in a URL parameter but seen in integrations (paranoia 2). */
const ODD_SCHEMES: readonly string[] = ['sftp', 'ssh', 'smb', 'telnet', 'rtsp', 'ftp', 'ws', 'wss', 'redis', 'mysql', 'postgres', 'mongodb', 'jdbc', 'svn', 'git', 'ssh2'];

/** Reads the scheme that ends at index `colon` (exclusive): letters, digits, `+`, `-`, `.` back to a boundary. */
function schemeBefore(s: string, colon: number): string {
  let b = colon - 1;
  const stop = Math.max(-1, colon - 18); // schemes are short: bound the walk back (linear overall)
  while (b > stop) {
    const c = s.charCodeAt(b);
    if (isWordChar(c) || c === 0x2b || c === 0x2d || c === 0x2e) b--;
    else break;
  }
  return s.slice(b + 1, colon).toLowerCase();
}

/** Facts about the whole value computed once per scan (keeps {@link urlIsValue} O(1)). */
interface ValueShape {
  /** Index of the first character after leading spaces, quotes and `<`. */
  lead: number;
  /** True when the value has no whitespace (a single token). */
  singleToken: boolean;
}

function shapeOf(s: string): ValueShape {
  let lead = 0;
  while (lead < s.length && (s.charCodeAt(lead) === 0x20 || s.charCodeAt(lead) === 0x22 || s.charCodeAt(lead) === 0x27 || s.charCodeAt(lead) === 0x3c)) lead++;
  let singleToken = true;
  for (let k = lead; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
      singleToken = false;
      break;
    }
  }
  return { lead, singleToken };
}

/**
 * True when a URL starting at `schemeStart` is the value itself, a token of a single-token value, or a value
 * inside structured text (right after a quote, `=`, `:`, `(`, `[`, `,`, `<`): what an application would fetch.
 * A URL inside prose ("test @ http://localhost:3000") is left to paranoia 2.
 */
function urlIsValue(s: string, schemeStart: number, shape: ValueShape): boolean {
  if (schemeStart === shape.lead || shape.singleToken) return true;
  let b = schemeStart - 1;
  while (b >= 0 && s.charCodeAt(b) === 0x20) b--;
  const pb = b < 0 ? -1 : s.charCodeAt(b);
  return pb === 0x22 || pb === 0x27 || pb === 0x3d || pb === 0x3a || pb === 0x28 || pb === 0x5b || pb === 0x2c || pb === 0x3c;
}

/**
 * Scans a value for URLs (`scheme://` and scheme-relative `//host` at the start) with an internal host.
 * @param anywhere - also report URLs embedded in prose (paranoia 2); otherwise the URL must be the value.
 * @param navigation - the value is a browser-navigation parameter (see {@link isNavigationParam}): loopback
 *   targets are skipped. Inside structured text the key that labels each URL (`"origin":"http://…"`) decides too.
 */
export function findInternalUrl(s: string, anywhere = false, navigation = false): string | null {
  const n = s.length;
  // scheme-relative `//host/...` or `\\host` at the start of the value
  let i0 = 0;
  while (i0 < n && s.charCodeAt(i0) === 0x20) i0++;
  if ((s.startsWith('//', i0) || s.startsWith('\\\\', i0)) && i0 + 2 < n) {
    const r = checkAuthority(s, i0 + 2);
    if (r !== null && !(navigation && isLoopback(r))) return r;
  }
  let lastAuthEnd = -1;
  const shape = anywhere ? undefined : shapeOf(s);
  for (let k = s.indexOf(':'); k !== -1; k = s.indexOf(':', k + 1)) {
    const a = s.charCodeAt(k + 1);
    const slash = a === 0x2f || a === 0x5c;
    if (!slash && !(isWordChar(a) || a === 0x5b)) continue;
    if (k < lastAuthEnd) continue; // inside an authority already checked
    const scheme = schemeBefore(s, k);
    if (scheme.length === 0 || scheme.length > 16) continue;
    const start = k - scheme.length;
    if (!slash && (!SPECIAL_SCHEMES.includes(scheme) || !tokenStart(s, start) || portLike(s, k + 1))) continue;
    if (shape !== undefined && !urlIsValue(s, start, shape)) continue;
    lastAuthEnd = k + 2;
    const r = checkAuthority(s, k + 1);
    if (r === null) continue;
    if (isLoopback(r) && (navigation || isNavigationParam(keyBefore(s, start)))) continue;
    return scheme + ': ' + r;
  }
  return null;
}

/**
 * True when the text at `i` is a bare number not followed by `.`: `http:80` is a port mapping in service
 * configurations far more often than the host `0.0.0.80`, so slash-less URLs need a dotted or named host.
 */
export function portLike(s: string, i: number): boolean {
  let j = i;
  while (j < s.length && j - i < 12 && isDigit(s.charCodeAt(j))) j++;
  return j > i && s.charCodeAt(j) !== 0x2e && !isWordChar(s.charCodeAt(j));
}

/** True when index `i` starts a token: the value's start, or after whitespace, a quote, `=`, `(`, `[` or `,`. */
function tokenStart(s: string, i: number): boolean {
  const b = i === 0 ? -1 : s.charCodeAt(i - 1);
  return b === -1 || b <= 0x20 || b === 0x22 || b === 0x27 || b === 0x3d || b === 0x28 || b === 0x5b || b === 0x2c;
}

/** True for a finding about the user's own machine (loopback address or `localhost` name). */
function isLoopback(finding: string): boolean {
  return finding.indexOf('loopback') !== -1 || finding.indexOf('localhost') !== -1;
}

/**
 * The key that labels a value starting at `i` in JSON-like or form-like text (`"origin":"…` / `origin=…`), or
 * undefined. Bounded walk back (64 units).
 */
function keyBefore(s: string, i: number): string | undefined {
  let b = i - 1;
  const stop = Math.max(-1, i - 64);
  while (b > stop && (s.charCodeAt(b) === 0x20 || s.charCodeAt(b) === 0x22 || s.charCodeAt(b) === 0x27)) b--;
  const sep = b > stop ? s.charCodeAt(b) : -1;
  if (sep !== 0x3a && sep !== 0x3d) return undefined;
  b--;
  while (b > stop && (s.charCodeAt(b) === 0x20 || s.charCodeAt(b) === 0x22 || s.charCodeAt(b) === 0x27)) b--;
  const end = b + 1;
  while (b > stop && (isWordChar(s.charCodeAt(b)) || s.charCodeAt(b) === 0x2d)) b--;
  return end > b + 1 ? s.slice(b + 1, end) : undefined;
}

/** Scans for `scheme:` of a dangerous or odd list; returns the scheme or null. */
function findScheme(s: string, list: readonly string[]): string | null {
  let from = 0;
  for (;;) {
    const k = s.indexOf(':', from);
    if (k === -1) return null;
    from = k + 1;
    const scheme = schemeBefore(s, k);
    if (scheme.length < 2) continue;
    if (!list.includes(scheme)) continue;
    const a = s.charCodeAt(k + 1);
    // `jar:` is followed by another URL; the others by `//`
    if (scheme === 'jar' ? (s.startsWith('http', k + 1) || s.startsWith('file', k + 1)) : (a === 0x2f || a === 0x5c)) {
      if (scheme === 'file' || scheme === 'php' || scheme === 'expect') return null; // LFI module reports these
      return scheme;
    }
  }
}

const internalUrl: PartRule = {
  kind: 'part',
  id: '934100',
  name: 'ssrf-internal-address-url',
  category: 'ssrf',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: SSRF_TARGETS,
  transforms: CHAINS,
  needs: '/\\:', // the first guard of match
  match(input, part) {
    if (input.indexOf('/') === -1 && input.indexOf('\\') === -1 && input.indexOf(':') === -1) return null;
    // A browser-navigated URL (OAuth `redirect_uri`, `return_to`, `post_logout_redirect_uri`, a WebAuthn
    // `origin`) to the user's own machine is a development setup, not a server-side fetch; other internal targets
    // still count.
    return findInternalUrl(input, false, isNavigationParam(part.loc.name));
  },
};

/**
 * Parameter names whose URL a browser navigates to (redirect targets), lower-cased substring match: a loopback
 * target there is a developer's local setup (OAuth clients register `http://localhost:3000/callback`).
 */
const NAVIGATION_PARAMS: readonly string[] = ['redirect', 'return_to', 'returnto', 'returnurl', 'return_url', 'logout', 'login_uri', 'origin', 'callback_url_browser'];

function isNavigationParam(name: string | undefined): boolean {
  if (name === undefined) return false;
  const n = name.toLowerCase();
  for (const p of NAVIGATION_PARAMS) if (n.indexOf(p) !== -1) return true;
  return false;
}

const internalUrlInText: PartRule = {
  kind: 'part',
  id: '934101',
  name: 'ssrf-internal-address-url-in-text',
  category: 'ssrf',
  severity: 'warning',
  paranoia: 2,
  tags: TAGS,
  targets: SSRF_TARGETS,
  transforms: CHAINS,
  needs: '/\\:', // the first guard of match
  match(input) {
    if (input.indexOf('/') === -1 && input.indexOf('\\') === -1 && input.indexOf(':') === -1) return null;
    return findInternalUrl(input, true);
  },
};

const scheme: PartRule = {
  kind: 'part',
  id: '934110',
  name: 'ssrf-dangerous-scheme',
  category: 'ssrf',
  severity: 'critical',
  paranoia: 1,
  tags: TAGS,
  targets: SSRF_TARGETS,
  transforms: CHAINS,
  needs: ':', // the first guard of match
  match(input) {
    if (input.indexOf(':') === -1) return null;
    const sch = findScheme(input, DANGEROUS_SCHEMES);
    return sch === null ? null : 'scheme ' + sch + '://';
  },
};

const bareHost: PartRule = {
  kind: 'part',
  id: '934120',
  name: 'ssrf-bare-internal-host',
  category: 'ssrf',
  severity: 'error',
  paranoia: 2,
  tags: TAGS,
  targets: SSRF_TARGETS,
  transforms: [['urlDecodeRepeat', 'trim']],
  match(input) {
    if (input.length === 0 || input.length > 300) return null;
    const slash = input.indexOf('/');
    const host = slash === -1 ? input : input.slice(0, slash);
    if (host.indexOf(' ') !== -1) return null;
    const label = classifyHost(host);
    return label === null ? null : label;
  },
};

const oddScheme: PartRule = {
  kind: 'part',
  id: '934130',
  name: 'ssrf-uncommon-scheme',
  category: 'ssrf',
  severity: 'warning',
  paranoia: 2,
  tags: TAGS,
  targets: SSRF_TARGETS,
  transforms: CHAINS,
  needs: ':', // the first guard of match
  match(input) {
    if (input.indexOf(':') === -1) return null;
    const sch = findScheme(input, ODD_SCHEMES);
    return sch === null ? null : 'scheme ' + sch + '://';
  },
};

/** The SSRF rules (ids and levels in the module comment). */
export const rules: readonly PartRule[] = [internalUrl, internalUrlInText, scheme, bareHost, oddScheme];
