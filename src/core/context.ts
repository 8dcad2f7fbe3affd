import type { IncomingHttpHeaders } from 'node:http';
import type { Decision, ResponseInfo, Signal, Verdict } from './types.ts';
import { flatCopy } from './strings.ts';

/** The first bytes of a request body that the pipeline inspects. */
export interface BodyPrefix {
  /** Up to `body.inspectLimitBytes` bytes of the body (raw, not decoded). */
  bytes: Buffer;
  /** True when the body is longer than `bytes` (only the prefix is inspected). */
  truncated: boolean;
  /** Declared Content-Length in bytes, or undefined for chunked bodies. */
  declaredLength?: number;
}

/** Geo and network facts about the client, filled by the GeoIP stage when a database is configured. */
export interface ClientGeo {
  /** ISO 3166-1 alpha-2 country code, upper case. */
  country?: string;
  asn?: number;
  asnOrg?: string;
  /** True when the ASN belongs to a hosting / cloud provider. */
  hosting?: boolean;
  lat?: number;
  lon?: number;
}

/**
 * A typed slot of the per-request scratch space ({@link RequestContext.scratch}) holding a `T`. Created once
 * per purpose, at module load, with {@link scratchKey}: a slot is an array index, so a lookup costs no hashing
 * and a request's scratch space is one small array instead of a growing map.
 */
export interface ScratchKey<T> {
  readonly slot: number;
  /** Unique name, e.g. `behavior.ua` (diagnostics). */
  readonly name: string;
  /** Type carrier only (never set). */
  readonly _type?: (v: T) => T;
}

const scratchNames: string[] = [];

/**
 * Registers a scratch slot. Call at module load (a bounded set of keys: every request's scratch array has one
 * element per key).
 * @throws {Error} when `name` is already registered (two owners of one slot would overwrite each other).
 */
export function scratchKey<T>(name: string): ScratchKey<T> {
  if (scratchNames.includes(name)) throw new Error(`scratch key ${name} is already registered`);
  scratchNames.push(name);
  return { slot: scratchNames.length - 1, name };
}

/** Marks a slot holding `undefined` (set, as opposed to never set). */
const UNDEFINED = Symbol('undefined');

/** The client IP's bytes, parsed once per request (allow/deny lists, range decisions). */
export const SCRATCH_IP_BYTES = scratchKey<Uint8Array>('ip.bytes');

/** One request's {@link ScratchKey} values: an array indexed by slot. */
export class ScratchSpace {
  private readonly values: unknown[] = new Array(scratchNames.length);

  /** The value stored under `key`, or undefined when none (or undefined) was stored. */
  get<T>(key: ScratchKey<T>): T | undefined {
    const v = this.values[key.slot];
    return v === UNDEFINED ? undefined : (v as T | undefined);
  }

  /** True when a value (possibly undefined) was stored under `key`. */
  has<T>(key: ScratchKey<T>): boolean {
    return this.values[key.slot] !== undefined;
  }

  /** Stores `value` under `key`. */
  set<T>(key: ScratchKey<T>, value: T): void {
    this.values[key.slot] = value === undefined ? UNDEFINED : value;
  }

  /** Forgets every value (benchmarks that reuse one context). */
  clear(): void {
    this.values.fill(undefined);
  }
}

/**
 * The origin-form (`/path?query`) of a request-target to send upstream (RFC 9112 §3.2): origin-form as is;
 * absolute-form (`http://host/path?q`) reduced to its path and query (a reverse proxy must accept it,
 * §3.2.2); `*` and authority-form are not forwardable (undefined → 400). Percent-encoding is preserved.
 */
export function originForm(target: string): string | undefined {
  if (target.charCodeAt(0) === 47 /* / */) return target;
  const scheme = target.indexOf('://');
  if (scheme <= 0 || scheme > 5) return undefined;
  const lower = target.slice(0, scheme).toLowerCase();
  if (lower !== 'http' && lower !== 'https') return undefined;
  const rest = scheme + 3;
  let i = rest;
  while (i < target.length && target[i] !== '/' && target[i] !== '?') i++;
  if (i === rest) return undefined;
  if (i === target.length) return '/';
  return target[i] === '?' ? '/' + target.slice(i) : target.slice(i);
}

/**
 * Everything the pipeline knows about one request. Built once by the data plane (or the middleware / ingest
 * front ends) and passed through every stage; detectors read it and add signals.
 *
 * Field values come from the wire: `target`, `path` and `rawQuery` are the raw request-target and its parts,
 * still percent-encoded. Detectors must treat every string here as hostile.
 */
export class RequestContext {
  /** Request id (also sent upstream as `X-Request-Id` when absent). */
  readonly id: string;
  /** Start time, ms since epoch. */
  readonly startedAt: number;
  /** Start time from `performance.now()`, ms, for latency measurement. */
  readonly startedHr: number;
  /** Client IP after trusted-proxy resolution, canonical text (IPv4 dotted quad or compressed IPv6). */
  readonly clientIp: string;
  /** Key used for per-IP limits and bans: the IPv4 address, or the IPv6 prefix in CIDR form (default /64). */
  readonly clientKey: string;
  /** IP of the TCP peer (a proxy when behind one). */
  readonly peerIp: string;
  readonly method: string;
  /** Raw request-target as received (origin-form, or absolute-form for proxies). */
  readonly target: string;
  /** Path of the request-target in origin-form (an absolute-form target's scheme and authority removed), before `?`, still percent-encoded. */
  readonly path: string;
  /** Raw query string without the `?` (empty when absent), still percent-encoded. */
  readonly rawQuery: string;
  /** Node's parsed headers (lower-cased names; duplicates joined as Node does). */
  readonly headers: IncomingHttpHeaders;
  /** Raw header name/value list in wire order (`[name0, value0, name1, value1, …]`). */
  readonly rawHeaders: readonly string[];
  /** HTTP version, e.g. `1.1`. */
  readonly httpVersion: string;

  /** Templated route from API discovery, e.g. `/api/users/{id}`; undefined until a discovery stage sets it. */
  route?: string;
  /** API key extracted by the configured identity extractors. */
  apiKey?: string;
  /** User identity (e.g. JWT `sub`, login username) extracted by the configured identity extractors. */
  user?: string;
  /**
   * True when `user` was asserted by a trusted peer (`identity.userHeader` from a trusted proxy); false for a
   * claim the client could forge (an unverified JWT `sub`). See {@link RequestContext.userKey}.
   */
  userVerified = false;
  /**
   * True when the API key (or, without one, the unverified user) was accepted by the upstream (a 2xx/3xx answer
   * to a request where it was the only credential header, on a route that enforces its kind of credential:
   * declared in `identity.authenticatedRoutes` or answered 401 for that kind before; and no 401 to it alone since;
   * see `AcceptedIdentities` in `src/dataplane/identity.ts`) on an earlier request: it names a real account, so
   * per-identity counters may be kept under it. Behaviour detectors key by the client IP otherwise: a fresh
   * random API key or JWT `sub` on every request (or one sent once to a public route, which answers 200 to any
   * key, or beside a valid token) would make every request a new identity.
   */
  identityAccepted = false;

  /**
   * The key per-user state (rate limits, counters, risk) is kept under: the user when verified, else
   * `user@clientKey`. A forgeable claim only groups one client's requests and is never banned as a user:
   * otherwise a forged `sub` would let anyone exhaust or ban another user's quota from elsewhere. Undefined
   * without a user.
   */
  userKey(): string | undefined {
    const u = this.user;
    if (u === undefined || u === '') return undefined;
    return this.userVerified ? u : u + '@' + this.clientKey;
  }
  /** Client fingerprint (hash of User-Agent, header names and order, Accept headers). */
  fingerprint?: string;
  geo?: ClientGeo;
  /** True when the client or API key is on the allow list: detection is skipped, counting is not. */
  allowListed = false;
  /** Request body prefix, once read (only when some detector needs the body). */
  body?: BodyPrefix;
  /** Signals emitted so far, in pipeline order. */
  readonly signals: Signal[] = [];
  /** Decision that matched this client before detection (ban/throttle), if any. */
  matchedDecision?: Decision;
  verdict?: Verdict;
  response?: ResponseInfo;
  /** Set by a detector that needs the upstream response body prefix in the response phase (bytes). */
  wantResponseBody = 0;
  /**
   * Headers the gateway adds to the response it sends (forwarded or its own), e.g. `RateLimit` and
   * `RateLimit-Policy` from the rate limiter. Name/value pairs; names lower-case.
   */
  readonly responseHeaders: [string, string][] = [];
  private scratchSpace: ScratchSpace | undefined;
  /**
   * Per-request scratch space for detectors (values computed once per request and shared between stages),
   * addressed by {@link ScratchKey}s. Created on first use.
   */
  get scratch(): ScratchSpace {
    return (this.scratchSpace ??= new ScratchSpace());
  }

  /**
   * @param init - the request facts; `startedAt`/`startedHr` default to now.
   */
  constructor(init: {
    id: string;
    clientIp: string;
    clientKey: string;
    peerIp: string;
    method: string;
    target: string;
    headers: IncomingHttpHeaders;
    rawHeaders?: readonly string[];
    httpVersion?: string;
    startedAt?: number;
    startedHr?: number;
  }) {
    this.id = init.id;
    this.clientIp = init.clientIp;
    this.clientKey = init.clientKey;
    this.peerIp = init.peerIp;
    this.method = init.method;
    this.target = init.target;
    // detectors see the resource the upstream will be asked for: an absolute-form target's path and query
    const o = originForm(init.target) ?? init.target;
    const q = o.indexOf('?');
    // a path much shorter than its target is copied: detectors keep paths (and their slices) as map keys, and a
    // slice would keep a long query string alive with them
    this.path = q === -1 ? o : init.target.length > 2 * q + 64 ? flatCopy(o, 0, q) : o.slice(0, q);
    this.rawQuery = q === -1 ? '' : o.slice(q + 1);
    this.headers = init.headers;
    this.rawHeaders = init.rawHeaders ?? [];
    this.httpVersion = init.httpVersion ?? '1.1';
    this.startedAt = init.startedAt ?? Date.now();
    this.startedHr = init.startedHr ?? performance.now();
  }

  /** Appends one signal or a list of signals. */
  add(result: Signal | readonly Signal[] | void | undefined): void {
    if (result === undefined) return;
    if (Array.isArray(result)) {
      for (const s of result as readonly Signal[]) this.signals.push(s);
    } else {
      this.signals.push(result as Signal);
    }
  }

  /** A single header value as a string (first value of a list; `''` when absent). */
  header(name: string): string {
    const v = this.headers[name];
    if (v === undefined) return '';
    return Array.isArray(v) ? (v[0] ?? '') : v;
  }
}
