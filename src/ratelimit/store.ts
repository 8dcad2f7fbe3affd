import { LruMap } from '../core/lru.ts';
import { gcra, type RateLimitResult } from './gcra.ts';
import { slidingWindow, type SlidingWindowState } from './sliding-window.ts';

/** Parameters of one rule as the stores need them. */
export interface RateLimitParams {
  /** Rule id; state is kept per rule. */
  ruleId: string;
  algorithm: 'gcra' | 'sliding-window';
  /** Requests per window. */
  limit: number;
  /** Window in ms. */
  windowMs: number;
  /** GCRA burst (default `limit`); ignored by the sliding window. */
  burst?: number;
}

/**
 * Where rate-limit state lives. `hit` counts one request for `key` under a rule and says whether it is
 * within the limit. The memory store answers synchronously (no Promise on the hot path); shared stores
 * (Redis) answer with a Promise.
 */
export interface RateLimitStore {
  /** `memory` or `redis`, for metrics and logs. */
  readonly kind: string;
  /**
   * Counts one request. Rejected requests do not consume quota.
   * @param key - the rule's key value (client key, hashed API key, …), at most a few hundred chars.
   * @param now - ms since epoch.
   * @returns the result; shared stores reject on connection failure (callers fail open).
   */
  hit(p: RateLimitParams, key: string, now: number): RateLimitResult | Promise<RateLimitResult>;
  /** Number of keys tracked in memory (0 for shared stores). */
  readonly size: number;
  close(): Promise<void>;
}

/**
 * In-process store: one bounded {@link LruMap} per rule, `maxKeys` entries each, so a flood of rotating
 * client IPs evicts the least recently seen keys instead of growing memory.
 *
 * Values are compact: a GCRA key holds one number (its TAT, ms relative to the store's creation, kept small
 * so rounding stays below 10^-6 ms); a sliding-window key holds a 3-field object. Measured cost per tracked
 * key (GCRA, 15-char IPv4 key, `node --expose-gc bench/sections/ratelimit.ts`): about 120–150 bytes
 * including the Map entry and the key string — 200,000 keys ≈ 30 MB.
 *
 * Expired entries (TAT in the past, windows older than 2·W) are also swept every `sweepIntervalMs`.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = 'memory';
  /** Max keys per rule. */
  readonly maxKeys: number;
  private readonly rules = new Map<string, { map: LruMap<string, number | SlidingWindowState>; windowMs: number }>();
  /** Clock origin: TATs are stored relative to it. */
  private readonly epoch: number;
  private readonly timer?: NodeJS.Timeout;

  /**
   * @param maxKeys - bound per rule (`policy.state.maxKeys`).
   * @param opts.sweepIntervalMs - period of the expiry sweep (default 60,000 ms; 0 disables it).
   * @throws {RangeError} when `maxKeys` is not a positive integer.
   */
  constructor(maxKeys: number, opts: { sweepIntervalMs?: number; now?: number } = {}) {
    if (!Number.isInteger(maxKeys) || maxKeys <= 0) throw new RangeError(`maxKeys must be a positive integer, got ${maxKeys}`);
    this.maxKeys = maxKeys;
    this.epoch = opts.now ?? Date.now();
    const every = opts.sweepIntervalMs ?? 60_000;
    if (every > 0) {
      this.timer = setInterval(() => this.sweep(Date.now()), every);
      this.timer.unref();
    }
  }

  /** Keys tracked over all rules. */
  get size(): number {
    let n = 0;
    for (const r of this.rules.values()) n += r.map.size;
    return n;
  }

  /** Keys evicted by the LRU bound over all rules (the flood indicator). */
  get evictions(): number {
    let n = 0;
    for (const r of this.rules.values()) n += r.map.evictions;
    return n;
  }

  /** Synchronous hit; see {@link RateLimitStore.hit}. */
  hit(p: RateLimitParams, key: string, now: number): RateLimitResult {
    let r = this.rules.get(p.ruleId);
    if (r === undefined) {
      r = { map: new LruMap(this.maxKeys), windowMs: p.windowMs };
      this.rules.set(p.ruleId, r);
    }
    r.windowMs = p.windowMs;
    const map = r.map;
    if (p.algorithm === 'gcra') {
      const prev = map.peek(key);
      const t = now - this.epoch;
      const step = gcra(typeof prev === 'number' ? prev : undefined, t, p);
      if (step.allowed) map.set(key, step.tat);
      else if (prev !== undefined) map.get(key); // refresh recency: an active abuser stays tracked
      return step;
    }
    const prev = map.peek(key);
    const { state, result } = slidingWindow(typeof prev === 'object' ? prev : undefined, now, p);
    if (prev === undefined || typeof prev !== 'object') map.set(key, state);
    else map.get(key);
    return result;
  }

  /** Drops rules not in `ruleIds` (after a reload removed them). */
  retain(ruleIds: ReadonlySet<string>): void {
    for (const id of this.rules.keys()) if (!ruleIds.has(id)) this.rules.delete(id);
  }

  /** Removes entries whose state no longer restricts anything; returns how many. */
  sweep(now: number): number {
    const t = now - this.epoch;
    let n = 0;
    for (const r of this.rules.values()) {
      const W = r.windowMs;
      n += r.map.sweep((v) => (typeof v === 'number' ? v <= t : v.start + 2 * W <= now));
    }
    return n;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.rules.clear();
  }
}
