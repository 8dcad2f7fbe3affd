/**
 * IP address parsing, canonical text, IPv6 prefix aggregation and CIDR sets.
 *
 * Hand-written scanners (no regular expressions): they run on hostile input (X-Forwarded-For, Forwarded),
 * so every function is linear in the input length and rejects anything longer than an address can be.
 *
 * Canonical text: IPv4 dotted quad without leading zeros; IPv6 in the RFC 5952 recommended form (lower
 * case, leading zeros dropped, the longest run of two or more zero groups compressed to `::`). An
 * IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, RFC 4291 §2.5.5.2) is the IPv4 client it stands for.
 */

/** A parsed address: IPv4 as an unsigned 32-bit number, IPv6 as a 128-bit bigint. */
export type ParsedIp = { readonly version: 4; readonly v4: number } | { readonly version: 6; readonly v6: bigint };

/** Longest textual IPv6 address with an embedded IPv4 (45) plus a zone id allowance. */
const MAX_IP_TEXT = 64;

function parseV4(s: string, start: number, end: number): number {
  // Returns the address as uint32, or -1. Strict dotted quad: 4 decimal parts 0–255, no leading zeros
  // (a leading zero is octal in some parsers: refusing it avoids ambiguity, as WHATWG and Go do).
  let parts = 0;
  let acc = 0;
  let digits = 0;
  let value = 0;
  for (let i = start; i <= end; i++) {
    const c = i === end ? 46 : s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || value > 255) return -1;
      acc = acc * 256 + value;
      parts++;
      if (parts > 4) return -1;
      digits = 0;
      value = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && value === 0) return -1;
      value = value * 10 + (c - 48);
      digits++;
      if (digits > 3) return -1;
    } else {
      return -1;
    }
  }
  return parts === 4 ? acc >>> 0 : -1;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function parseV6(s: string, start: number, end: number): bigint | undefined {
  const groups: number[] = [];
  let gap = -1;
  let i = start;
  if (end - start < 2) return undefined;
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return undefined;
    gap = 0;
    i += 2;
    if (i === end) return 0n;
  }
  while (i < end) {
    // one group: hex digits, or an embedded IPv4 at the end
    let j = i;
    let v = 0;
    while (j < end && j - i < 5) {
      const h = hexVal(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      j++;
    }
    if (j < end && s.charCodeAt(j) === 46) {
      const v4 = parseV4(s, i, end);
      if (v4 < 0 || groups.length > 6) return undefined;
      groups.push(v4 >>> 16, v4 & 0xffff);
      i = end;
      break;
    }
    if (j === i || j - i > 4) return undefined;
    groups.push(v);
    if (groups.length > 8) return undefined;
    if (j === end) {
      i = end;
      break;
    }
    if (s.charCodeAt(j) !== 58) return undefined;
    if (j + 1 < end && s.charCodeAt(j + 1) === 58) {
      if (gap !== -1) return undefined;
      gap = groups.length;
      i = j + 2;
      if (i === end) break;
    } else {
      i = j + 1;
      if (i === end) return undefined;
    }
  }
  let full: number[];
  if (gap === -1) {
    if (groups.length !== 8) return undefined;
    full = groups;
  } else {
    if (groups.length > 7) return undefined;
    full = groups.slice(0, gap);
    for (let k = groups.length; k < 8; k++) full.push(0);
    for (let k = gap; k < groups.length; k++) full.push(groups[k]!);
  }
  let out = 0n;
  for (let k = 0; k < 8; k++) out = (out << 16n) | BigInt(full[k]!);
  return out;
}

const V4_MAPPED_PREFIX = 0xffffn << 32n;
const V4_MAPPED_MASK = ~0xffffffffn & ((1n << 128n) - 1n);

/**
 * Parses an IPv4 or IPv6 address (no port, no brackets; an IPv6 zone id `%eth0` is ignored).
 * IPv4-mapped IPv6 addresses are returned as IPv4.
 * @returns the parsed address, or undefined when `s` is not an address (never throws).
 */
export function parseIp(s: string): ParsedIp | undefined {
  const len = s.length;
  if (len === 0 || len > MAX_IP_TEXT) return undefined;
  let colon = false;
  let end = len;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    if (c === 58) colon = true;
    else if (c === 37) {
      end = i;
      break;
    }
  }
  if (!colon) {
    if (end !== len) return undefined;
    const v4 = parseV4(s, 0, len);
    return v4 < 0 ? undefined : { version: 4, v4 };
  }
  const v6 = parseV6(s, 0, end);
  if (v6 === undefined) return undefined;
  if ((v6 & V4_MAPPED_MASK) === V4_MAPPED_PREFIX) return { version: 4, v4: Number(v6 & 0xffffffffn) };
  return { version: 6, v6 };
}

/** Dotted-quad text of an IPv4 address held as uint32. */
export function formatV4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** RFC 5952 text of a 128-bit IPv6 address. */
export function formatV6(n: bigint): string {
  const g: number[] = new Array(8);
  for (let k = 7; k >= 0; k--) {
    g[k] = Number(n & 0xffffn);
    n >>= 16n;
  }
  // longest run of >= 2 zero groups (first one on ties, RFC 5952 §4.2.3)
  let bestStart = -1;
  let bestLen = 1;
  for (let k = 0; k < 8; ) {
    if (g[k] !== 0) {
      k++;
      continue;
    }
    let e = k;
    while (e < 8 && g[e] === 0) e++;
    if (e - k > bestLen) {
      bestStart = k;
      bestLen = e - k;
    }
    k = e;
  }
  if (bestStart === -1) return g.map((x) => x.toString(16)).join(':');
  const head = g.slice(0, bestStart).map((x) => x.toString(16)).join(':');
  const tail = g.slice(bestStart + bestLen).map((x) => x.toString(16)).join(':');
  return `${head}::${tail}`;
}

/** Canonical text of a parsed address. */
export function formatIp(ip: ParsedIp): string {
  return ip.version === 4 ? formatV4(ip.v4) : formatV6(ip.v6);
}

/**
 * Canonical text of an address (see the module comment), e.g. `::FFFF:192.0.2.1` → `192.0.2.1`,
 * `2001:0db8:0:0:0:0:0:1` → `2001:db8::1`.
 * @returns undefined when `s` is not an address.
 */
export function canonicalIp(s: string): string | undefined {
  const p = parseIp(s);
  return p === undefined ? undefined : formatIp(p);
}

function v6Mask(bits: number): bigint {
  return bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(128 - bits);
}

/**
 * The key used for per-client limits and bans: an IPv4 address as is, an IPv6 address aggregated to its
 * prefix in CIDR form (`2001:db8:1:2:aa::1` with /64 → `2001:db8:1:2::/64`), because one IPv6 subscriber
 * usually holds a whole /64 (RFC 6177) and could otherwise rotate addresses freely. A /128 prefix keeps
 * the plain address.
 * @param ip - canonical or raw address text; returned unchanged when it does not parse.
 * @param ipv6PrefixLength - 16–128, default 64 (policy `clientIp.ipv6PrefixLength`).
 */
export function clientKey(ip: string, ipv6PrefixLength = 64): string {
  const p = parseIp(ip);
  if (p === undefined) return ip;
  return clientKeyOf(p, ipv6PrefixLength);
}

/** {@link clientKey} for an already parsed address. */
export function clientKeyOf(p: ParsedIp, ipv6PrefixLength = 64): string {
  if (p.version === 4) return formatV4(p.v4);
  if (ipv6PrefixLength >= 128) return formatV6(p.v6);
  return `${formatV6(p.v6 & v6Mask(ipv6PrefixLength))}/${ipv6PrefixLength}`;
}

/** A parsed CIDR block: network address (host bits cleared) and prefix length. */
export type ParsedCidr = { readonly version: 4; readonly v4: number; readonly bits: number } | { readonly version: 6; readonly v6: bigint; readonly bits: number };

/**
 * Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (a /32 or /128). Host bits are cleared
 * (`10.1.2.3/8` → `10.0.0.0/8`). An IPv4-mapped IPv6 block with prefix ≥ 96 becomes the IPv4 block.
 * @returns undefined when `s` is not a CIDR.
 */
export function parseCidr(s: string): ParsedCidr | undefined {
  const slash = s.indexOf('/');
  const ip = parseIp(slash === -1 ? s : s.slice(0, slash));
  if (ip === undefined) return undefined;
  let bits: number;
  if (slash === -1) bits = ip.version === 4 ? 32 : 128;
  else {
    const t = s.slice(slash + 1);
    if (t.length === 0 || t.length > 3) return undefined;
    bits = 0;
    for (let i = 0; i < t.length; i++) {
      const c = t.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
      bits = bits * 10 + (c - 48);
    }
    // a mapped address parsed as IPv4 but written with an IPv6 prefix length
    const written6 = s.indexOf(':') !== -1 && s.indexOf(':') < slash;
    if (ip.version === 4 && written6) {
      if (bits < 96 || bits > 128) return undefined;
      bits -= 96;
    }
    if (bits > (ip.version === 4 ? 32 : 128)) return undefined;
  }
  if (ip.version === 4) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    return { version: 4, v4: (ip.v4 & mask) >>> 0, bits };
  }
  return { version: 6, v6: ip.v6 & v6Mask(bits), bits };
}

/** Canonical text of a CIDR block, e.g. `10.0.0.0/8`. */
export function formatCidr(c: ParsedCidr): string {
  return c.version === 4 ? `${formatV4(c.v4)}/${c.bits}` : `${formatV6(c.v6)}/${c.bits}`;
}

/**
 * A set of IPv4/IPv6 addresses and CIDR blocks with fast membership tests, for allow/deny lists and
 * trusted proxies.
 *
 * Layout: one hash set of masked network numbers per distinct prefix length, so `has` costs one mask and
 * one hash lookup per distinct prefix length present (at most 33 for IPv4, 129 for IPv6; a few in
 * practice), independent of the number of entries. Memory: one number (IPv4) or bigint (IPv6) per entry.
 */
export class CidrSet {
  private readonly v4 = new Map<number, Set<number>>();
  private readonly v6 = new Map<number, Set<bigint>>();
  private v4Bits: number[] = [];
  private v6Bits: number[] = [];
  private readonly texts = new Set<string>();

  /** @param entries - addresses or CIDRs; invalid ones throw (see {@link CidrSet.add}). */
  constructor(entries: Iterable<string> = []) {
    for (const e of entries) this.add(e);
  }

  /** Number of distinct blocks. */
  get size(): number {
    return this.texts.size;
  }

  /**
   * Adds an address or CIDR block.
   * @throws {RangeError} when `cidr` is not an address or CIDR (configuration is validated before this).
   */
  add(cidr: string): this {
    const c = parseCidr(cidr);
    if (c === undefined) throw new RangeError(`not an IP address or CIDR: ${JSON.stringify(cidr.slice(0, 80))}`);
    const text = formatCidr(c);
    if (this.texts.has(text)) return this;
    this.texts.add(text);
    if (c.version === 4) {
      let s = this.v4.get(c.bits);
      if (!s) {
        s = new Set();
        this.v4.set(c.bits, s);
        this.v4Bits = [...this.v4.keys()].sort((a, b) => b - a);
      }
      s.add(c.v4);
    } else {
      let s = this.v6.get(c.bits);
      if (!s) {
        s = new Set();
        this.v6.set(c.bits, s);
        this.v6Bits = [...this.v6.keys()].sort((a, b) => b - a);
      }
      s.add(c.v6);
    }
    return this;
  }

  /** Removes a block added with the same network and prefix; true when it was present. */
  delete(cidr: string): boolean {
    const c = parseCidr(cidr);
    if (c === undefined) return false;
    const text = formatCidr(c);
    if (!this.texts.delete(text)) return false;
    if (c.version === 4) this.v4.get(c.bits)?.delete(c.v4);
    else this.v6.get(c.bits)?.delete(c.v6);
    return true;
  }

  /** Membership of an address given as text (any form {@link parseIp} accepts); false when it does not parse. */
  has(ip: string): boolean {
    if (this.texts.size === 0) return false;
    const p = parseIp(ip);
    return p !== undefined && this.hasParsed(p);
  }

  /** Membership of a parsed address. */
  hasParsed(p: ParsedIp): boolean {
    if (p.version === 4) {
      const bitsList = this.v4Bits;
      for (let i = 0; i < bitsList.length; i++) {
        const bits = bitsList[i]!;
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        if (this.v4.get(bits)!.has((p.v4 & mask) >>> 0)) return true;
      }
      return false;
    }
    const bitsList = this.v6Bits;
    for (let i = 0; i < bitsList.length; i++) {
      const bits = bitsList[i]!;
      if (this.v6.get(bits)!.has(p.v6 & v6Mask(bits))) return true;
    }
    return false;
  }

  /** The blocks in canonical CIDR text. */
  list(): string[] {
    return [...this.texts];
  }
}
