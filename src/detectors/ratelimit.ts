import { createHash } from 'node:crypto';
import type { RequestContext } from '../core/context.ts';
import type { Detector, DetectorFactory } from '../core/detector.ts';
import { LruMap } from '../core/lru.ts';
import type { Services } from '../core/services.ts';
import type { DecisionScope, Signal } from '../core/types.ts';
import type { Policy, RateLimitRule } from '../config/schema.ts';
import { maskApiKey } from '../events/record.ts';
import type { RateLimitResult } from '../ratelimit/gcra.ts';
import type { RedisRateLimitStore } from '../ratelimit/redis-store.ts';
import { RouteMatcher, routePathOf } from '../ratelimit/route-pattern.ts';
import { MemoryRateLimitStore, type RateLimitParams, type RateLimitStore } from '../ratelimit/store.ts';

/** A rule ready to evaluate. */
interface CompiledRule {
  rule: RateLimitRule;
  matcher: RouteMatcher;
  params: RateLimitParams;
  /** `"id";q=limit;w=windowS` (RateLimit-Policy item). */
  policyItem: string;
  /** `"id";r=` (start of the RateLimit item). */
  remainingPrefix: string;
  windowS: number;
  /** The key value for a request, or undefined when the request has none (rule skipped). */
  key: (ctx: RequestContext) => string | undefined;
  /** The key as shown in evidence (secrets masked). */
  display: (ctx: RequestContext, key: string) => string;
  /** Decision scope/value for `action: ban`. */
  banTarget: (ctx: RequestContext) => { scope: DecisionScope; value: string };
}

/** Shortens long or secret key values for state keys: SHA-256, base64url, 22 chars (132 bits). */
function digest(v: string): string {
  return createHash('sha256').update(v).digest('base64url').slice(0, 22);
}

function compile(rule: RateLimitRule): CompiledRule {
  const windowS = Math.max(1, Math.round(rule.window / 1000));
  const params: RateLimitParams = { ruleId: rule.id, algorithm: rule.algorithm, limit: rule.limit, windowMs: rule.window, burst: rule.burst };
  const ipBan = (ctx: RequestContext): { scope: DecisionScope; value: string } => ({ scope: 'ip', value: ctx.clientKey });
  let key: CompiledRule['key'];
  let display: CompiledRule['display'] = (_ctx, k) => k;
  let banTarget = ipBan;
  switch (rule.key) {
    case 'ip':
      key = (ctx) => ctx.clientKey;
      break;
    case 'api_key':
      // API keys never appear in state keys or evidence in clear.
      key = (ctx) => (ctx.apiKey === undefined || ctx.apiKey === '' ? undefined : digest(ctx.apiKey));
      display = (ctx) => maskApiKey(ctx.apiKey ?? '');
      // The ban holds the masked key (the decision service matches it): no secret in the decision store.
      banTarget = (ctx) => (ctx.apiKey ? { scope: 'api_key', value: maskApiKey(ctx.apiKey) } : ipBan(ctx));
      break;
    case 'user':
      key = (ctx) => {
        const u = ctx.userKey();
        return u === undefined ? undefined : u.length > 64 ? digest(u) : u;
      };
      display = (ctx) => (ctx.user ?? '').slice(0, 64);
      // a forgeable user (unverified JWT sub) is counted, but the ban goes to the client that sent it
      banTarget = (ctx) => (ctx.user && ctx.userVerified ? { scope: 'user', value: ctx.user } : ipBan(ctx));
      break;
    case 'fingerprint':
      key = (ctx) => (ctx.fingerprint === undefined || ctx.fingerprint === '' ? undefined : ctx.fingerprint.length > 64 ? digest(ctx.fingerprint) : ctx.fingerprint);
      banTarget = (ctx) => (ctx.fingerprint ? { scope: 'fingerprint', value: ctx.fingerprint } : ipBan(ctx));
      break;
    default: {
      // header:<name> — the value may be a credential (Authorization): hashed, and masked in evidence.
      const name = rule.key.slice('header:'.length);
      key = (ctx) => {
        const v = ctx.header(name);
        return v === '' ? undefined : digest(v);
      };
      display = (ctx) => maskApiKey(ctx.header(name));
    }
  }
  return {
    rule,
    matcher: new RouteMatcher(rule.match.path, rule.match.methods),
    params,
    policyItem: `"${rule.id}";q=${rule.limit};w=${windowS}`,
    remainingPrefix: `"${rule.id}";r=`,
    windowS,
    key,
    display,
    banTarget,
  };
}

/** State shared by the detectors built for one {@link Services} (survives policy reloads). */
interface Shared {
  store: RateLimitStore;
  /** Consecutive rejections per `rule\0key` for rules with `action: ban`: count and first rejection time. */
  streaks: LruMap<string, { n: number; since: number }>;
  refs: number;
  /** `state.maxKeys` the memory store was built with. */
  maxKeys: number;
  /** Updates `bulwark_tracked_keys{store="ratelimit"}` every 5 s (unref'd). */
  gauge?: NodeJS.Timeout;
}

const shared = new WeakMap<object, Shared>();

/**
 * The Redis store class, loaded only when Redis is configured: a gateway without Redis does not load ioredis
 * at all (start-up time and memory). Loading it also puts `String.prototype` in V8's slow dictionary mode
 * (payload engine ~1.4× slower), which `src/core/redis.ts`, the only way Bulwark imports ioredis, undoes.
 */
let RedisStoreClass: typeof RedisRateLimitStore | undefined;

/**
 * Loads the Redis rate-limit store; the composition root awaits it before building detectors when
 * `services.redisUrl` is set. Without it, a Redis-configured limiter refuses to start (throws).
 */
export async function loadRedisRateLimitStore(): Promise<void> {
  RedisStoreClass ??= (await import('../ratelimit/redis-store.ts')).RedisRateLimitStore;
}

function acquire(policy: Policy, services: Services): Shared {
  let s = shared.get(services);
  // A new memory bound (hot reload of `state.maxKeys`) starts a new store; detectors of the old pipeline
  // keep theirs until they are closed.
  const resized = s !== undefined && !services.redisUrl && s.maxKeys !== policy.state.maxKeys;
  if (!s || s.refs <= 0 || resized) {
    if (services.redisUrl && RedisStoreClass === undefined) throw new Error('Redis rate-limit store not loaded: await loadRedisRateLimitStore() before building detectors');
    const store: RateLimitStore = services.redisUrl
      ? new RedisStoreClass!(services.redisUrl, { prefix: services.redisPrefix ?? 'bulwark:' })
      : new MemoryRateLimitStore(policy.state.maxKeys);
    s = { store, streaks: new LruMap(Math.max(1000, Math.min(policy.state.maxKeys, 100_000))), refs: 0, maxKeys: policy.state.maxKeys };
    const metrics = services.metrics;
    if (metrics) {
      s.gauge = setInterval(() => metrics.trackedKeys.set({ store: 'ratelimit' }, store.size), 5000);
      s.gauge.unref();
    }
    shared.set(services, s);
  }
  s.refs++;
  return s;
}

/**
 * Rate limits (`rateLimits` in the policy): every rule whose route pattern and method match is evaluated
 * (GCRA or sliding window, see `src/ratelimit/`), keyed by client IP (`ctx.clientKey`), API key, user,
 * fingerprint or `header:<name>`; a rule whose key is absent from the request is skipped.
 *
 * - Over the limit → signal `ratelimit.<rule id>` with `action: 'throttle'` (429), or `'ban'` once the key
 *   has been rejected `banAfter` times in a row within the rule's window (`ban.durationMs = banDuration`);
 *   `monitor` comes from the rule; `evidence.detail = { limit, windowS, key, retryAfterS }` (the decide step
 *   takes Retry-After from `retryAfterS`).
 * - Every matched request gets `RateLimit-Policy` and `RateLimit` response headers
 *   (draft-ietf-httpapi-ratelimit-headers-09, structured-field lists), one item per matching rule, the most
 *   restrictive (fewest remaining) first: `RateLimit-Policy: "default-ip";q=100;w=60` and
 *   `RateLimit: "default-ip";r=42;t=17`.
 * - Allow-listed clients are counted (`runsOnAllowListed`) but never throttled.
 * - State: in memory (bounded LRU per rule, synchronous) or in Redis when `services.redisUrl` is set
 *   (shared between instances; each hit is a Promise). A Redis failure fails open (no signal) and is logged.
 */
export const rateLimitDetector: DetectorFactory<Services> = (policy, services) => {
  if (policy.rateLimits.length === 0) return undefined;
  const rules = policy.rateLimits.map(compile);
  const sh = acquire(policy, services);
  const store = sh.store;
  if (store instanceof MemoryRateLimitStore) store.retain(new Set(rules.map((r) => r.rule.id)));
  let closed = false;
  let lastErrorLog = 0;

  const signalFor = (c: CompiledRule, ctx: RequestContext, key: string, r: RateLimitResult, now: number): Signal => {
    const rule = c.rule;
    let action: 'throttle' | 'ban' = 'throttle';
    let ban: Signal['ban'];
    if (rule.action === 'ban') {
      const sk = `${rule.id}\u0000${key}`;
      const prev = sh.streaks.get(sk);
      const st = prev && now - prev.since <= rule.window ? { n: prev.n + 1, since: prev.since } : { n: 1, since: now };
      if (st.n >= rule.banAfter) {
        action = 'ban';
        ban = { ...c.banTarget(ctx), durationMs: rule.banDuration };
        sh.streaks.delete(sk);
      } else sh.streaks.set(sk, st);
    }
    const s: Signal = {
      ruleId: `ratelimit.${rule.id}`,
      detector: 'ratelimit',
      category: 'ratelimit',
      score: 0,
      action,
      monitor: rule.monitor,
      message: `rate limit ${rule.id} exceeded: ${rule.limit} requests per ${c.windowS}s by ${rule.key}`,
      evidence: { location: { kind: 'client' }, detail: { limit: rule.limit, windowS: c.windowS, key: c.display(ctx, key), retryAfterS: r.retryAfterS } },
    };
    if (ban) s.ban = ban;
    return s;
  };

  // Matched rules of the request being inspected, as parallel lists reused between requests (the memory
  // path is synchronous): no per-request list or per-rule record objects.
  const hitRules: CompiledRule[] = [];
  const hitKeys: string[] = [];
  const hitResults: RateLimitResult[] = [];

  /** Order of the response header items: fewest remaining first, then the longest reset (stable). */
  const before = (a: RateLimitResult, b: RateLimitResult): number => a.remaining - b.remaining || b.resetS - a.resetS;

  const finish = (ctx: RequestContext, rs: CompiledRule[], keys: string[], results: RateLimitResult[], n: number, now: number): Signal[] | undefined => {
    if (n === 0) return undefined;
    // insertion sort of the n (few) hits: stable, like Array.prototype.sort
    for (let i = 1; i < n; i++) {
      for (let j = i; j > 0 && before(results[j - 1]!, results[j]!) > 0; j--) {
        const r = results[j]!, c = rs[j]!, k = keys[j]!;
        results[j] = results[j - 1]!;
        rs[j] = rs[j - 1]!;
        keys[j] = keys[j - 1]!;
        results[j - 1] = r;
        rs[j - 1] = c;
        keys[j - 1] = k;
      }
    }
    let pol = '';
    let rl = '';
    let out: Signal[] | undefined;
    for (let i = 0; i < n; i++) {
      const c = rs[i]!;
      const r = results[i]!;
      if (i > 0) {
        pol += ', ';
        rl += ', ';
      }
      pol += c.policyItem;
      // a burst above the limit can leave more than q: never advertise more remaining than the quota
      rl += c.remainingPrefix + (r.remaining > c.rule.limit ? c.rule.limit : r.remaining) + ';t=' + r.resetS;
      if (!r.allowed && !ctx.allowListed) (out ??= []).push(signalFor(c, ctx, keys[i]!, r, now));
      else if (r.allowed && c.rule.action === 'ban') {
        const sk = `${c.rule.id}\u0000${keys[i]!}`;
        if (sh.streaks.peek(sk) !== undefined) sh.streaks.delete(sk);
      }
    }
    ctx.responseHeaders.push(['ratelimit-policy', pol], ['ratelimit', rl]);
    return out;
  };

  /** Whether rule `c` applies to the request; computes the normalized path only when a pattern needs it. */
  const applies = (c: CompiledRule, ctx: RequestContext): boolean =>
    c.matcher.matchesMethod(ctx.method) && (c.matcher.matchesEveryPath || c.matcher.matchesPath(routePathOf(ctx)));

  const detector: Detector = {
    name: 'ratelimit',
    runsOnAllowListed: true,
    inspectRequest(ctx: RequestContext): Signal[] | undefined | Promise<Signal[] | undefined> {
      const now = Date.now();
      if (store instanceof MemoryRateLimitStore) {
        let n = 0;
        for (let i = 0; i < rules.length; i++) {
          const c = rules[i]!;
          if (!applies(c, ctx)) continue;
          const key = c.key(ctx);
          if (key === undefined) continue;
          hitRules[n] = c;
          hitKeys[n] = key;
          hitResults[n] = store.hit(c.params, key, now);
          n++;
        }
        return finish(ctx, hitRules, hitKeys, hitResults, n, now);
      }
      const pending: Promise<{ c: CompiledRule; key: string; r: RateLimitResult } | undefined>[] = [];
      for (const c of rules) {
        if (!applies(c, ctx)) continue;
        const key = c.key(ctx);
        if (key === undefined) continue;
        pending.push(
          Promise.resolve(store.hit(c.params, key, now)).then(
            (r) => ({ c, key, r }),
            (err: unknown) => {
              services.metrics?.rateLimitStoreErrors.inc({ store: store.kind });
              if (now - lastErrorLog > 10_000) {
                lastErrorLog = now;
                services.logger?.error({ err, store: store.kind }, 'rate-limit store failed; failing open');
              }
              return undefined;
            },
          ),
        );
      }
      if (pending.length === 0) return undefined;
      return Promise.all(pending).then((all) => {
        const hits = all.filter((x) => x !== undefined);
        return finish(ctx, hits.map((h) => h.c), hits.map((h) => h.key), hits.map((h) => h.r), hits.length, now);
      });
    },
    close(): Promise<void> | void {
      if (closed) return;
      closed = true;
      sh.refs--;
      if (sh.refs <= 0) {
        if (shared.get(services) === sh) shared.delete(services);
        if (sh.gauge) clearInterval(sh.gauge);
        return sh.store.close();
      }
    },
  };
  services.metrics?.trackedKeys.set({ store: 'ratelimit' }, store.size);
  return detector;
};

/** Tracked-key count of the rate-limit state for `services` (for the `bulwark_tracked_keys` gauge). */
export function rateLimitTrackedKeys(services: object): number {
  return shared.get(services)?.store.size ?? 0;
}
