import { Redis } from '../core/redis.ts';
import type { RateLimitResult } from './gcra.ts';
import { slidingResult } from './sliding-window.ts';
import type { RateLimitParams, RateLimitStore } from './store.ts';

/**
 * GCRA in one Lua script, so the read-modify-write is atomic across gateway instances sharing a Redis.
 * KEYS[1] = state key; ARGV = now (ms), T (emission interval, ms), τ (burst tolerance, ms).
 * Returns {allowed (0/1), TAT after the step (ms, 3 decimals)}. A stored TAT beyond now + τ + T (a clock
 * stepped back, or skew between instances) is clamped to it, as in `gcra.ts`. The key expires (PEXPIRE) when TAT passes,
 * i.e. when its state no longer restricts anything, so Redis memory follows active clients only.
 */
const GCRA_LUA = `
local now = tonumber(ARGV[1])
local T = tonumber(ARGV[2])
local tau = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
if tat > now + tau + T then tat = now + tau + T end
local newTat = tat + T
if now < newTat - T - tau then
  return {0, string.format('%.3f', tat)}
end
redis.call('SET', KEYS[1], string.format('%.3f', newTat))
redis.call('PEXPIRE', KEYS[1], math.ceil(newTat - now) + 1)
return {1, string.format('%.3f', newTat)}
`;

/**
 * Sliding-window counter in one Lua script (see `sliding-window.ts` for the algorithm and its error bound; a
 * window opened by an instance whose clock runs ahead is counted in, not reset, as there).
 * KEYS[1] = hash {s: window start, c: current count, p: previous count}; ARGV = now, W (ms), limit.
 */
const SLIDING_LUA = `
local now = tonumber(ARGV[1])
local W = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local start = math.floor(now / W) * W
local h = redis.call('HMGET', KEYS[1], 's', 'c', 'p')
local s = tonumber(h[1])
local c = tonumber(h[2]) or 0
local p = tonumber(h[3]) or 0
if s == nil then
  s = start; c = 0; p = 0
elseif s > start then
  start = s
elseif s ~= start then
  if s == start - W then p = c else p = 0 end
  c = 0; s = start
end
local elapsed = now - start
if elapsed < 0 then elapsed = 0 end
local est = p * ((W - elapsed) / W) + c
local allowed = 0
if est + 1 <= limit + 1e-9 then
  c = c + 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 's', string.format('%.0f', s), 'c', c, 'p', p)
redis.call('PEXPIRE', KEYS[1], 2 * W)
return {allowed, string.format('%.0f', s), c, p}
`;

type Scripted = Redis & {
  bwGcra(key: string, now: number, T: number, tau: number): Promise<[number, string]>;
  bwSliding(key: string, now: number, W: number, limit: number): Promise<[number, string, number, number]>;
};

/**
 * Rate-limit state in Redis, shared by every gateway instance using the same `prefix`. Each hit is one
 * EVALSHA round trip (ioredis loads the script on first use). Instances must have synchronized clocks
 * (NTP): `now` comes from the calling instance.
 *
 * Key values go into Redis key names, so callers pass hashed values for secrets (API keys, headers).
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly kind = 'redis';
  readonly size = 0;
  private readonly redis: Scripted;
  private readonly prefix: string;
  private readonly owned: boolean;
  /** Set once connected: after that, a lost connection fails hits at once instead of queueing them. */
  private wasReady = false;

  /**
   * @param redis - a Redis URL (`redis://127.0.0.1:6379`) or an ioredis client (not closed by {@link close}).
   * @param opts.prefix - key prefix (default `bulwark:`); state keys are `<prefix>rl:<rule>:<key>`.
   */
  constructor(redis: string | Redis, opts: { prefix?: string } = {}) {
    this.owned = typeof redis === 'string';
    // commandTimeout bounds the latency a slow Redis can add to a request (the detector then fails open).
    const client = typeof redis === 'string' ? new Redis(redis, { maxRetriesPerRequest: 1, enableOfflineQueue: true, commandTimeout: 500 }) : redis;
    client.on('ready', () => {
      this.wasReady = true;
    });
    if (client.status === 'ready') this.wasReady = true;
    if (this.owned) client.on('error', () => { /* reported through rejected hits */ });
    client.defineCommand('bwGcra', { numberOfKeys: 1, lua: GCRA_LUA });
    client.defineCommand('bwSliding', { numberOfKeys: 1, lua: SLIDING_LUA });
    this.redis = client as Scripted;
    this.prefix = opts.prefix ?? 'bulwark:';
  }

  /** Counts one request atomically in Redis. Rejects when Redis is unreachable. */
  async hit(p: RateLimitParams, key: string, now: number): Promise<RateLimitResult> {
    // Before the first connection, commands queue (start-up); after an outage they fail fast (fail open).
    if (this.wasReady && this.redis.status !== 'ready') throw new Error(`redis ${this.redis.status}`);
    const k = `${this.prefix}rl:${p.ruleId}:${key}`;
    if (p.algorithm === 'gcra') {
      const T = p.windowMs / p.limit;
      const tau = T * ((p.burst ?? p.limit) - 1);
      const [ok, tatS] = await this.redis.bwGcra(k, now, T, tau);
      const tat = Number(tatS);
      if (ok === 1) {
        const remaining = Math.max(0, Math.floor((now + tau - tat) / T + 1e-9) + 1);
        return { allowed: true, remaining, resetS: Math.ceil((tat - now) / 1000), retryAfterS: 0, retryAfterMs: 0 };
      }
      const wait = tat - tau - now;
      return { allowed: false, remaining: 0, resetS: Math.ceil((tat - now) / 1000), retryAfterS: Math.max(1, Math.ceil(wait / 1000)), retryAfterMs: wait };
    }
    const [ok, s, c, prev] = await this.redis.bwSliding(k, now, p.windowMs, p.limit);
    return slidingResult({ start: Number(s), curr: Number(c), prev: Number(prev) }, now, p, ok === 1);
  }

  /** Closes the connection when this store opened it. */
  async close(): Promise<void> {
    if (this.owned) await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
