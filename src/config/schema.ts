import { z } from 'zod';
import { duration } from './duration.ts';
import { cidr, slug } from './primitives.ts';
import { detectionSchema } from '../engine/schema.ts';
import { behaviorSchema } from '../behavior/schema.ts';
import { controlPlaneSchema } from '../controlplane/schema.ts';

export { cidr, slug };

/**
 * What a rate limit counts by: `ip` (client key, IPv6 aggregated), `api_key`, `user`, `fingerprint`, or
 * `header:<name>` (any request header, lower-cased).
 */
export const rateLimitKey = z.union([
  z.enum(['ip', 'api_key', 'user', 'fingerprint']),
  z.string().regex(/^header:[a-z0-9-]{1,64}$/, 'expected ip, api_key, user, fingerprint or header:<name>'),
]);

/**
 * One rate-limit rule. `limit` requests per `window`; `algorithm` is GCRA (default: exact, O(1) state) or a
 * sliding window (two fixed windows, weighted). `burst` (GCRA only) is how many requests may arrive at once;
 * defaults to `limit`.
 */
export const rateLimitRuleSchema = z.object({
  id: slug,
  /** Route patterns: `*` matches one path segment, `**` any number; `:name` one segment. Method list optional. */
  match: z
    .object({
      path: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).default('/**'),
      methods: z.array(z.string().regex(/^[A-Z]{1,16}$/, 'expected an upper-case HTTP method')).optional(),
    })
    .prefault({}),
  key: rateLimitKey.default('ip'),
  limit: z.int('expected positive integer').positive('expected positive integer'),
  /** Whole seconds, at least 1s: `RateLimit-Policy` advertises it as `w=` seconds (IETF httpapi ratelimit headers). */
  window: duration.refine((ms) => ms >= 1000 && ms % 1000 === 0, 'expected whole seconds, at least 1s').default(60_000),
  algorithm: z.enum(['gcra', 'sliding-window']).default('gcra'),
  burst: z.int().positive().optional(),
  /** What to do past the limit: answer 429 (throttle), or ban the key for `banDuration` after `banAfter` 429s. */
  action: z.enum(['throttle', 'ban']).default('throttle'),
  banAfter: z.int().positive().default(1),
  banDuration: duration.optional(),
  monitor: z.boolean().default(false),
});

/**
 * Id of the default login rate limit. Identity learning (`src/dataplane/identity.ts`) treats the requests a rule
 * with this id matches as login routes too, beside `behavior.bruteForce.loginRoutes`: the default rule also covers
 * `/auth/**` and `/api/auth/**` (token and refresh endpoints), which the default login routes do not.
 */
export const LOGIN_RATE_LIMIT_ID = 'login-ip';

/**
 * Default rate limits: 100 requests/min per client IP (the common default of API gateways Bulwark replaces)
 * and 10 requests/min per IP on login routes.
 */
export const DEFAULT_RATE_LIMITS: z.input<typeof rateLimitRuleSchema>[] = [
  { id: 'default-ip', match: { path: '/**' }, key: 'ip', limit: 100, window: '1m' },
  {
    id: LOGIN_RATE_LIMIT_ID,
    match: { path: ['/login', '/api/login', '/auth/**', '/api/auth/**', '/**/login', '/**/signin'], methods: ['POST'] },
    key: 'ip',
    limit: 10,
    window: '1m',
  },
];

const listSchema = z
  .object({
    ips: z.array(cidr).default([]),
    apiKeys: z.array(z.string().min(1).max(512)).default([]),
  })
  .prefault({});

/**
 * The whole policy file (YAML). Every field has a documented default, so an empty file — or no file —
 * is a valid policy. Unknown top-level keys are rejected to catch typos.
 */
export const policySchema = z
  .object({
    version: z.literal(1).default(1),
    /** `monitor`: every action is recorded as "would …" and the request passes (dry run). */
    mode: z.enum(['enforce', 'monitor']).default('enforce'),
    /**
     * Upstream base URLs, http or https (round-robin). Empty: the bundled demo API is started. Env
     * `BULWARK_UPSTREAM`. User-info (`http://user:pass@host`) is refused: forwarding does not use it, and the
     * policy is shown to viewers and kept in policy versions and the audit log.
     */
    upstreams: z
      .array(
        z.url({ protocol: /^https?$/ }).refine((u) => {
          const p = URL.parse(u);
          return p !== null && p.username === '' && p.password === '';
        }, 'credentials in an upstream URL are not supported (they would be shown to viewers and kept in the audit log)'),
      )
      .default([]),
    /** Peers whose X-Forwarded-For / Forwarded headers are believed (right-most untrusted hop is the client). */
    trustedProxies: z.array(cidr).default([]),
    clientIp: z
      .object({
        /** IPv6 clients are aggregated to this prefix length for limits and bans (/64 = one subscriber). */
        ipv6PrefixLength: z.int().min(16).max(128).default(64),
        /**
         * The one header trusted proxies write the client chain to: `x-forwarded-for` (nginx, HAProxy, cloud load
         * balancers) or `forwarded` (RFC 7239). Only that header is read: were both read, a client could put the
         * one its proxy does not rewrite in front of the one it does.
         */
        forwardedHeader: z.enum(['x-forwarded-for', 'forwarded']).default('x-forwarded-for'),
      })
      .prefault({}),
    body: z
      .object({
        /** Request body bytes the pipeline may inspect (default 64 KiB). */
        inspectLimitBytes: z.int().positive().max(16 * 1024 * 1024).default(64 * 1024),
        /** Bodies larger than the limit: `inspect-prefix` inspects the first bytes and streams the rest; `reject` answers 413. */
        oversize: z.enum(['inspect-prefix', 'reject']).default('inspect-prefix'),
      })
      .prefault({}),
    identity: z
      .object({
        /** Headers carrying an API key (first present wins). */
        apiKeyHeaders: z.array(z.string().regex(/^[a-z0-9-]{1,64}$/)).default(['x-api-key']),
        /**
         * Take the user from the `sub` claim of a Bearer JWT. The signature is not verified, so it only groups
         * counters: bans and risk decisions for such a user go to the client IP that sent it.
         */
        jwtSubject: z.boolean().default(true),
        /** Header carrying an authenticated user id set by an auth layer in front of Bulwark; believed only from `trustedProxies`. */
        userHeader: z.string().regex(/^[a-z0-9-]{1,64}$/).optional(),
        /**
         * Path patterns (the rate-limit `match.path` syntax: `*` or `:name` one segment, `**` any number;
         * case-insensitive; every method) of upstream routes that check the API key or token of every request.
         * An API key or unverified JWT user counts as its own identity (per-identity counters, risk scope
         * `api_key`) only after the upstream answered it 2xx/3xx, sent as the request's only credential header
         * (API key header or Authorization), on a route that enforces that kind of credential: one listed here
         * (both kinds), or one where the upstream itself answered 401 before (RFC 9110 §15.5.2) to a request
         * carrying that kind alone or no credential header (learned per method and route with id segments as
         * `{id}`, at most 4,096 routes); a 401 to it alone forgets it again. A made-up key sent to a public
         * route, or beside a valid token, stays keyed by the client IP. Login routes
         * (`behavior.bruteForce.loginRoutes`, and the requests the `login-ip` rate-limit rule matches) never count,
         * even when listed. Default: none (learned from 401s only).
         */
        authenticatedRoutes: z.array(z.string().regex(/^\/\S{0,512}$/, 'expected a path pattern such as "/api/orders/**"')).default([]),
      })
      .prefault({}),
    proxy: z
      .object({
        /** Time to wait for upstream response headers before answering 504. */
        headersTimeout: duration.refine((ms) => ms >= 100, 'expected at least 100ms (0 would turn the timeout off)').default(30_000),
        /**
         * Time a client has to send its whole request header section (slowloris guard; nginx
         * `client_header_timeout`): 408 and a `gateway.header-timeout` event past it. Checked every second.
         */
        clientHeadersTimeout: duration.refine((ms) => ms >= 1000, 'expected at least 1s').default(30_000),
        /** Idle time on a streaming body before the exchange is aborted. */
        bodyTimeout: duration.refine((ms) => ms >= 100, 'expected at least 100ms (0 would fail every body read at once)').default(60_000),
        /**
         * Minimum rate, bytes per second, at which a request body streamed upstream must arrive, measured over
         * windows of `minBodyRateWindow` (0 disables). A slower client gets 408 and a `gateway.slow-body` event:
         * each body in flight holds an upstream connection, so `connections` clients dripping a byte per idle
         * timeout would starve everyone (slow-POST). Default after Apache mod_reqtimeout's `MinRate=500`.
         */
        minBodyRate: z.int().min(0).max(1_000_000_000).default(500),
        minBodyRateWindow: duration.refine((ms) => ms >= 100, 'expected at least 100ms').default(10_000),
        /** Keep-alive connections per upstream. */
        connections: z.int().positive().max(4096).default(128),
      })
      .prefault({}),
    rateLimits: z.array(rateLimitRuleSchema).default(() => DEFAULT_RATE_LIMITS.map((r) => rateLimitRuleSchema.parse(r))),
    decisions: z
      .object({
        /** Ban length when a rule asks for a ban without a duration. */
        defaultBanDuration: duration.default(15 * 60_000),
        /** Each repeat offence multiplies the duration by this (CrowdSec-style escalation), capped by `maxBanDuration`. */
        escalationMultiplier: z.number().min(1).max(100).default(2),
        maxBanDuration: duration.default(7 * 86_400_000),
        /** Offences are counted over this window; after it the count starts over. */
        offenceWindow: duration.default(86_400_000),
      })
      .prefault({}),
    lists: z.object({ allow: listSchema, deny: listSchema }).prefault({}),
    events: z
      .object({
        /** Share of allowed requests recorded as events (0–1). Non-allow decisions are always recorded. */
        sampleAllowed: z.number().min(0).max(1).default(0),
        retention: duration.default(30 * 86_400_000),
        /** Events waiting for the store; past this they are dropped and counted (traffic is never blocked). */
        queueLimit: z.int().positive().default(50_000),
        batchSize: z.int().positive().max(10_000).default(500),
        flushInterval: duration.default(250),
      })
      .prefault({}),
    /** Bound on per-client state entries (rate limits, behaviour windows), per store. */
    state: z
      .object({
        maxKeys: z.int().positive().default(200_000),
      })
      .prefault({}),
    detection: detectionSchema.prefault({}),
    behavior: behaviorSchema.prefault({}),
    controlPlane: controlPlaneSchema.prefault({}),
  })
  .strict();

/** A validated policy with all defaults applied. Durations are in milliseconds. */
export type Policy = z.output<typeof policySchema>;
/** A single validated rate-limit rule. */
export type RateLimitRule = z.output<typeof rateLimitRuleSchema>;
/** Policy as written in YAML (before defaults). */
export type PolicyInput = z.input<typeof policySchema>;
