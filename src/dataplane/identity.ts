import type { RequestContext } from '../core/context.ts';
import { LOGIN_RATE_LIMIT_ID, type Policy } from '../config/schema.ts';
import { LruMap } from '../core/lru.ts';
import { boundedKey, idTemplate, segmentsOf } from '../behavior/detectors/common.ts';
import { LoginRecognizer } from '../behavior/detectors/login.ts';
import { RouteMatcher, routePathOf } from '../ratelimit/route-pattern.ts';

/** Longest API key / user id kept (longer values are truncated: they are grouping keys, not credentials). */
const MAX_ID_LENGTH = 256;
/** Largest JWT payload segment decoded (base64url chars): real `sub`-bearing payloads are far smaller. */
const MAX_JWT_PAYLOAD = 8192;

/**
 * The `sub` claim of a Bearer JWT (RFC 7519 §4.1.2), decoding only the base64url payload. The signature is
 * NOT verified: the value groups requests for limits and bans, it never grants anything.
 * @param authorization - the Authorization header value.
 * @returns the subject (≤ 256 chars), or undefined for anything else. Never throws.
 */
export function jwtSubject(authorization: string): string | undefined {
  if (authorization.length < 8 || authorization.length > MAX_JWT_PAYLOAD * 2) return undefined;
  // "Bearer " (case-insensitive scheme, RFC 6750 §2.1)
  if (authorization.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = authorization.slice(7).trim();
  const dot1 = token.indexOf('.');
  if (dot1 <= 0) return undefined;
  const dot2 = token.indexOf('.', dot1 + 1);
  if (dot2 === -1) return undefined;
  const payload = token.slice(dot1 + 1, dot2);
  if (payload.length === 0 || payload.length > MAX_JWT_PAYLOAD) return undefined;
  try {
    const json: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof json !== 'object' || json === null) return undefined;
    const sub = (json as { sub?: unknown }).sub;
    if (typeof sub === 'string' && sub.length > 0) return sub.slice(0, MAX_ID_LENGTH);
    if (typeof sub === 'number' && Number.isFinite(sub)) return String(sub);
    return undefined;
  } catch {
    return undefined;
  }
}

/**
 * 53-bit string hash (cyrb53, public domain) as 14 hex chars: cheap, well mixed, not cryptographic — the
 * fingerprint only groups clients, it authenticates nothing.
 */
export function hash53(s: string, seed = 0): string {
  h1 = 0xdeadbeef ^ seed;
  h2 = 0x41c6ce57 ^ seed;
  feed(s, 0, s.length);
  return digest53();
}

// Streaming state of cyrb53, so the fingerprint hashes its pieces where they lie instead of concatenating
// them first (the concatenation and its flattening cost more than the hash). Synchronous use only.
let h1 = 0;
let h2 = 0;

/** Feeds code units `from`…`to − 1` of `s`. */
function feed(s: string, from: number, to: number): void {
  let a = h1;
  let b = h2;
  for (let i = from; i < to; i++) {
    const ch = s.charCodeAt(i);
    a = Math.imul(a ^ ch, 2654435761);
    b = Math.imul(b ^ ch, 1597334677);
  }
  h1 = a;
  h2 = b;
}

/** Feeds one code unit. */
function feedUnit(ch: number): void {
  h1 = Math.imul(h1 ^ ch, 2654435761);
  h2 = Math.imul(h2 ^ ch, 1597334677);
}

/**
 * Feeds `name.toLowerCase()` without building it when `name` is ASCII (header names from node:http always are).
 * @returns the number of code units fed.
 */
function feedLower(name: string): number {
  let a = h1;
  let b = h2;
  for (let i = 0; i < name.length; i++) {
    let ch = name.charCodeAt(i);
    if (ch >= 128) {
      const lower = name.toLowerCase();
      feed(lower, 0, lower.length);
      return lower.length;
    }
    if (ch >= 65 && ch <= 90) ch += 32;
    a = Math.imul(a ^ ch, 2654435761);
    b = Math.imul(b ^ ch, 1597334677);
  }
  h1 = a;
  h2 = b;
  return name.length;
}

const HEX_DIGITS = '0123456789abcdef';
const hexDigit = (v: number): number => HEX_DIGITS.charCodeAt(v & 15);

/** Final mix of the streaming state; the 53-bit result as 14 lower-case hex digits, zero padded. */
function digest53(): string {
  let a = h1;
  let b = h2;
  a = Math.imul(a ^ (a >>> 16), 2246822507) ^ Math.imul(b ^ (b >>> 13), 3266489909);
  b = Math.imul(b ^ (b >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  // 4294967296·(2097151 & b) + (a >>> 0) in hex: the high 21 bits are 6 digits, the low 32 bits 8 digits
  const hi = b & 2097151;
  return String.fromCharCode(
    hexDigit(hi >>> 20), hexDigit(hi >>> 16), hexDigit(hi >>> 12), hexDigit(hi >>> 8), hexDigit(hi >>> 4), hexDigit(hi),
    hexDigit(a >>> 28), hexDigit(a >>> 24), hexDigit(a >>> 20), hexDigit(a >>> 16), hexDigit(a >>> 12), hexDigit(a >>> 8), hexDigit(a >>> 4), hexDigit(a),
  );
}

/** Bound on the header-name list fed into the fingerprint (chars). */
const MAX_FP_INPUT = 4096;

/** Feeds the first `max` code units of `s`. */
function feedPrefix(s: string, max: number): void {
  feed(s, 0, s.length > max ? max : s.length);
}

/**
 * Client fingerprint: {@link hash53} of the User-Agent, the header names in wire order (lower-cased) and
 * the Accept, Accept-Language and Accept-Encoding values — the passive HTTP fingerprint used by bot
 * management products (header order and Accept values differ between browsers, libraries and tools).
 * The hashed text is `ua[0,512) \n name1,name2,…, \n accept[0,256) \n accept-language[0,128) \n
 * accept-encoding[0,128)`, header names added while it is shorter than 4 KiB, so a huge header block costs
 * bounded time; the pieces are hashed in place, never concatenated.
 */
export function fingerprintOf(ctx: RequestContext): string {
  h1 = 0xdeadbeef;
  h2 = 0x41c6ce57;
  const ua = ctx.header('user-agent');
  const uaLen = ua.length > 512 ? 512 : ua.length;
  feed(ua, 0, uaLen);
  feedUnit(10);
  let len = uaLen + 1;
  const raw = ctx.rawHeaders;
  for (let i = 0; i < raw.length && len < MAX_FP_INPUT; i += 2) {
    len += feedLower(raw[i]!) + 1;
    feedUnit(44);
  }
  feedUnit(10);
  feedPrefix(ctx.header('accept'), 256);
  feedUnit(10);
  feedPrefix(ctx.header('accept-language'), 128);
  feedUnit(10);
  feedPrefix(ctx.header('accept-encoding'), 128);
  return digest53();
}

/**
 * Fills `ctx.apiKey`, `ctx.user` and `ctx.fingerprint` from the configured extractors (policy `identity`):
 * the first present header of `apiKeyHeaders`; the user from `userHeader` when the peer is a trusted proxy
 * (`ctx.userVerified`), else (when `jwtSubject`) the `sub` of a Bearer JWT, unverified. Never throws; values
 * are truncated to 256 chars.
 * @param peerTrusted - the TCP peer is in `trustedProxies` (only then is `userHeader` believed).
 */
export function extractIdentity(ctx: RequestContext, identity: Policy['identity'], peerTrusted = false): void {
  const keys = identity.apiKeyHeaders;
  for (let i = 0; i < keys.length; i++) {
    const v = ctx.header(keys[i]!);
    if (v.length > 0) {
      ctx.apiKey = v.length > MAX_ID_LENGTH ? v.slice(0, MAX_ID_LENGTH) : v;
      break;
    }
  }
  if (identity.userHeader !== undefined && peerTrusted) {
    const u = ctx.header(identity.userHeader);
    if (u.length > 0) {
      ctx.user = u.slice(0, MAX_ID_LENGTH);
      ctx.userVerified = true;
    }
  }
  if (ctx.user === undefined && identity.jwtSubject) {
    const auth = ctx.header('authorization');
    if (auth.length > 0) ctx.user = jwtSubject(auth);
  }
  ctx.fingerprint = fingerprintOf(ctx);
}

/**
 * The identity the upstream's acceptance is recorded under: the API key, else an unverified user (a verified
 * one needs no acceptance), hashed (no credential kept in clear); undefined without either.
 */
export function acceptanceKey(ctx: RequestContext): string | undefined {
  if (ctx.apiKey !== undefined && ctx.apiKey !== '') return 'k:' + hash53(ctx.apiKey);
  if (ctx.user !== undefined && ctx.user !== '' && !ctx.userVerified) return 'u:' + hash53(ctx.user);
  return undefined;
}

/**
 * Credential kinds, as bits of the value {@link AcceptedIdentities} keeps per route and of
 * {@link sentCredentials}: an API key header (`identity.apiKeyHeaders` other than `authorization`).
 */
export const CREDENTIAL_API_KEY = 1;
/** Credential kind bit: the `Authorization` header (Bearer JWT, or any other scheme; an API key read from it too). */
export const CREDENTIAL_AUTHORIZATION = 2;
/** Both credential kinds: what a declared `identity.authenticatedRoutes` route, or a 401 to a request without either, enforces. */
export const CREDENTIAL_ALL = CREDENTIAL_API_KEY | CREDENTIAL_AUTHORIZATION;
/** {@link sentCredentials} bit: more than one credential header was sent (so no answer says which one was checked). */
export const CREDENTIAL_SEVERAL = 4;

/**
 * The credential headers a request carries (non-empty values, as {@link extractIdentity} reads them):
 * {@link CREDENTIAL_AUTHORIZATION} for `Authorization`, {@link CREDENTIAL_API_KEY} for any header of
 * `apiKeyHeaders` (`authorization` excepted: it is that kind already), plus {@link CREDENTIAL_SEVERAL} when more
 * than one of those headers is present. Exactly {@link CREDENTIAL_API_KEY} or {@link CREDENTIAL_AUTHORIZATION}
 * means one credential, the one the request's identity ({@link acceptanceKey}) was read from. Cookies are not
 * credential headers here.
 * @param apiKeyHeaders - `identity.apiKeyHeaders` (lower-case; duplicates and `authorization` are skipped).
 */
export function sentCredentials(ctx: RequestContext, apiKeyHeaders: readonly string[]): number {
  return credentialBits(ctx, keyHeadersOf(apiKeyHeaders));
}

/** The distinct API key header names other than `authorization` (what {@link credentialBits} reads). */
function keyHeadersOf(apiKeyHeaders: readonly string[]): string[] {
  return [...new Set(apiKeyHeaders)].filter((h) => h !== 'authorization');
}

/** {@link sentCredentials} over distinct key header names without `authorization` ({@link keyHeadersOf}): O(names). */
function credentialBits(ctx: RequestContext, keyHeaders: readonly string[]): number {
  let bits = 0;
  let count = 0;
  if (ctx.header('authorization').length > 0) {
    bits = CREDENTIAL_AUTHORIZATION;
    count = 1;
  }
  for (let i = 0; i < keyHeaders.length; i++) {
    if (ctx.header(keyHeaders[i]!).length > 0) {
      bits |= CREDENTIAL_API_KEY;
      count++;
    }
  }
  return count > 1 ? bits | CREDENTIAL_SEVERAL : bits;
}

/**
 * Bound on the routes {@link AcceptedIdentities} remembers as enforcing authentication (learned from upstream
 * 401s): 4,096 {@link authRouteKey} keys of at most 256 characters, each with a small number (the credential
 * kinds the route was seen checking), so at most about 2.5 MB whatever the requests (an API has far fewer method
 * + route pairs; API discovery keeps 5,000 endpoints by default). A flood of distinct 401 paths only evicts learned
 * routes, after which their new keys stay keyed by IP until a 401 teaches them again.
 */
export const MAX_AUTH_ROUTES = 4096;

/**
 * The key a route learned as enforcing authentication is remembered under: the method and the request path's
 * normalised segments ({@link segmentsOf}) with id-like ones as `{id}` ({@link idTemplate}), bounded to 256
 * characters ({@link boundedKey}): a 401 on `GET /api/orders/123` makes `GET /api/orders/456` enforcing, while
 * `POST /api/items` (private) and `GET /api/items` (public) stay apart.
 *
 * Not API discovery's template (`ctx.route`): discovery collapses a position with 50 distinct literals to
 * `{var}`, and the upstream's 401s count as existing endpoints there, so 50 probes of `/api/x1…/api/x50` behind an
 * auth middleware (answered 401) would fold a public sibling `/api/public` into the enforcing `/api/{var}`.
 */
export function authRouteKey(ctx: RequestContext): string {
  return boundedKey(ctx.method + ' ' + idTemplate(segmentsOf(ctx)).route);
}

/** The policy's part of the acceptance rule, compiled once per policy. */
interface AuthRoutes {
  /** `identity.authenticatedRoutes`; undefined when none are declared. */
  declared: RouteMatcher | undefined;
  /** `behavior.bruteForce.loginRoutes`: never enforcing (a login answers 200 whatever API key the client added). */
  login: LoginRecognizer;
  /** The rate-limit rules with id {@link LOGIN_RATE_LIMIT_ID} (method and path): login routes too. */
  loginLimits: RouteMatcher[];
  /** `identity.apiKeyHeaders`, distinct, without `authorization` ({@link keyHeadersOf}). */
  keyHeaders: readonly string[];
}

/**
 * True when identity learning treats the request as a login: a `behavior.bruteForce.loginRoutes` route or one the
 * `login-ip` rate-limit rule ({@link LOGIN_RATE_LIMIT_ID}) matches. The two default lists differ (`POST /auth/**`
 * and `/api/auth/**` are only in the rule), and a login answers 401 or 200 by the password in its body whatever
 * credential header came along, so either list is enough to keep a route from teaching or accepting anything.
 */
function isLogin(r: AuthRoutes, ctx: RequestContext): boolean {
  if (r.login.isLogin(ctx)) return true;
  const limits = r.loginLimits;
  for (let i = 0; i < limits.length; i++) {
    const m = limits[i]!;
    if (m.matchesMethod(ctx.method) && m.matchesPath(routePathOf(ctx))) return true;
  }
  return false;
}

/**
 * Identities (API keys, unverified users) the upstream accepted, bounded LRU of `maxKeys` hashed keys (about 100
 * bytes each). Sets `ctx.identityAccepted` at request start ({@link AcceptedIdentities.mark}) and learns from
 * answers ({@link AcceptedIdentities.learn}).
 *
 * Acceptance is learned only on a route that enforces the identity's kind of credential
 * ({@link AcceptedIdentities.enforcedKinds}): a public route answers 200 whatever key the client made up, so a
 * 200 there proves nothing, and counting it would let one client mint any number of fresh identities (each with
 * fresh per-identity counters) instead of being keyed by its IP. The kinds are an API key header
 * ({@link CREDENTIAL_API_KEY}) and the `Authorization` header ({@link CREDENTIAL_AUTHORIZATION}). A route
 * enforces both when `identity.authenticatedRoutes` lists it; otherwise it enforces what the upstream's own 401
 * answers there proved it checks (RFC 9110 §15.5.2: the request lacks valid authentication credentials; not 403,
 * which is about authorization and which public routes send for other reasons):
 * - a 401 to a request with neither header: both kinds (the route wants a credential, whichever);
 * - a 401 to a request with API key header(s) and no `Authorization`: API keys;
 * - a 401 to a request with `Authorization` and no API key header: `Authorization`;
 * - a 401 to a request with both: nothing (it does not say which one was refused).
 *
 * A 2xx/3xx accepts the identity only when the request carried exactly one credential header, the one the
 * identity came from (an API key without `Authorization`, a JWT `sub` without an API key header): with a valid
 * Bearer token and a made-up `x-api-key`, the upstream checked the token, not the key. A 401 to an accepted
 * identity sent alone revokes it (removed from the LRU: a revoked key goes back to being keyed by the client IP
 * until a 2xx on an enforcing route accepts it again).
 *
 * Routes sit in a second LRU of at most `maxRoutes` {@link authRouteKey} keys, each valued by its kinds bitmask.
 * Login routes (`behavior.bruteForce.loginRoutes`, and those the `login-ip` rate-limit rule matches) never
 * enforce, teach or revoke. Limitation: session cookies are not credential headers, so a client with a valid
 * session cookie can still have a made-up API key accepted on a route that checks only the cookie.
 */
export class AcceptedIdentities {
  private readonly keys: LruMap<string, true>;
  /** Routes ({@link authRouteKey}) the upstream answered 401 on, with the credential kinds (bitmask) those 401s proved checked. */
  private readonly routes: LruMap<string, number>;
  /** Compiled policy parts, per policy object (requests in flight during a reload finish on their policy). */
  private readonly compiled = new WeakMap<Policy, AuthRoutes>();

  /**
   * @param maxKeys - bound on remembered identities (`state.maxKeys`).
   * @param maxRoutes - bound on routes learned from 401 answers (default {@link MAX_AUTH_ROUTES}).
   */
  constructor(maxKeys: number, maxRoutes = MAX_AUTH_ROUTES) {
    this.keys = new LruMap(maxKeys);
    this.routes = new LruMap(maxRoutes);
  }

  /** Routes currently remembered as enforcing authentication from 401 answers (≤ `maxRoutes`). */
  get learnedRoutes(): number {
    return this.routes.size;
  }

  /** Sets `ctx.identityAccepted` from what earlier answers taught. */
  mark(ctx: RequestContext): void {
    const k = acceptanceKey(ctx);
    ctx.identityAccepted = k !== undefined && this.keys.get(k) !== undefined;
  }

  /**
   * The credential kinds the request's route enforces, as {@link CREDENTIAL_API_KEY} | {@link CREDENTIAL_AUTHORIZATION}
   * bits: none on a login route; both when `identity.authenticatedRoutes` matches; else those the upstream's 401s
   * (RFC 9110 §15.5.2) on the same {@link authRouteKey} proved checked (see {@link AcceptedIdentities}); 0 for a
   * route never seen or evicted from the LRU of `maxRoutes` (default {@link MAX_AUTH_ROUTES}).
   */
  enforcedKinds(ctx: RequestContext, policy: Policy): number {
    return this.kindsOn(this.authRoutes(policy), ctx);
  }

  /** {@link AcceptedIdentities.enforcedKinds} with the policy's parts already compiled. */
  private kindsOn(r: AuthRoutes, ctx: RequestContext): number {
    if (isLogin(r, ctx)) return 0;
    if (r.declared !== undefined && r.declared.matchesPath(routePathOf(ctx))) return CREDENTIAL_ALL;
    return this.routes.get(authRouteKey(ctx)) ?? 0;
  }

  /**
   * Records the upstream's answer (never one the gateway wrote itself; login routes excepted). A 401 (RFC 9110
   * §15.5.2: the request lacks valid authentication credentials) teaches the route the credential kinds it proves
   * checked — both for a request with neither header, the one sent when only one kind was, nothing when both
   * were — in the route LRU (at most `maxRoutes`, default {@link MAX_AUTH_ROUTES}), and, when the request carried
   * a single credential header, forgets its identity (revoked). A 2xx/3xx accepts the identity (LRU of `maxKeys`)
   * when it was the request's only credential header ({@link sentCredentials}) and the route enforces that kind
   * ({@link AcceptedIdentities.enforcedKinds}). 403 and other statuses teach nothing.
   * @param policy - the policy the request ran on (declared routes, login routes, API key headers).
   */
  learn(ctx: RequestContext, status: number, byGateway: boolean, policy: Policy): void {
    if (byGateway) return;
    if (status === 401) {
      const r = this.authRoutes(policy);
      if (isLogin(r, ctx)) return;
      const sent = credentialBits(ctx, r.keyHeaders);
      const kinds = sent & CREDENTIAL_ALL;
      if (kinds === CREDENTIAL_ALL) return; // both kinds sent: which one was refused is unknown
      const rk = authRouteKey(ctx);
      this.routes.set(rk, (this.routes.get(rk) ?? 0) | (kinds === 0 ? CREDENTIAL_ALL : kinds));
      // one credential, refused on a route that (as this 401 shows) checks its kind: no longer accepted
      if (sent === CREDENTIAL_API_KEY || sent === CREDENTIAL_AUTHORIZATION) {
        const k = acceptanceKey(ctx);
        if (k !== undefined) this.keys.delete(k);
      }
      return;
    }
    if (status < 200 || status >= 400 || ctx.identityAccepted) return;
    const k = acceptanceKey(ctx);
    if (k === undefined) return;
    const r = this.authRoutes(policy);
    const sent = credentialBits(ctx, r.keyHeaders);
    if (sent !== CREDENTIAL_API_KEY && sent !== CREDENTIAL_AUTHORIZATION) return; // several credentials, or none
    if ((this.kindsOn(r, ctx) & sent) !== 0) this.keys.set(k, true);
  }

  private authRoutes(policy: Policy): AuthRoutes {
    let r = this.compiled.get(policy);
    if (r === undefined) {
      const paths = policy.identity.authenticatedRoutes;
      r = {
        declared: paths.length > 0 ? new RouteMatcher(paths) : undefined,
        login: new LoginRecognizer(policy.behavior.bruteForce),
        loginLimits: policy.rateLimits.filter((l) => l.id === LOGIN_RATE_LIMIT_ID).map((l) => new RouteMatcher(l.match.path, l.match.methods)),
        keyHeaders: keyHeadersOf(policy.identity.apiKeyHeaders),
      };
      this.compiled.set(policy, r);
    }
    return r;
  }
}
