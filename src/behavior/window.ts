import { LruMap } from '../core/lru.ts';
import { SlabLru } from '../core/slab-lru.ts';

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
 * Sliding-window event counter made of `buckets` buckets of `bucketMs` each (window = buckets × bucketMs): one
 * {@link RecordBuckets} record of its own (the arithmetic lives there). Memory: one `Float64Array(1 + buckets)`
 * (~ 8 × buckets + 100 bytes).
 */
export class BucketCounter implements RecordArray {
  /** Bucket length, ms. */
  readonly bucketMs: number;
  readonly width: number;
  readonly vals: Float64Array;
  private readonly part: RecordBuckets;

  /**
   * @param windowMs - window length, ms (> 0).
   * @param buckets - number of buckets (1–1440); the window is rounded up to a multiple of the bucket length.
   * @throws {RangeError} on non-positive sizes.
   */
  constructor(windowMs: number, buckets: number) {
    this.part = new RecordBuckets(0, windowMs, buckets);
    this.bucketMs = this.part.bucketMs;
    this.width = this.part.width;
    this.vals = new Float64Array(this.width);
    this.part.reset(this, 0);
  }

  /** Adds `k` events at time `now` (ms); events older than the window are ignored. */
  add(now: number, k = 1): void {
    this.part.add(this, 0, now, k);
  }

  /** Events in the window ending at `now` (ms). */
  total(now: number): number {
    return this.part.total(this, 0, now);
  }
}

/**
 * Sliding-window counter from two fixed windows (see the module comment): `total = floor(prev × overlap + cur)`,
 * as one {@link RecordSliding} record of its own. Memory: one object and a three-double array.
 */
export class SlidingCounter implements RecordArray {
  /** Window length, ms. */
  readonly windowMs: number;
  readonly width = 3;
  readonly vals = new Float64Array(3);
  private readonly part: RecordSliding;

  /** @throws {RangeError} when `windowMs` is not positive. */
  constructor(windowMs: number) {
    this.part = new RecordSliding(0, windowMs);
    this.windowMs = windowMs;
    this.part.reset(this, 0);
  }

  /** Adds `k` events at `now` (ms). */
  add(now: number, k = 1): void {
    this.part.add(this, 0, now, k);
  }

  /** Estimated events in the sliding window ending at `now` (ms), floored. */
  total(now: number): number {
    return this.part.total(this, 0, now);
  }
}

/**
 * Distinct values within a sliding window, bounded to `cap` values. Entries are kept in last-seen order
 * (Map insertion order, re-inserted on touch), so expired entries are pruned from the front in O(expired).
 * One {@link RecordDistinct} record of its own: while at most one value is remembered it is kept in the record
 * and no Map is allocated (most keys never see a second value).
 */
export class DistinctWindow implements RecordArray {
  /** Window length, ms. */
  readonly windowMs: number;
  /** Maximum distinct values remembered; counts saturate at this value. */
  readonly cap: number;
  readonly width = 2;
  readonly vals = new Float64Array(2);
  private readonly part: RecordDistinct;

  /**
   * @param windowMs - window length, ms.
   * @param cap - bound on remembered values (1–65536).
   * @throws {RangeError} on invalid sizes.
   */
  constructor(windowMs: number, cap: number) {
    this.part = new RecordDistinct(0, windowMs, cap);
    this.windowMs = windowMs;
    this.cap = cap;
    this.part.reset(this, 0);
  }

  /**
   * Records `value` at `now` (ms).
   * @returns true when the value was not already in the window (a new distinct value).
   */
  add(value: string, now: number): boolean {
    return this.part.add(this, 0, value, now);
  }

  /** Distinct values seen in the window ending at `now` (saturates at `cap`). */
  count(now: number): number {
    return this.part.count(this, 0, now);
  }

  /** Forgets `value` (e.g. a client whose failed login was followed by a success: a typo, not an attack). */
  delete(value: string): boolean {
    return this.part.delete(this, 0, value);
  }

  /** True when `value` was seen within the window ending at `now`. */
  has(value: string, now: number): boolean {
    return this.part.has(this, 0, value, now);
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
export class Ewma implements RecordArray {
  /** Bucket length, ms. */
  readonly bucketMs: number;
  /** Smoothing factor in (0, 1]. */
  readonly alpha: number;
  readonly width = 4;
  readonly vals = new Float64Array(4);
  private readonly part: RecordEwma;

  /**
   * @param bucketMs - bucket length, ms.
   * @param spanBuckets - EWMA span N in buckets (α = 2/(N+1)).
   */
  constructor(bucketMs: number, spanBuckets: number) {
    this.part = new RecordEwma(0, bucketMs, spanBuckets);
    this.bucketMs = this.part.bucketMs;
    this.alpha = this.part.alpha;
    this.part.reset(this, 0);
  }

  /** Current average per bucket (0 until the first bucket closes). */
  get value(): number {
    return this.part.value(this, 0);
  }

  /** Buckets closed so far (saturates), to require a warm-up before alerting. */
  get samples(): number {
    return this.part.samples(this, 0);
  }

  /** Adds `k` to the current bucket at time `now` (ms). */
  add(now: number, k = 1): void {
    this.part.add(this, 0, now, k);
  }

  /** Quantity accumulated in the current (open) bucket at `now`. */
  currentValue(now: number): number {
    return this.part.currentValue(this, 0, now);
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
      this.lru.add(key, s);
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

/**
 * Fixed-width numeric records in one array: record `slot` is `vals[slot × width … slot × width + width − 1]`.
 * {@link KeyedRecords} holds many; {@link BucketCounter}, {@link SlidingCounter}, {@link DistinctWindow} and
 * {@link Ewma} are each one record of their own (slot 0), so each algorithm is written once, in its part.
 */
export interface RecordArray {
  /** The records; may be replaced when the holder grows (read it after any insert). */
  readonly vals: Float64Array;
  /** Doubles per record. */
  readonly width: number;
}

/**
 * One part of a fixed-width numeric record of a {@link KeyedRecords} store (a counter, a distinct-value window,
 * an EWMA): it owns the fields `at … at + width − 1` of every record and works on a record given as
 * (store, slot). The single-record classes {@link BucketCounter}, {@link DistinctWindow}, {@link Ewma} and
 * {@link SlidingCounter} are these parts on a record of their own.
 */
export interface RecordPart {
  /** Index of the part's first field in the record. */
  readonly at: number;
  /** Fields the part uses. */
  readonly width: number;
  /** Puts the part of a new record (slot) in its initial state (the store calls it on every insert). */
  reset(store: RecordArray, slot: number): void;
  /** Drops what the part keeps outside the record for a slot (on delete). */
  release?(slot: number): void;
}

/**
 * Per-key numeric records in an LRU bounded to `maxKeys` keys, for per-client state that would otherwise be a
 * few small objects per key: every record is `width` doubles in one `Float64Array` (index `slot × width`), laid
 * out by its {@link RecordPart}s. A new key costs its `Map` entry and no object of its own, so a flood of
 * one-request clients allocates nothing the old generation has to collect (the objects of a {@link KeyedState}
 * entry are each promoted and later marked). The array grows by doubling up to `maxKeys` records:
 * memory ≤ `maxKeys` × (8 × `width` + ~ 60 bytes of map entry, slot links and key) + the key strings.
 */
export class KeyedRecords implements RecordArray {
  private readonly slab: SlabLru;
  private readonly parts: readonly RecordPart[];
  /** Doubles per record. */
  readonly width: number;

  /**
   * @param maxKeys - bound on tracked keys (positive integer).
   * @param parts - the record's parts (their fields must not overlap).
   * @throws {RangeError} when `maxKeys` is not a positive integer.
   */
  constructor(maxKeys: number, parts: readonly RecordPart[]) {
    let w = 1;
    for (const p of parts) w = Math.max(w, p.at + p.width);
    this.slab = new SlabLru(maxKeys, w, 64);
    this.parts = parts;
    this.width = w;
  }

  /** The records; replaced when it grows, so read it after `get`/`insert`, never keep it across them. */
  get vals(): Float64Array {
    return this.slab.vals;
  }

  /** The slot of `key`, marked most recently used; −1 when not tracked. */
  find(key: string): number {
    return this.slab.find(key);
  }

  /** The slot of `key` without touching recency; −1 when not tracked. */
  peek(key: string): number {
    return this.slab.peek(key);
  }

  /** The slot of `key`, inserted (initial record, most recently used) when missing. */
  get(key: string): number {
    const s = this.slab.find(key);
    return s !== -1 ? s : this.insert(key);
  }

  /** Inserts an absent `key`, evicting the least recently used key at the bound; returns its slot. */
  private insert(key: string): number {
    const s = this.slab.insert(key);
    for (const p of this.parts) p.reset(this, s);
    return s;
  }

  /** Forgets `key` (e.g. after a ban, so the next offence starts from zero). */
  delete(key: string): void {
    const s = this.slab.peek(key);
    if (s === -1) return;
    for (const p of this.parts) p.release?.(s);
    this.slab.removeSlot(s);
  }

  /** Tracked keys. */
  get size(): number {
    return this.slab.size;
  }

  /** Keys evicted because of the bound. */
  get evictions(): number {
    return this.slab.evictions;
  }
}

/** Record fields of a {@link BucketCounter}: the head bucket index, then one count per bucket. */
export class RecordBuckets implements RecordPart {
  readonly at: number;
  readonly width: number;
  /** Bucket length, ms. */
  readonly bucketMs: number;
  private readonly n: number;

  /**
   * @param at - first field. @param windowMs - window, ms (> 0). @param buckets - 1–1440.
   * @throws {RangeError} on non-positive sizes (as {@link BucketCounter}).
   */
  constructor(at: number, windowMs: number, buckets: number) {
    if (!(windowMs > 0) || !Number.isInteger(buckets) || buckets < 1 || buckets > 1440) {
      throw new RangeError(`BucketCounter needs windowMs > 0 and 1..1440 buckets, got ${windowMs}, ${buckets}`);
    }
    this.at = at;
    this.n = buckets;
    this.width = 1 + buckets;
    this.bucketMs = Math.max(1, Math.ceil(windowMs / buckets));
  }

  /** Index just after the part's fields (where the next part may start). */
  get end(): number {
    return this.at + this.width;
  }

  reset(store: RecordArray, slot: number): void {
    store.vals[slot * store.width + this.at] = -1;
  }

  private advance(v: Float64Array, b: number, now: number): number {
    const idx = Math.floor(now / this.bucketMs);
    const n = this.n;
    const head = v[b]!;
    if (head === -1) {
      v[b] = idx;
    } else if (idx > head) {
      const gap = idx - head;
      if (gap >= n) v.fill(0, b + 1, b + 1 + n);
      else for (let i = 1; i <= gap; i++) v[b + 1 + ((head + i) % n)] = 0;
      v[b] = idx;
    }
    return idx;
  }

  /** As {@link BucketCounter.add}: adds `k` events at `now` (ms); events older than the window are ignored. */
  add(store: RecordArray, slot: number, now: number, k = 1): void {
    const v = store.vals;
    const b = slot * store.width + this.at;
    const idx = this.advance(v, b, now);
    if (idx <= v[b]! - this.n) return;
    const j = b + 1 + (idx % this.n);
    v[j] = Math.min(0xffffffff, v[j]! + k) >>> 0;
  }

  /** As {@link BucketCounter.total}: events in the window ending at `now` (ms). */
  total(store: RecordArray, slot: number, now: number): number {
    const v = store.vals;
    const b = slot * store.width + this.at;
    this.advance(v, b, now);
    let s = 0;
    for (let i = 1; i <= this.n; i++) s += v[b + i]!;
    return s;
  }
}

/** Record fields of an {@link Ewma}: value, samples, bucket index, current bucket's quantity. */
export class RecordEwma implements RecordPart {
  readonly at: number;
  readonly width = 4;
  /** Bucket length, ms. */
  readonly bucketMs: number;
  /** Smoothing factor in (0, 1]. */
  readonly alpha: number;

  /** @param at - first field. @param bucketMs - bucket length, ms. @param spanBuckets - EWMA span N (α = 2/(N+1)). */
  constructor(at: number, bucketMs: number, spanBuckets: number) {
    this.at = at;
    this.bucketMs = Math.max(1, bucketMs);
    this.alpha = 2 / (Math.max(1, spanBuckets) + 1);
  }

  /** Index just after the part's fields. */
  get end(): number {
    return this.at + this.width;
  }

  reset(store: RecordArray, slot: number): void {
    store.vals[slot * store.width + this.at + 2] = -1;
  }

  private push(v: Float64Array, b: number, x: number): void {
    v[b] = this.alpha * x + (1 - this.alpha) * v[b]!;
    if (v[b + 1]! < 1e9) v[b + 1]!++;
  }

  private roll(v: Float64Array, b: number, now: number): void {
    const idx = Math.floor(now / this.bucketMs);
    const bucket = v[b + 2]!;
    if (bucket === -1) {
      v[b + 2] = idx;
      return;
    }
    if (idx <= bucket) return;
    let gap = idx - bucket;
    this.push(v, b, v[b + 3]!);
    v[b + 3] = 0;
    gap--;
    const quiet = Math.min(gap, 1000);
    for (let i = 0; i < quiet; i++) this.push(v, b, 0);
    v[b + 2] = idx;
  }

  /** As {@link Ewma.add}: adds `k` to the current bucket at `now` (ms). */
  add(store: RecordArray, slot: number, now: number, k = 1): void {
    const v = store.vals;
    const b = slot * store.width + this.at;
    this.roll(v, b, now);
    v[b + 3] = v[b + 3]! + k;
  }

  /** As {@link Ewma.currentValue}: quantity in the current (open) bucket at `now`. */
  currentValue(store: RecordArray, slot: number, now: number): number {
    const v = store.vals;
    const b = slot * store.width + this.at;
    this.roll(v, b, now);
    return v[b + 3]!;
  }

  /** As {@link Ewma.value}: the average per bucket (0 until the first bucket closes). */
  value(store: RecordArray, slot: number): number {
    return store.vals[slot * store.width + this.at]!;
  }

  /** As {@link Ewma.samples}: buckets closed so far. */
  samples(store: RecordArray, slot: number): number {
    return store.vals[slot * store.width + this.at + 1]!;
  }
}

/**
 * Record fields of a {@link DistinctWindow}: the only value's hash (−1: none) and its time; from the second
 * distinct value on, a `Map` kept beside the record (per slot, released on delete and reuse), exactly as the
 * class does.
 */
export class RecordDistinct implements RecordPart {
  readonly at: number;
  readonly width = 2;
  /** Window length, ms. */
  readonly windowMs: number;
  /** Maximum distinct values remembered; counts saturate at this value. */
  readonly cap: number;
  private readonly seen: (Map<number, number> | undefined)[] = [];

  /**
   * @param at - first field. @param windowMs - window, ms. @param cap - bound on remembered values (1–65536).
   * @throws {RangeError} on invalid sizes (as {@link DistinctWindow}).
   */
  constructor(at: number, windowMs: number, cap: number) {
    if (!(windowMs > 0) || !Number.isInteger(cap) || cap < 1 || cap > 65536) {
      throw new RangeError(`DistinctWindow needs windowMs > 0 and cap 1..65536, got ${windowMs}, ${cap}`);
    }
    this.at = at;
    this.windowMs = windowMs;
    this.cap = cap;
  }

  /** Index just after the part's fields. */
  get end(): number {
    return this.at + this.width;
  }

  reset(store: RecordArray, slot: number): void {
    store.vals[slot * store.width + this.at] = -1;
    if (slot < this.seen.length) this.seen[slot] = undefined;
    else while (this.seen.length <= slot) this.seen.push(undefined);
  }

  release(slot: number): void {
    if (slot < this.seen.length) this.seen[slot] = undefined;
  }

  private prune(v: Float64Array, b: number, seen: Map<number, number> | undefined, now: number): void {
    const limit = now - this.windowMs;
    if (seen === undefined) {
      if (v[b] !== -1 && v[b + 1]! <= limit) v[b] = -1;
      return;
    }
    for (const [k, t] of seen) {
      if (t > limit) break;
      seen.delete(k);
    }
  }

  /** As {@link DistinctWindow.add}: records `value` at `now` (ms); true when it is new in the window. */
  add(store: RecordArray, slot: number, value: string, now: number): boolean {
    const v = store.vals;
    const b = slot * store.width + this.at;
    const h = fnv1a(value);
    let seen = this.seen[slot];
    this.prune(v, b, seen, now);
    if (seen === undefined) {
      const one = v[b]!;
      if (one === -1 || one === h) {
        v[b] = h;
        v[b + 1] = now;
        return one === -1;
      }
      if (this.cap === 1) {
        v[b] = h;
        v[b + 1] = now;
        return true;
      }
      seen = new Map([[one, v[b + 1]!]]);
      this.seen[slot] = seen;
      v[b] = -1;
    }
    const had = seen.delete(h);
    seen.set(h, now);
    if (seen.size > this.cap) {
      const oldest = seen.keys().next();
      if (!oldest.done) seen.delete(oldest.value);
    }
    return !had;
  }

  /** As {@link DistinctWindow.delete}: forgets `value`; true when it was remembered. */
  delete(store: RecordArray, slot: number, value: string): boolean {
    const h = fnv1a(value);
    const seen = this.seen[slot];
    if (seen !== undefined) return seen.delete(h);
    const b = slot * store.width + this.at;
    if (store.vals[b] !== h) return false;
    store.vals[b] = -1;
    return true;
  }

  /** As {@link DistinctWindow.has}: true when `value` was seen within the window ending at `now` (ms). */
  has(store: RecordArray, slot: number, value: string, now: number): boolean {
    const v = store.vals;
    const b = slot * store.width + this.at;
    const seen = this.seen[slot];
    this.prune(v, b, seen, now);
    const h = fnv1a(value);
    return seen !== undefined ? seen.has(h) : v[b] === h;
  }

  /** As {@link DistinctWindow.count}: distinct values in the window ending at `now` (saturates at `cap`). */
  count(store: RecordArray, slot: number, now: number): number {
    const v = store.vals;
    const b = slot * store.width + this.at;
    const seen = this.seen[slot];
    this.prune(v, b, seen, now);
    return seen !== undefined ? seen.size : v[b] === -1 ? 0 : 1;
  }
}

/** Record fields of a {@link SlidingCounter}: the current fixed window's start (−1: none yet), previous and current counts. */
export class RecordSliding implements RecordPart {
  readonly at: number;
  readonly width = 3;
  /** Window length, ms. */
  readonly windowMs: number;

  /** @param at - first field. @param windowMs - window, ms. @throws {RangeError} when `windowMs` is not positive. */
  constructor(at: number, windowMs: number) {
    if (!(windowMs > 0)) throw new RangeError(`SlidingCounter needs windowMs > 0, got ${windowMs}`);
    this.at = at;
    this.windowMs = windowMs;
  }

  /** Index just after the part's fields. */
  get end(): number {
    return this.at + this.width;
  }

  reset(store: RecordArray, slot: number): void {
    store.vals[slot * store.width + this.at] = -1;
  }

  private roll(v: Float64Array, b: number, now: number): void {
    const w = this.windowMs;
    const start = v[b]!;
    if (start < 0) {
      v[b] = Math.floor(now / w) * w;
      return;
    }
    if (now < start + w) return;
    const n = Math.floor((now - start) / w);
    v[b + 1] = n === 1 ? v[b + 2]! : 0;
    v[b + 2] = 0;
    v[b] = start + n * w;
  }

  /** As {@link SlidingCounter.add}: adds `k` events at `now` (ms). */
  add(store: RecordArray, slot: number, now: number, k = 1): void {
    const v = store.vals;
    const b = slot * store.width + this.at;
    this.roll(v, b, now);
    v[b + 2] = v[b + 2]! + k;
  }

  /** As {@link SlidingCounter.total}: estimated events in the sliding window ending at `now` (ms), floored. */
  total(store: RecordArray, slot: number, now: number): number {
    const v = store.vals;
    const b = slot * store.width + this.at;
    this.roll(v, b, now);
    const overlap = 1 - (now - v[b]!) / this.windowMs;
    return Math.floor(v[b + 1]! * (overlap > 0 ? overlap : 0) + v[b + 2]! + 1e-9);
  }
}

/** Plain numeric fields of a record, set to `initial` on insert and read/written by index (0-based within the part). */
export class RecordFields implements RecordPart {
  readonly at: number;
  readonly width: number;
  private readonly initial: readonly number[];

  /** @param at - first field. @param initial - the fields' initial values (NaN allowed). */
  constructor(at: number, initial: readonly number[]) {
    this.at = at;
    this.width = initial.length;
    this.initial = initial;
  }

  /** Index just after the part's fields. */
  get end(): number {
    return this.at + this.width;
  }

  reset(store: RecordArray, slot: number): void {
    const b = slot * store.width + this.at;
    for (let i = 0; i < this.width; i++) store.vals[b + i] = this.initial[i]!;
  }

  /** Field `i` of the record in `slot`. */
  get(store: RecordArray, slot: number, i: number): number {
    return store.vals[slot * store.width + this.at + i]!;
  }

  /** Sets field `i` of the record in `slot`. */
  set(store: RecordArray, slot: number, i: number, value: number): void {
    store.vals[slot * store.width + this.at + i] = value;
  }
}
