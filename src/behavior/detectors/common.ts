import { createHash } from 'node:crypto';
import { scratchKey, type RequestContext, type ScratchKey } from '../../core/context.ts';
import { flatCopy } from '../../core/strings.ts';
import { SCRATCH_BODY_PARTS, bodyParts } from '../../engine/targets.ts';
import type { Action, DecisionScope, Signal } from '../../core/types.ts';
import type { Detector } from '../../core/detector.ts';
import type { Policy } from '../../config/schema.ts';

/**
 * Helpers shared by the behavioural abuse detectors: path normalisation, route patterns, the fallback route
 * templater, identities, login usernames, fingerprints and a signal builder. Every function here reads hostile
 * request data with hand-written linear scanners (no regular expressions on request data) and bounded lengths.
 */

/** Longest path (characters) the helpers look at; longer paths are truncated first (bounded work). */
export const MAX_PATH_CHARS = 4096;

/** Characters {@link pathSegments} must decode or fold: `%`, `\\` and upper-case ASCII letters. */
const NEEDS_FOLDING = /[%\\A-Z]/;

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/**
 * Normalises a raw request path for matching: one round of percent-decoding of ASCII bytes, lower case,
 * `\` as `/`, empty and `.` segments dropped, `..` resolved (never above the root). Linear in the length;
 * truncated to {@link MAX_PATH_CHARS}. Non-ASCII escapes stay encoded (they never form a path separator).
 * @returns segments of the normalised path (`/a//b/./c/../d` → `['a', 'b', 'd']`).
 */
export function pathSegments(rawPath: string): string[] {
  const s = rawPath.length > MAX_PATH_CHARS ? rawPath.slice(0, MAX_PATH_CHARS) : rawPath;
  const out: string[] = [];
  const push = (seg: string): void => {
    if (seg === '' || seg === '.') return;
    if (seg === '..') out.pop();
    else out.push(seg);
  };
  // common case: nothing to decode or fold, segments are slices (not built one character at a time); copies of
  // a long path, where a slice kept as a per-client key would keep the whole path alive
  if (!NEEDS_FOLDING.test(s)) {
    const long = s.length > 256;
    let from = 0;
    for (let i = 0; i <= s.length; i++) {
      if (i === s.length || s.charCodeAt(i) === 47) {
        push(long ? flatCopy(s, from, i) : s.slice(from, i));
        from = i + 1;
      }
    }
    return out;
  }
  const codes: number[] = [];
  const flush = (): void => {
    push(String.fromCharCode.apply(null, codes));
    codes.length = 0;
  };
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c === 37 && i + 2 < s.length) {
      const h = hexVal(s.charCodeAt(i + 1));
      const l = hexVal(s.charCodeAt(i + 2));
      if (h >= 0 && l >= 0 && h < 8) {
        c = h * 16 + l;
        i += 2;
      }
    }
    if (c === 47 || c === 92) {
      flush();
      continue;
    }
    if (c >= 65 && c <= 90) c += 32;
    codes.push(c);
  }
  flush();
  return out;
}

/**
 * A compiled path pattern: `*` (or `:name`) matches one segment, `**` any number of segments (zero included),
 * other segments match literally (case-insensitive, after {@link pathSegments} normalisation). An optional
 * method prefix (`POST /api/transaction`) restricts the method.
 */
export interface PathPattern {
  /** The pattern text as written. */
  readonly source: string;
  /** Upper-case method, or undefined for any. */
  readonly method?: string;
  readonly segments: readonly string[];
}

/**
 * Compiles `"[METHOD ]/path/pattern"`.
 * @throws {Error} when the pattern does not start with `/` (callers turn it into a ConfigError via the schema).
 */
export function compilePattern(source: string): PathPattern {
  const t = source.trim();
  const sp = t.indexOf(' ');
  let method: string | undefined;
  let path = t;
  if (sp > 0) {
    method = t.slice(0, sp).toUpperCase();
    path = t.slice(sp + 1).trim();
  }
  if (!path.startsWith('/')) throw new Error(`path pattern must start with "/": ${source}`);
  const segments = path
    .split('/')
    .filter((x) => x !== '')
    .map((x) => (x.startsWith(':') || (x.startsWith('{') && x.endsWith('}')) ? '*' : x.toLowerCase()));
  return { source, method, segments };
}

/**
 * Matches normalised segments against a pattern. Classic wildcard matching with backtracking to the last
 * `**` only: O(pattern × path) segments in the worst case, both bounded (path ≤ 4096 chars).
 */
export function matchSegments(p: readonly string[], s: readonly string[]): boolean {
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    if (pi < p.length && p[pi] === '**') {
      starP = pi++;
      starS = si;
    } else if (pi < p.length && (p[pi] === '*' || p[pi] === s[si])) {
      pi++;
      si++;
    } else if (starP !== -1) {
      pi = starP + 1;
      si = ++starS;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '**') pi++;
  return pi === p.length;
}

/** True when the request (method + normalised path segments) matches one of the patterns. */
export function matchesAny(patterns: readonly PathPattern[], method: string, segs: readonly string[]): PathPattern | undefined {
  for (const p of patterns) {
    if (p.method !== undefined && p.method !== method) continue;
    if (matchSegments(p.segments, segs)) return p;
  }
  return undefined;
}

const SEGMENTS = scratchKey<string[]>('behavior.segs');
const ROUTE = scratchKey<{ route: string; id: string } | undefined>('behavior.route');
type Identity = { key: string; scope: DecisionScope; value: string };
/** One scratch slot per {@link IdentityKind}, under `prefix`. */
const identityKeys = (prefix: string): Record<IdentityKind, ScratchKey<Identity>> => ({
  user: scratchKey<Identity>(`${prefix}.user`),
  api_key: scratchKey<Identity>(`${prefix}.api_key`),
  ip: scratchKey<Identity>(`${prefix}.ip`),
});
const IDENTITIES = identityKeys('behavior.id');
const CLAIMED_IDENTITIES = identityKeys('behavior.claimed');
const FINGERPRINT = scratchKey<string>('behavior.fp');
const LOGIN_USER = scratchKey<string | undefined>('behavior.login.user');
const GOOD_BOT = scratchKey<boolean>('behavior.goodbot');

/** Normalised path segments of the request, computed once per request (cached in `ctx.scratch`). */
export function segmentsOf(ctx: RequestContext): string[] {
  const k = SEGMENTS;
  let v = ctx.scratch.get(k);
  if (v === undefined) {
    v = pathSegments(ctx.path);
    ctx.scratch.set(k, v);
  }
  return v;
}

/** True for an id-like path segment: all digits, a UUID, or ≥ 16 hex digits (hashes, object ids). */
export function isIdSegment(seg: string): boolean {
  if (seg.length === 0 || seg.length > 128) return false;
  let digits = 0;
  let hex = 0;
  let dashes = 0;
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c >= 97 && c <= 102) hex++;
    else if (c === 45) dashes++;
    else return false;
  }
  if (dashes === 0 && hex === 0) return true;
  if (dashes === 4 && seg.length === 36) return true;
  return dashes === 0 && seg.length >= 16;
}

/**
 * The fallback route template of normalised path segments ({@link pathSegments}): the segments joined by `/`,
 * each id-like one ({@link isIdSegment}: digits, UUIDs, ≥ 16 hex digits) replaced by `{id}`
 * (`['api', 'orders', '123']` → `/api/orders/{id}`, `[]` → `/`). Unbounded: a caller keeping it as a key bounds
 * it ({@link boundedKey}).
 * @returns the template and the last id segment (undefined when no segment is id-like).
 */
export function idTemplate(segs: readonly string[]): { route: string; id: string | undefined } {
  let id: string | undefined;
  let route = '';
  for (const s of segs) {
    if (isIdSegment(s)) {
      id = s;
      route += '/{id}';
    } else {
      route += '/' + s;
    }
  }
  return { route: route === '' ? '/' : route, id };
}

/**
 * Route template and id for enumeration: `ctx.route` from API discovery when set (the id is the path segment
 * under its last `{param}`, slugs included), else a tiny fallback that replaces id-like segments (digits, UUIDs,
 * long hex) by `{id}` ({@link idTemplate}). Cached in `ctx.scratch`.
 * @returns `{ route: 'METHOD /template', id }`, or undefined when the path has no id segment.
 */
export function templatedRoute(ctx: RequestContext): { route: string; id: string } | undefined {
  const k = ROUTE;
  if (ctx.scratch.has(k)) return ctx.scratch.get(k);
  const segs = segmentsOf(ctx);
  let out: { route: string; id: string } | undefined;
  if (ctx.route !== undefined && ctx.route.includes('{')) {
    // API discovery's template: the id is the path segment under its last `{param}` (slugs included).
    const parts = ctx.route.split('/').filter((x) => x !== '');
    let at = -1;
    for (let i = 0; i < parts.length; i++) if (parts[i]!.startsWith('{')) at = i;
    const id = at >= 0 && parts.length === segs.length ? segs[at] : undefined;
    if (id !== undefined) out = { route: `${ctx.method} ${ctx.route}`, id };
  }
  if (out === undefined) {
    const t = idTemplate(segs);
    if (t.id !== undefined) out = { route: `${ctx.method} ${t.route}`, id: t.id };
  }
  // per-client state is keyed by these: bound their size whatever the path (4 KiB segments × 50,000 keys)
  if (out !== undefined) out = { route: boundedKey(out.route), id: boundedKey(out.id) };
  ctx.scratch.set(k, out);
  return out;
}

/** `s` when at most 256 chars, else its first 128 chars and a 64-bit hash of the whole ({@link shortHash}). */
export function boundedKey(s: string): string {
  return s.length <= 256 ? s : flatCopy(s, 0, 128) + '#' + shortHash(s);
}


/** How a detector keys a client: `user`, `api_key` or `ip` (the client key, IPv6 aggregated). */
export type IdentityKind = 'user' | 'api_key' | 'ip';

/**
 * The identity a per-client counter is keyed by, preferring the strongest known one: with `by: 'user'`
 * the user, else the API key, else the client key; `by: 'api_key'` starts at the API key; `by: 'ip'` is the
 * client key. Keying by identity before IP keeps many users behind one NAT apart. Only identities the client
 * cannot simply make up count: a verified user, or an API key / unverified user the upstream accepted before
 * (`RequestContext.identityAccepted`); a fresh random key or JWT `sub` per request is keyed by the client IP.
 * `acceptedOnly: false` keys by claimed identities too, for detectors where a made-up identity only hurts its
 * sender (business flows: a new identity has no prerequisite steps).
 * @returns the key (prefixed by its scope, API keys hashed so they never sit in memory dumps in clear) and the
 *   decision scope/value to ban it with (the client key for a user the client could forge, see
 *   `RequestContext.userVerified`).
 */
export function identityOf(ctx: RequestContext, by: IdentityKind, acceptedOnly = true): Identity {
  const k = acceptedOnly ? IDENTITIES[by] : CLAIMED_IDENTITIES[by];
  const cached = ctx.scratch.get(k);
  if (cached !== undefined) return cached;
  const trusted = ctx.identityAccepted || !acceptedOnly;
  let id: Identity;
  if (by === 'user' && ctx.user && ctx.userVerified) id = { key: 'u:' + ctx.user, scope: 'user', value: ctx.user };
  // an unverified user (JWT sub) is counted per client, and its ban goes to the client that sent it
  else if (by === 'user' && ctx.user && trusted && !ctx.apiKey) id = { key: 'u:' + ctx.userKey()!, scope: 'ip', value: ctx.clientKey };
  else if ((by === 'user' || by === 'api_key') && ctx.apiKey && trusted) id = { key: 'k:' + shortHash(ctx.apiKey), scope: 'api_key', value: ctx.apiKey };
  else id = { key: 'i:' + ctx.clientKey, scope: 'ip', value: ctx.clientKey };
  ctx.scratch.set(k, id);
  return id;
}

/**
 * 64-bit non-cryptographic digest (two FNV-1a variants) as 16 hex digits, for keys that should not be kept
 * in clear in per-client maps (API keys). Collisions between two keys only merge their counters; at 64 bits
 * they are negligible (~ 3 × 10⁻¹⁰ for 100,000 keys). Cheap: no crypto call on the request path.
 */
export function shortHash(s: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

/**
 * Client fingerprint: `ctx.fingerprint` from the data plane when set, else the same recipe computed here
 * (SHA-256 of User-Agent, the header names in wire order and the Accept, Accept-Language and Accept-Encoding
 * values), cached in `ctx.scratch`. Bounded: at most 64 header names and 512 chars per value are hashed.
 */
export function fingerprintOf(ctx: RequestContext): string {
  if (ctx.fingerprint) return ctx.fingerprint;
  const k = FINGERPRINT;
  const c = ctx.scratch.get(k);
  if (c !== undefined) return c;
  const h = createHash('sha256');
  h.update(ctx.header('user-agent').slice(0, 512));
  const raw = ctx.rawHeaders;
  if (raw.length > 0) {
    for (let i = 0; i < raw.length && i < 128; i += 2) h.update('\n' + raw[i]!.toLowerCase().slice(0, 64));
  } else {
    for (const n of Object.keys(ctx.headers).slice(0, 64)) h.update('\n' + n);
  }
  for (const n of ['accept', 'accept-language', 'accept-encoding']) h.update('\n' + ctx.header(n).slice(0, 512));
  const fp = h.digest('hex').slice(0, 32);
  ctx.scratch.set(k, fp);
  return fp;
}

/**
 * The key failures are counted under when a login body cannot be read (unparsable, or cut off before any
 * field): real clients send small well-formed login bodies, so such attempts share one bucket instead of
 * escaping the per-username limits.
 */
export const UNREADABLE_USERNAME = '(unreadable login body)';

/**
 * Extracts the login username from the request body prefix, read as the engine's body extractor reads it
 * (JSON, `application/x-www-form-urlencoded` or `multipart/form-data`, by Content-Type, sniffed when absent;
 * fields before a cut-off are still read; the engine's extraction is reused when it ran), trying `fields` in order; falls back to `ctx.user`. Lower-cased,
 * trimmed, at most 256 chars. A body that yields no field at all because it does not parse gives
 * {@link UNREADABLE_USERNAME}. Cached in `ctx.scratch` (both the brute-force and the stuffing detector need
 * it). Never throws.
 */
export function loginUsername(ctx: RequestContext, fields: readonly string[]): string | undefined {
  const k = LOGIN_USER;
  if (ctx.scratch.has(k)) return ctx.scratch.get(k);
  let user: string | undefined;
  let unreadable = false;
  const b = ctx.body;
  if (b && b.bytes.length > 0) {
    try {
      // the payload engine's extraction of this body when it ran (it usually has): one decode and parse per body
      const { parts, info } = ctx.scratch.get(SCRATCH_BODY_PARTS) ?? bodyParts(ctx, LOGIN_BODY_LIMITS);
      let best = fields.length;
      for (const p of parts) {
        const kind = p.loc.kind;
        if (kind !== 'json' && kind !== 'form' && kind !== 'multipart') continue;
        const at = p.loc.name === undefined ? -1 : fields.indexOf(p.loc.name);
        if (at !== -1 && at < best && p.value.trim() !== '') {
          best = at;
          user = p.value;
          if (at === 0) break;
        }
      }
      unreadable = user === undefined && (info.truncated || info.parseError !== undefined || info.kind === 'binary' || info.kind === 'text');
    } catch {
      unreadable = true;
    }
  }
  if (user === undefined && ctx.user) user = ctx.user;
  if (user !== undefined) user = user.trim().toLowerCase().slice(0, 256);
  else if (unreadable) user = UNREADABLE_USERNAME;
  ctx.scratch.set(k, user);
  return user;
}

/** Bounds for reading login bodies: a login form has a handful of fields. */
const LOGIN_BODY_LIMITS = { maxParts: 64, maxDepth: 4, maxNameLength: 64 };

/**
 * True when a previous detector classified the client as a known good crawler (set by the bots detector
 * helper {@link markGoodBot}); enumeration and scanner detectors skip such clients' sweeps.
 */
export function isGoodBot(ctx: RequestContext): boolean {
  return ctx.scratch.get(GOOD_BOT) === true;
}

/** Marks the request as coming from a known good crawler (see {@link isGoodBot}). */
export function markGoodBot(ctx: RequestContext, good: boolean): void {
  ctx.scratch.set(GOOD_BOT, good);
}

/**
 * Builds a behavioural signal. Behavioural signals carry explicit actions and risk, never anomaly points
 * (score 0): a behaviour is judged by its own thresholds, not summed with payload rules.
 */
export function signal(init: {
  ruleId: string;
  detector: string;
  category: string;
  action: Action;
  risk: number;
  monitor: boolean;
  message: string;
  detail: Record<string, string | number | boolean>;
  ban?: { scope: DecisionScope; value: string; durationMs: number };
  severity?: Signal['severity'];
  tags?: readonly string[];
}): Signal {
  const s: Signal = {
    ruleId: init.ruleId,
    detector: init.detector,
    category: init.category,
    score: 0,
    action: init.action,
    risk: init.risk,
    message: init.message,
    evidence: { location: { kind: 'client' }, detail: init.detail },
  };
  if (init.monitor) s.monitor = true;
  if (init.severity) s.severity = init.severity;
  if (init.tags) s.tags = init.tags;
  if (init.action === 'ban' && init.ban) s.ban = init.ban;
  return s;
}

/** Upper bound on per-client keys of each behavioural store, whatever `state.maxKeys` says (memory budget). */
export const BEHAVIOR_MAX_KEYS = 100_000;

/**
 * Keys per behavioural per-client store: min(`state.maxKeys`, {@link BEHAVIOR_MAX_KEYS}). With the measured
 * worst case of ~ 0.4–0.7 KB per client (brute force, stuffing) this bounds each store to ~ 40–70 MB; under a
 * rotation of 1,000,000 IPs the least recently seen clients are forgotten (LRU), which costs nothing for
 * single-request IPs and is covered by the per-fingerprint and global detectors.
 */
export function behaviorKeys(policy: Policy): number {
  return Math.min(policy.state.maxKeys, BEHAVIOR_MAX_KEYS);
}

/** Formats a duration in ms for messages (`600000` → `10m`). */
export function fmtMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * Makes a behavioural detector survive policy reloads with its per-client state: the returned detector
 * implements `reconfigure`, so the composition root keeps it across a hot reload; it rebuilds its inner
 * detector (state reset) only when the settings it depends on (`settings(policy)`, compared as JSON) changed.
 * An attacker half-way through a brute-force window is therefore not forgiven because an operator edited an
 * unrelated part of the policy.
 * @param build - builds the inner detector; undefined when the policy disables it.
 * @param settings - the policy parts the detector's state depends on.
 */
export function reloadable(build: (p: Policy) => Detector | undefined, settings: (p: Policy) => unknown): (p: Policy) => Detector | undefined {
  return (policy) => {
    let inner = build(policy);
    if (inner === undefined) return undefined;
    let key = JSON.stringify(settings(policy));
    const d: Detector = {
      name: inner.name,
      needsBody: inner.needsBody,
      reconfigure(p: Policy): void {
        const k = JSON.stringify(settings(p));
        if (k === key) return;
        const next = build(p);
        if (next === undefined) return;
        const old = inner;
        inner = next;
        key = k;
        void Promise.resolve(old?.close?.()).catch(() => {});
      },
      close: () => inner?.close?.(),
    };
    if (inner.inspectRequest) d.inspectRequest = (ctx) => inner!.inspectRequest?.(ctx);
    if (inner.inspectBody) d.inspectBody = (ctx) => inner!.inspectBody?.(ctx);
    if (inner.observeResponse) d.observeResponse = (ctx, res) => inner!.observeResponse?.(ctx, res);
    return d;
  };
}

/**
 * True for a request the client's browser may have sent on a third-party page's behalf: a CORS preflight
 * (`OPTIONS`) or a request marked `Sec-Fetch-Site: cross-site` (W3C Fetch Metadata: an `<img>`, a link, a form
 * on another site). Detectors that ban on what such a request touches (honeypot, scanner) must not ban for it:
 * the visitor (and everyone behind their NAT) would pay for the page's author.
 */
export function thirdPartyInduced(ctx: RequestContext): boolean {
  return ctx.method === 'OPTIONS' || ctx.header('sec-fetch-site') === 'cross-site';
}
