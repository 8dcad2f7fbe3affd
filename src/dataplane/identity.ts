import type { RequestContext } from '../core/context.ts';
import type { Policy } from '../config/schema.ts';
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
 * Bound on the routes {@link AcceptedIdentities} remembers as enforcing authentication (learned from upstream
 * 401s): 4,096 {@link authRouteKey} keys of at most 256 characters, so at most about 2.5 MB whatever the requests
 * (an API has far fewer method + route pairs; API discovery keeps 5,000 endpoints by default). A flood of distinct
 * 401 paths only evicts learned routes, after which their new keys stay keyed by IP until a 401 teaches them again.
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
}

/**
 * Identities (API keys, unverified users) the upstream accepted, bounded LRU of `maxKeys` hashed keys (about 100
 * bytes each). Sets `ctx.identityAccepted` at request start ({@link AcceptedIdentities.mark}) and learns from
 * answers ({@link AcceptedIdentities.learn}).
 *
 * Acceptance is learned only on a route that enforces authentication ({@link AcceptedIdentities.enforces}):
 * a public route answers 200 whatever key the client made up, so a 200 there proves nothing, and counting it
 * would let one client mint any number of fresh identities (each with fresh per-identity counters) instead of
 * being keyed by its IP. A route enforces authentication when `identity.authenticatedRoutes` lists it or when
 * the upstream itself answered 401 on it (RFC 9110 §15.5.2: the request lacks valid authentication credentials;
 * not 403, which is about authorization and which public routes send for other reasons). Routes learned from
 * 401s sit in a second LRU of at most `maxRoutes` {@link authRouteKey} keys. Login routes never enforce.
 */
export class AcceptedIdentities {
  private readonly keys: LruMap<string, true>;
  /** Routes ({@link authRouteKey}) the upstream answered 401 on. */
  private readonly routes: LruMap<string, true>;
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
   * True when the request's route enforces authentication: not a login route, and either matched by
   * `identity.authenticatedRoutes` or answered 401 by the upstream before (same {@link authRouteKey}).
   */
  enforces(ctx: RequestContext, policy: Policy): boolean {
    const r = this.authRoutes(policy);
    if (r.login.isLogin(ctx)) return false;
    if (r.declared !== undefined && r.declared.matchesPath(routePathOf(ctx))) return true;
    return this.routes.get(authRouteKey(ctx)) !== undefined;
  }

  /**
   * Records the upstream's answer (never one the gateway wrote itself): a 401 marks the route as enforcing
   * authentication (login routes excepted); a 2xx/3xx on an enforcing route accepts the request's identity.
   * @param policy - the policy the request ran on (declared routes, login routes).
   */
  learn(ctx: RequestContext, status: number, byGateway: boolean, policy: Policy): void {
    if (byGateway) return;
    if (status === 401) {
      if (!this.authRoutes(policy).login.isLogin(ctx)) this.routes.set(authRouteKey(ctx), true);
      return;
    }
    if (status < 200 || status >= 400 || ctx.identityAccepted) return;
    const k = acceptanceKey(ctx);
    if (k !== undefined && this.enforces(ctx, policy)) this.keys.set(k, true);
  }

  private authRoutes(policy: Policy): AuthRoutes {
    let r = this.compiled.get(policy);
    if (r === undefined) {
      const paths = policy.identity.authenticatedRoutes;
      r = { declared: paths.length > 0 ? new RouteMatcher(paths) : undefined, login: new LoginRecognizer(policy.behavior.bruteForce) };
      this.compiled.set(policy, r);
    }
    return r;
  }
}
