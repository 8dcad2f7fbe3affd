import { LruMap } from '../core/lru.ts';

/**
 * Windowed counters for behavioural detectors: fixed memory per key, an LRU of keys.
 *
 * - {@link BucketCounter}: a sliding window approximated by a ring of fixed buckets (e.g. 10 buckets of 1 min
 *   for a 10-minute window). The count is exact at bucket granularity; the error is at most one bucket's worth
 *   of events at the trailing edge (events up to `bucketMs` older than the window may still be counted), the
 *   usual trade-off of bucketed sliding windows (cf. the sliding-window rate limiter in Cloudflare's and
 *   Kong's docs). Long windows use coarse buckets (6 h in 24 buckets of 15 min) at the same cost.
 * - {@link SlidingCounter}: the two-window sliding-window counter (Cloudflare, "How we built rate limiting
 *   capable of scaling to millions of domains", 2017): the previous fixed window's count weighted by how much of
 *   it still overlaps the sliding window, plus the current window's count. Four numbers per key (~ 50 bytes), so
 *   it is used for per-client state; it assumes the previous window's events were evenly spread (Cloudflare
 *   measured 0.003 % of requests wrongly allowed or limited). The estimate is floored: it never over-counts a
 *   burst that fits entirely in the current window.
 * - {@link DistinctWindow}: distinct values seen within a window, bounded to `cap` values (saturating: counts
 *   above `cap` read as `cap`). Values are stored as 32-bit FNV-1a hashes, so memory is ~`cap` × 40 bytes at
 *   most, whatever the values' length. Collisions can only under-count (conservative for detection).
 * - {@link Ewma}: exponentially weighted moving average updated once per closed bucket, for surge and
 *   ratio-spike detection (NIST/SEMATECH e-Handbook 6.3.2.4, EWMA control charts).
 * - {@link KeyedState}: an {@link LruMap} from key to per-key state, so a million rotating client keys only
 *   evict older entries (bounded memory, see `npm run bench`).
 *
 * All times are milliseconds (usually `ctx.startedAt`), so tests drive the clock explicitly.
 */

/** 32-bit FNV-1a hash of a string (UTF-16 code units), as an unsigned integer. Linear in the length. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Sliding-window event counter made of `buckets` buckets of `bucketMs` each (window = buckets × bucketMs).
 * Memory: one `Uint32Array(buckets)` plus two numbers (~ 4 × buckets + 60 bytes).
 */
export class BucketCounter {
  /** Bucket length, ms. */
  readonly bucketMs: number;
  private readonly counts: Uint32Array;
  /** Absolute index (time / bucketMs) of the newest bucket written. */
  private head = -1;

  /**
   * @param windowMs - window length, ms (> 0).
   * @param buckets - number of buckets (1–1440); the window is rounded up to a multiple of the bucket length.
   * @throws {RangeError} on non-positive sizes.
   */
  constructor(windowMs: number, buckets: number) {
    if (!(windowMs > 0) || !Number.isInteger(buckets) || buckets < 1 || buckets > 1440) {
      throw new RangeError(`BucketCounter needs windowMs > 0 and 1..1440 buckets, got ${windowMs}, ${buckets}`);
    }
    this.bucketMs = Math.max(1, Math.ceil(windowMs / buckets));
    this.counts = new Uint32Array(buckets);
  }

  private advance(now: number): number {
    const idx = Math.floor(now / this.bucketMs);
    const n = this.counts.length;
    if (this.head === -1) {
      this.head = idx;
    } else if (idx > this.head) {
      const gap = idx - this.head;
      if (gap >= n) this.counts.fill(0);
      else for (let i = 1; i <= gap; i++) this.counts[(this.head + i) % n] = 0;
      this.head = idx;
    }
    return idx;
  }

  /** Adds `k` events at time `now` (ms); events older than the window are ignored. */
  add(now: number, k = 1): void {
    const idx = this.advance(now);
    if (idx <= this.head - this.counts.length) return;
    const slot = idx % this.counts.length;
    this.counts[slot] = Math.min(0xffffffff, this.counts[slot]! + k);
  }

  /** Events in the window ending at `now` (ms). */
  total(now: number): number {
    this.advance(now);
    let s = 0;
    for (let i = 0; i < this.counts.length; i++) s += this.counts[i]!;
    return s;
  }
}

/**
 * Sliding-window counter from two fixed windows (see the module comment): `total = floor(prev × overlap + cur)`.
 * Memory: one object with four numbers.
 */
export class SlidingCounter {
  /** Window length, ms. */
  readonly windowMs: number;
  /** Start of the current fixed window (ms), aligned to a multiple of `windowMs`. */
  private start = -1;
  private prev = 0;
  private cur = 0;

  /** @throws {RangeError} when `windowMs` is not positive. */
  constructor(windowMs: number) {
    if (!(windowMs > 0)) throw new RangeError(`SlidingCounter needs windowMs > 0, got ${windowMs}`);
    this.windowMs = windowMs;
  }

  private roll(now: number): void {
    const w = this.windowMs;
    if (this.start < 0) {
      this.start = Math.floor(now / w) * w;
      return;
    }
    if (now < this.start + w) return;
    const n = Math.floor((now - this.start) / w);
    this.prev = n === 1 ? this.cur : 0;
    this.cur = 0;
    this.start += n * w;
  }

  /** Adds `k` events at `now` (ms). */
  add(now: number, k = 1): void {
    this.roll(now);
    this.cur += k;
  }

  /** Estimated events in the sliding window ending at `now` (ms), floored. */
  total(now: number): number {
    this.roll(now);
    const overlap = 1 - (now - this.start) / this.windowMs;
    return Math.floor(this.prev * (overlap > 0 ? overlap : 0) + this.cur + 1e-9);
  }
}

/**
 * Distinct values within a sliding window, bounded to `cap` values. Entries are kept in last-seen order
 * (Map insertion order, re-inserted on touch), so expired entries are pruned from the front in O(expired).
 */
export class DistinctWindow {
  /** Window length, ms. */
  readonly windowMs: number;
  /** Maximum distinct values remembered; counts saturate at this value. */
  readonly cap: number;
  /** The only value (hash) while at most one is remembered, -1 when none: most keys never see a second value, so no Map is allocated for them. */
  private oneH = -1;
  private oneT = 0;
  private seen?: Map<number, number>;

  /**
   * @param windowMs - window length, ms.
   * @param cap - bound on remembered values (1–65536).
   * @throws {RangeError} on invalid sizes.
   */
  constructor(windowMs: number, cap: number) {
    if (!(windowMs > 0) || !Number.isInteger(cap) || cap < 1 || cap > 65536) {
      throw new RangeError(`DistinctWindow needs windowMs > 0 and cap 1..65536, got ${windowMs}, ${cap}`);
    }
    this.windowMs = windowMs;
    this.cap = cap;
  }

  private prune(now: number): void {
    const limit = now - this.windowMs;
    if (this.seen === undefined) {
      if (this.oneH !== -1 && this.oneT <= limit) this.oneH = -1;
      return;
    }
    for (const [k, t] of this.seen) {
      if (t > limit) break;
      this.seen.delete(k);
    }
  }

  /**
   * Records `value` at `now` (ms).
   * @returns true when the value was not already in the window (a new distinct value).
   */
  add(value: string, now: number): boolean {
    const h = fnv1a(value);
    this.prune(now);
    if (this.seen === undefined) {
      if (this.oneH === -1 || this.oneH === h) {
        const isNew = this.oneH === -1;
        this.oneH = h;
        this.oneT = now;
        return isNew;
      }
      if (this.cap === 1) {
        this.oneH = h;
        this.oneT = now;
        return true;
      }
      this.seen = new Map([[this.oneH, this.oneT]]);
      this.oneH = -1;
    }
    const had = this.seen.delete(h);
    this.seen.set(h, now);
    if (this.seen.size > this.cap) {
      const oldest = this.seen.keys().next();
      if (!oldest.done) this.seen.delete(oldest.value);
    }
    return !had;
  }

  /** Distinct values seen in the window ending at `now` (saturates at `cap`). */
  count(now: number): number {
    this.prune(now);
    return this.seen !== undefined ? this.seen.size : this.oneH === -1 ? 0 : 1;
  }

  /** Forgets `value` (e.g. a client whose failed login was followed by a success: a typo, not an attack). */
  delete(value: string): boolean {
    const h = fnv1a(value);
    if (this.seen !== undefined) return this.seen.delete(h);
    if (this.oneH !== h) return false;
    this.oneH = -1;
    return true;
  }

  /** True when `value` was seen within the window ending at `now`. */
  has(value: string, now: number): boolean {
    this.prune(now);
    const h = fnv1a(value);
    return this.seen !== undefined ? this.seen.has(h) : this.oneH === h;
  }
}

/**
 * Failures per member (a username per client, or a client per username) in a sliding window, with
 * forgiveness: `forgive(member)` drops a member's failures, so a failed login followed by a successful one
 * from the same client for the same username (a typo) stops counting. Bounded to `cap` members (least
 * recently failed evicted first); each member costs one {@link SlidingCounter} plus a map entry (~ 100 bytes);
 * a ledger with a single member (the common case) allocates no Map.
 */
export class FailureLedger {
  private readonly windowMs: number;
  /** Maximum members tracked. */
  readonly cap: number;
  private oneM: string | undefined;
  private oneC: SlidingCounter | undefined;
  private members?: Map<string, SlidingCounter>;

  /**
   * @param windowMs - window, ms. @param cap - members kept (1–4096).
   * @throws {RangeError} on invalid sizes.
   */
  constructor(windowMs: number, cap: number) {
    if (!Number.isInteger(cap) || cap < 1 || cap > 4096) throw new RangeError(`FailureLedger cap must be 1..4096, got ${cap}`);
    this.windowMs = windowMs;
    this.cap = cap;
  }

  /** Records one failure of `member` at `now` (ms). */
  add(member: string, now: number): void {
    if (this.members === undefined) {
      if (this.oneC === undefined || this.oneM === member || this.cap === 1) {
        if (this.oneM !== member) this.oneC = new SlidingCounter(this.windowMs);
        this.oneM = member;
        this.oneC!.add(now);
        return;
      }
      this.members = new Map([[this.oneM!, this.oneC]]);
      this.oneM = undefined;
      this.oneC = undefined;
    }
    let c = this.members.get(member);
    if (c !== undefined) this.members.delete(member);
    else c = new SlidingCounter(this.windowMs);
    c.add(now);
    this.members.set(member, c);
    if (this.members.size > this.cap) {
      const oldest = this.members.keys().next();
      if (!oldest.done) this.members.delete(oldest.value);
    }
  }

  /** Drops every failure of `member`. */
  forgive(member: string): void {
    if (this.members !== undefined) this.members.delete(member);
    else if (this.oneM === member) {
      this.oneM = undefined;
      this.oneC = undefined;
    }
  }

  /** Failures of all members in the window ending at `now`; members with none left are dropped. */
  total(now: number): number {
    if (this.members === undefined) {
      const n = this.oneC?.total(now) ?? 0;
      if (n === 0) {
        this.oneM = undefined;
        this.oneC = undefined;
      }
      return n;
    }
    let s = 0;
    for (const [m, c] of this.members) {
      const n = c.total(now);
      if (n === 0) this.members.delete(m);
      s += n;
    }
    return s;
  }

  /** Members with at least one failure in the window ending at `now`. */
  distinct(now: number): number {
    this.total(now);
    return this.members !== undefined ? this.members.size : this.oneC !== undefined ? 1 : 0;
  }
}

/**
 * Events in a long window counted in at most 6 coarse buckets of 8 bits each (saturating at 255), packed into
 * one number: a low-and-slow window of 6 h in 1-hour buckets costs ~ 40 bytes per client instead of a typed
 * array. The count is exact at bucket granularity (error: at most one bucket at the trailing edge).
 */
export class CoarseCounter {
  /** Bucket length, ms. */
  readonly bucketMs: number;
  private readonly buckets: number;
  /** Absolute index of the newest bucket. */
  private head = -1;
  /** Bucket counts, 8 bits each; bucket (head − i) at bits 8i…8i+7. */
  private packed = 0;

  /**
   * @param windowMs - window, ms. @param buckets - 1–6.
   * @throws {RangeError} on invalid sizes.
   */
  constructor(windowMs: number, buckets: number) {
    if (!(windowMs > 0) || !Number.isInteger(buckets) || buckets < 1 || buckets > 6) throw new RangeError(`CoarseCounter needs windowMs > 0 and 1..6 buckets, got ${windowMs}, ${buckets}`);
    this.bucketMs = Math.ceil(windowMs / buckets);
    this.buckets = buckets;
  }

  private advance(now: number): void {
    const idx = Math.floor(now / this.bucketMs);
    if (this.head === -1) this.head = idx;
    else if (idx > this.head) {
      const shift = idx - this.head;
      // shift older: multiply by 256^shift, keep `buckets` bytes
      this.packed = shift >= this.buckets ? 0 : (this.packed * 256 ** shift) % 256 ** this.buckets;
      this.head = idx;
    }
  }

  /** Adds one event at `now` (ms); saturates at 255 per bucket. */
  add(now: number): void {
    this.advance(now);
    if (Math.floor(now / this.bucketMs) < this.head) return;
    if (this.packed % 256 < 255) this.packed += 1;
  }

  /** Events in the window ending at `now`. */
  total(now: number): number {
    this.advance(now);
    let p = this.packed;
    let s = 0;
    for (let i = 0; i < this.buckets; i++) {
      s += p % 256;
      p = Math.floor(p / 256);
    }
    return s;
  }
}

/**
 * Exponentially weighted moving average of a per-bucket quantity, updated when a bucket closes:
 * `avg ← α·x + (1−α)·avg`. Empty buckets between updates count as 0, so a quiet period lowers the baseline.
 * α = 2/(N+1) for an N-bucket span (the usual EWMA span convention). The average starts at 0, not at the first
 * bucket: a key seen for the first time has no baseline yet, and a first bucket that is only partly covered
 * (the key appeared mid-bucket) must not become its baseline.
 */
export class Ewma {
  /** Bucket length, ms. */
  readonly bucketMs: number;
  /** Smoothing factor in (0, 1]. */
  readonly alpha: number;
  /** Current average per bucket (0 until the first bucket closes). */
  value = 0;
  /** Buckets closed so far (saturates), to require a warm-up before alerting. */
  samples = 0;
  private bucket = -1;
  private current = 0;

  /**
   * @param bucketMs - bucket length, ms.
   * @param spanBuckets - EWMA span N in buckets (α = 2/(N+1)).
   */
  constructor(bucketMs: number, spanBuckets: number) {
    this.bucketMs = Math.max(1, bucketMs);
    this.alpha = 2 / (Math.max(1, spanBuckets) + 1);
  }

  private roll(now: number): void {
    const idx = Math.floor(now / this.bucketMs);
    if (this.bucket === -1) {
      this.bucket = idx;
      return;
    }
    if (idx <= this.bucket) return;
    let gap = idx - this.bucket;
    this.push(this.current);
    this.current = 0;
    gap--;
    // Quiet buckets decay the average; cap the loop (after ~50 spans the average is ~0 anyway).
    const quiet = Math.min(gap, 1000);
    for (let i = 0; i < quiet; i++) this.push(0);
    this.bucket = idx;
  }

  private push(x: number): void {
    this.value = this.alpha * x + (1 - this.alpha) * this.value;
    if (this.samples < 1e9) this.samples++;
  }

  /** Adds `k` to the current bucket at time `now` (ms). */
  add(now: number, k = 1): void {
    this.roll(now);
    this.current += k;
  }

  /** Quantity accumulated in the current (open) bucket at `now`. */
  currentValue(now: number): number {
    this.roll(now);
    return this.current;
  }
}

/**
 * Per-key state in an LRU bounded to `maxKeys` entries; `get(key, now)` creates missing state with `init`.
 * Memory is `maxKeys` × (state size + ~100 bytes of map entry and key string).
 */
export class KeyedState<T> {
  private readonly lru: LruMap<string, T>;
  private readonly init: () => T;

  /**
   * @param maxKeys - bound on tracked keys (positive integer).
   * @param init - creates the state of a new key.
   * @throws {RangeError} when `maxKeys` is not a positive integer.
   */
  constructor(maxKeys: number, init: () => T) {
    this.lru = new LruMap<string, T>(maxKeys);
    this.init = init;
  }

  /** The state of `key`, created when missing; marks it most recently used. */
  get(key: string): T {
    let s = this.lru.get(key);
    if (s === undefined) {
      s = this.init();
      this.lru.set(key, s);
    }
    return s;
  }

  /** The state of `key` if tracked (does not create it or touch recency). */
  peek(key: string): T | undefined {
    return this.lru.peek(key);
  }

  /** Forgets `key` (e.g. after a ban was issued, so the next offence starts from zero). */
  delete(key: string): void {
    this.lru.delete(key);
  }

  /** Tracked keys. */
  get size(): number {
    return this.lru.size;
  }

  /** Keys evicted because of the bound. */
  get evictions(): number {
    return this.lru.evictions;
  }
}
