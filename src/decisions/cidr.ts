import { isIP } from 'node:net';

/**
 * Minimal IP/CIDR helpers for range decisions and allow/deny lists: parse once, compare bytes.
 * (Hand-written parsers, no regular expressions on request data; O(length of the address).)
 */

/**
 * Parses an IPv4 or IPv6 address to its bytes (4 or 16). IPv4-mapped IPv6 (`::ffff:1.2.3.4`) yields the
 * IPv4 bytes so lists written in IPv4 also match; a zone id (`%eth0`) is ignored.
 * @returns undefined when `s` is not an IP address.
 */
export function parseIp(s: string): Uint8Array | undefined {
  const pct = s.indexOf('%');
  const a = pct === -1 ? s : s.slice(0, pct);
  const v = isIP(a);
  if (v === 4) return parseV4(a);
  if (v !== 6) return undefined;
  const b = parseV6(a);
  if (b === undefined) return undefined;
  let mapped = true;
  for (let i = 0; i < 10; i++) if (b[i] !== 0) mapped = false;
  if (mapped && b[10] === 0xff && b[11] === 0xff) return b.subarray(12);
  return b;
}

function parseV4(s: string): Uint8Array {
  const out = new Uint8Array(4);
  let part = 0;
  let val = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      out[part++] = val;
      val = 0;
    } else val = val * 10 + (c - 48);
  }
  out[part] = val;
  return out;
}

function parseV6(s: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  const dbl = s.indexOf('::');
  const headS = dbl === -1 ? s : s.slice(0, dbl);
  const tailS = dbl === -1 ? '' : s.slice(dbl + 2);
  const groups = (t: string): number[] | undefined => {
    if (t === '') return [];
    const out: number[] = [];
    const parts = t.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.includes('.')) {
        if (i !== parts.length - 1) return undefined;
        const v4 = parseV4(p);
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else out.push(parseInt(p, 16));
    }
    return out;
  };
  const head = groups(headS);
  const tail = groups(tailS);
  if (head === undefined || tail === undefined) return undefined;
  if (head.length + tail.length > 8) return undefined;
  const all = head.concat(new Array<number>(8 - head.length - tail.length).fill(0), tail);
  for (let i = 0; i < 8; i++) {
    out[i * 2] = (all[i]! >> 8) & 0xff;
    out[i * 2 + 1] = all[i]! & 0xff;
  }
  return out;
}

/** A parsed CIDR block. `bits` is the prefix length (32/128 for a single address). */
export interface Cidr {
  bytes: Uint8Array;
  bits: number;
  /** The CIDR as written. */
  text: string;
}

/**
 * Parses `10.0.0.0/8`, `2001:db8::/32` or a bare address (= /32 or /128).
 * @returns undefined when the text is not a valid address or prefix length.
 */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const bytes = parseIp(slash === -1 ? text : text.slice(0, slash));
  if (bytes === undefined) return undefined;
  const max = bytes.length * 8;
  let bits = max;
  if (slash !== -1) {
    const b = text.slice(slash + 1);
    if (b.length === 0 || b.length > 3) return undefined;
    bits = 0;
    for (let i = 0; i < b.length; i++) {
      const c = b.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
      bits = bits * 10 + c - 48;
    }
    // A v4-mapped v6 CIDR (::ffff:0:0/96 + n) keeps its IPv4 meaning.
    const mappedV6 = isIP(text.slice(0, slash)) === 6 && bytes.length === 4;
    if (mappedV6) bits -= 96;
    if (bits < 0 || bits > max) return undefined;
  }
  return { bytes, bits, text };
}

/** True when address bytes `ip` lie inside `c` (same family only). */
export function cidrContains(c: Cidr, ip: Uint8Array): boolean {
  if (c.bytes.length !== ip.length) return false;
  const full = c.bits >> 3;
  for (let i = 0; i < full; i++) if (c.bytes[i] !== ip[i]) return false;
  const rest = c.bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (c.bytes[full]! & mask) === (ip[full]! & mask);
}

/**
 * A list of CIDR blocks with a value each; lookups return the longest (most specific) matching prefix.
 * Linear in the number of blocks: meant for operator lists and range decisions (tens to thousands).
 */
export class CidrList<V> {
  private readonly items: { c: Cidr; v: V }[] = [];

  get size(): number {
    return this.items.length;
  }

  /** @returns false when `text` is not a valid CIDR (nothing added). */
  add(text: string, value: V): boolean {
    const c = parseCidr(text);
    if (c === undefined) return false;
    this.items.push({ c, v: value });
    return true;
  }

  /** Removes every block whose value satisfies `pred`; returns how many. */
  removeWhere(pred: (v: V) => boolean): number {
    let n = 0;
    for (let i = this.items.length - 1; i >= 0; i--) {
      if (pred(this.items[i]!.v)) {
        this.items.splice(i, 1);
        n++;
      }
    }
    return n;
  }

  /** Calls `fn` with every value whose block contains `ip` (no allocation; for the hot path). */
  forEachMatch(ip: Uint8Array, fn: (v: V) => void): void {
    const items = this.items;
    for (let i = 0; i < items.length; i++) if (cidrContains(items[i]!.c, ip)) fn(items[i]!.v);
  }

  /** Every value whose block contains `ip`. */
  *matchAll(ip: Uint8Array): Generator<V> {
    for (const it of this.items) if (cidrContains(it.c, ip)) yield it.v;
  }

  /** Every (prefix length, value) whose block contains `ip`. */
  *matchAllWithBits(ip: Uint8Array): Generator<{ bits: number; value: V }> {
    for (const it of this.items) if (cidrContains(it.c, ip)) yield { bits: it.c.bits, value: it.v };
  }

  /** The most specific block containing `ip`, or undefined. */
  longest(ip: Uint8Array): { bits: number; value: V } | undefined {
    let best: { bits: number; value: V } | undefined;
    for (const it of this.items) {
      if ((best === undefined || it.c.bits > best.bits) && cidrContains(it.c, ip)) best = { bits: it.c.bits, value: it.v };
    }
    return best;
  }
}
