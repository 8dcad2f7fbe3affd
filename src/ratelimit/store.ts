import { gcra, type RateLimitResult } from './gcra.ts';
import { slidingWindow, type SlidingWindowState } from './sliding-window.ts';
import { SlabLru } from '../core/slab-lru.ts';

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
 * In-process store: one bounded {@link SlabLru} per rule, `maxKeys` keys each, so a flood of rotating client
 * IPs evicts the least recently seen keys (O(1)) instead of growing memory.
 *
 * Records are compact typed-array slots: a GCRA key holds one double (its TAT, ms relative to the store's
 * creation so rounding stays below 10^-6 ms); a sliding-window key holds three (window start, current and
 * previous counts). Measured cost per tracked key with 15-char IPv4 keys (`node bench/sections/ratelimit.ts`,
 * Node 24, heap + ArrayBuffers after GC): GCRA 53 B of structure + 34 B for the key string = 87 B/key
 * (17.4 MB at the default `state.maxKeys` = 200,000, per rule); sliding window 69 + 34 = 103 B/key.
 *
 * Expired records (TAT in the past, windows older than 2·W) are also swept every `sweepIntervalMs`.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly kind = 'memory';
  /** Max keys per rule. */
  readonly maxKeys: number;
  private readonly rules = new Map<string, { gcra: SlabLru; sw: SlabLru | undefined; windowMs: number }>();
  /** Clock origin: TATs are stored relative to it. */
  private readonly epoch: number;
  private readonly timer?: NodeJS.Timeout;
  /** Scratch state for the sliding window (no allocation per hit). */
  private readonly sw: SlidingWindowState = { start: 0, curr: 0, prev: 0 };

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
    for (const r of this.rules.values()) n += r.gcra.size + (r.sw?.size ?? 0);
    return n;
  }

  /** Keys evicted by the LRU bound over all rules (the flood indicator). */
  get evictions(): number {
    let n = 0;
    for (const r of this.rules.values()) n += r.gcra.evictions + (r.sw?.evictions ?? 0);
    return n;
  }

  private ruleState(p: RateLimitParams): { gcra: SlabLru; sw: SlabLru | undefined; windowMs: number } {
    let r = this.rules.get(p.ruleId);
    if (r === undefined) {
      r = { gcra: new SlabLru(this.maxKeys, 1), sw: undefined, windowMs: p.windowMs };
      this.rules.set(p.ruleId, r);
    }
    r.windowMs = p.windowMs;
    return r;
  }

  /** Synchronous hit; see {@link RateLimitStore.hit}. */
  hit(p: RateLimitParams, key: string, now: number): RateLimitResult {
    const r = this.ruleState(p);
    if (p.algorithm === 'gcra') {
      const lru = r.gcra;
      let slot = lru.find(key);
      const step = gcra(slot === -1 ? undefined : lru.vals[slot], now - this.epoch, p);
      if (step.allowed) {
        if (slot === -1) slot = lru.insert(key);
        lru.vals[slot] = step.tat;
      }
      return step;
    }
    const lru = (r.sw ??= new SlabLru(this.maxKeys, 3));
    let slot = lru.find(key);
    let st: SlidingWindowState | undefined;
    if (slot !== -1) {
      const o = slot * 3;
      st = this.sw;
      st.start = lru.vals[o]!;
      st.curr = lru.vals[o + 1]!;
      st.prev = lru.vals[o + 2]!;
    } else st = undefined;
    const { state, result } = slidingWindow(st, now, p);
    if (slot === -1) slot = lru.insert(key);
    const o = slot * 3;
    lru.vals[o] = state.start;
    lru.vals[o + 1] = state.curr;
    lru.vals[o + 2] = state.prev;
    return result;
  }

  /** Drops rules not in `ruleIds` (after a reload removed them). */
  retain(ruleIds: ReadonlySet<string>): void {
    for (const id of this.rules.keys()) if (!ruleIds.has(id)) this.rules.delete(id);
  }

  /** Removes records that no longer restrict anything; returns how many. */
  sweep(now: number): number {
    const t = now - this.epoch;
    let n = 0;
    for (const r of this.rules.values()) {
      const W = r.windowMs;
      n += r.gcra.sweep((v, o) => v[o]! <= t);
      if (r.sw) n += r.sw.sweep((v, o) => v[o]! + 2 * W <= now);
    }
    return n;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.rules.clear();
  }
}
