import type { IncomingHttpHeaders } from 'node:http';
import { CidrSet, clientKeyOf, formatIp, parseIp, type ParsedIp } from '../core/ip.ts';

/** The resolved client of one request. */
export interface ClientAddress {
  /** Canonical client IP (IPv4 dotted quad or RFC 5952 IPv6). */
  clientIp: string;
  /** Key for limits and bans: IPv4 as is, IPv6 aggregated to the configured prefix (`2001:db8:1:2::/64`). */
  clientKey: string;
  /** Canonical IP of the TCP peer. */
  peerIp: string;
}

/** Upper bound on forwarded hops examined per request: a hostile client cannot make us walk a huge list. */
const MAX_HOPS = 32;

/**
 * Strips an optional port and brackets from one forwarded hop: `1.2.3.4:80`, `[2001:db8::1]:443`,
 * `2001:db8::1`. Returns undefined for anything that is not an address (obfuscated ids such as `_hidden`,
 * `unknown`, garbage).
 */
function parseHop(raw: string): ParsedIp | undefined {
  let s = raw.trim();
  if (s.length === 0 || s.length > 64) return undefined;
  if (s.charCodeAt(0) === 34 /* " */) {
    if (s.length < 2 || s.charCodeAt(s.length - 1) !== 34) return undefined;
    s = s.slice(1, -1);
  }
  if (s.charCodeAt(0) === 91 /* [ */) {
    const close = s.indexOf(']');
    if (close === -1) return undefined;
    const rest = s.slice(close + 1);
    if (rest.length > 0 && !isPort(rest)) return undefined;
    return parseIp(s.slice(1, close));
  }
  const firstColon = s.indexOf(':');
  if (firstColon !== -1 && firstColon === s.lastIndexOf(':')) {
    // IPv4 with port
    if (!isPort(s.slice(firstColon))) return undefined;
    s = s.slice(0, firstColon);
  }
  return parseIp(s);
}

function isPort(s: string): boolean {
  // ":1234"
  if (s.length < 2 || s.length > 6 || s.charCodeAt(0) !== 58) return false;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function headerText(v: string | string[] | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

/**
 * The `for=` values of an RFC 7239 `Forwarded` header, in order (one per forwarded-element). Elements
 * without `for` yield `''` (treated as malformed). Linear scan; quoted strings honoured.
 */
export function forwardedFor(header: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = header.length;
  let current = '';
  while (i < n) {
    // parse one pair name=value
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
    const nameStart = i;
    while (i < n && header[i] !== '=' && header[i] !== ';' && header[i] !== ',') i++;
    const name = header.slice(nameStart, i).trim().toLowerCase();
    let value = '';
    if (i < n && header[i] === '=') {
      i++;
      if (i < n && header[i] === '"') {
        const start = i;
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\') i++;
          i++;
        }
        i++;
        value = header.slice(start, Math.min(i, n));
      } else {
        const start = i;
        while (i < n && header[i] !== ';' && header[i] !== ',') i++;
        value = header.slice(start, i).trim();
      }
    }
    if (name === 'for') current = value;
    while (i < n && header[i] !== ';' && header[i] !== ',') i++;
    if (i >= n || header[i] === ',') {
      out.push(current);
      current = '';
      if (out.length > MAX_HOPS * 4) break;
    }
    i++;
  }
  return out;
}

/**
 * Resolves the client of a request (the "right-most untrusted hop" rule, as in nginx `real_ip_recursive`
 * and OWASP's guidance on X-Forwarded-For):
 *
 * - the TCP peer is the client unless it is in `trusted`;
 * - when it is trusted, the hop list from `X-Forwarded-For` (or, when absent, the `for=` values of RFC 7239
 *   `Forwarded`) is walked from the right, skipping trusted hops; the first untrusted hop is the client;
 * - a malformed hop stops the walk and the last good (trusted) hop is used, so garbage injected by a client
 *   can never become the client IP; if every hop is trusted, the left-most one is the client.
 *
 * X-Forwarded-For is preferred over Forwarded because it is what most proxies append; a client behind a
 * proxy that only appends one of them could otherwise inject the other.
 *
 * @param peer - `socket.remoteAddress` (any textual form; IPv4-mapped IPv6 becomes IPv4).
 * @param headers - request headers (lower-case names).
 * @param trusted - trusted proxy CIDRs (policy `trustedProxies`).
 * @param ipv6PrefixLength - aggregation prefix for `clientKey` (policy `clientIp.ipv6PrefixLength`).
 */
export function resolveClient(peer: string | undefined, headers: IncomingHttpHeaders, trusted: CidrSet, ipv6PrefixLength: number, forwardedHeader: ForwardedHeader = 'x-forwarded-for'): ClientAddress {
  const peerParsed = parseIp(peer ?? '');
  if (peerParsed === undefined) {
    // no socket address (destroyed socket): keep the text so the request is still attributable
    const t = peer ?? 'unknown';
    return { clientIp: t, clientKey: t, peerIp: t };
  }
  const peerIp = formatIp(peerParsed);
  if (trusted.size === 0 || !trusted.hasParsed(peerParsed)) {
    return { clientIp: peerIp, clientKey: clientKeyOf(peerParsed, ipv6PrefixLength), peerIp };
  }
  return resolveForwarded(peerParsed, peerIp, headers, trusted, ipv6PrefixLength, forwardedHeader);
}

/** The header trusted proxies carry the client chain in (policy `clientIp.forwardedHeader`). */
export type ForwardedHeader = 'x-forwarded-for' | 'forwarded';

/**
 * The forwarded-header walk of {@link resolveClient} for a peer already known to be a trusted proxy
 * (the data plane caches the peer's parse and trust per connection and calls this directly). Only
 * `forwardedHeader` is read.
 */
export function resolveForwarded(peerParsed: ParsedIp, peerIp: string, headers: IncomingHttpHeaders, trusted: CidrSet, ipv6PrefixLength: number, forwardedHeader: ForwardedHeader = 'x-forwarded-for'): ClientAddress {
  let client = peerParsed;
  /** Canonical text of `client` when known without formatting (a plain dotted quad is already canonical). */
  let clientText: string | undefined = peerIp;
  const xff = forwardedHeader === 'x-forwarded-for' ? headerText(headers['x-forwarded-for']) : undefined;
  if (xff !== undefined) {
    // right to left over the hops without splitting: the same hops as `xff.slice(floor).split(',')`
    const floor = xff.length > MAX_HOPS * 64 ? xff.length - MAX_HOPS * 64 : 0;
    let end = xff.length;
    for (let n = 0; n < MAX_HOPS; n++) {
      const comma = end > floor ? xff.lastIndexOf(',', end - 1) : -1;
      const start = comma < floor ? floor : comma + 1;
      const hop = xff.slice(start, end);
      const h = parseHop(hop);
      if (h === undefined) break;
      client = h;
      clientText = h.version === 4 ? plainV4Text(hop) : undefined;
      if (!trusted.hasParsed(h)) break;
      if (comma < floor) break;
      end = comma;
    }
  } else if (forwardedHeader === 'forwarded') {
    const fwd = headerText(headers.forwarded);
    if (fwd !== undefined) {
      const hops = forwardedFor(fwd.length > MAX_HOPS * 128 ? fwd.slice(fwd.length - MAX_HOPS * 128) : fwd);
      const stop = Math.max(0, hops.length - MAX_HOPS);
      for (let i = hops.length - 1; i >= stop; i--) {
        const h = parseHop(hops[i]!);
        if (h === undefined) break;
        client = h;
        clientText = undefined;
        if (!trusted.hasParsed(h)) break;
      }
    }
  }
  const clientIp = clientText ?? formatIp(client);
  // an IPv4 client's key is its canonical text
  return { clientIp, clientKey: client.version === 4 ? clientIp : clientKeyOf(client, ipv6PrefixLength), peerIp };
}

/**
 * The hop itself when it is a bare dotted quad (optionally space-padded): {@link parseIp} accepts only the
 * canonical form of those (no leading zeros), so the text needs no formatting. Undefined otherwise (port,
 * brackets, quotes, IPv4-mapped IPv6).
 */
function plainV4Text(hop: string): string | undefined {
  let a = 0;
  let b = hop.length;
  while (a < b && isSpace(hop.charCodeAt(a))) a++;
  while (b > a && isSpace(hop.charCodeAt(b - 1))) b--;
  for (let i = a; i < b; i++) {
    const c = hop.charCodeAt(i);
    if (c !== 46 && (c < 48 || c > 57)) return undefined;
  }
  return a === 0 && b === hop.length ? hop : hop.slice(a, b);
}

/** The characters `String.prototype.trim` removes that can occur in a header value (SP, HTAB). */
function isSpace(c: number): boolean {
  return c === 32 || c === 9;
}
