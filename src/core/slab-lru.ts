import { LruMap } from './lru.ts';

/**
 * A compact bounded LRU of fixed-width numeric records: string keys → `width` doubles each, kept in one
 * `Float64Array` indexed by the {@link LruMap} slot of the key. Recency, eviction and slot reuse are the
 * `LruMap`'s (O(1), no object per entry); this class only keeps the records beside the slots, zeroes a record
 * when its slot is handed to a new key, and grows the array by doubling up to `maxKeys`. Used for rate-limit
 * state (`src/ratelimit/store.ts`) and the behaviour windows' per-client records (`KeyedRecords` in
 * `src/behavior/window.ts`).
 *
 * Memory per tracked key: the `LruMap` entry (one `Map` entry with a Smi slot, the key string, 16 bytes of
 * links and two slot-array cells) + `8·width` bytes of record; `npm run bench ratelimit` prints the measured
 * total.
 */
export class SlabLru {
  /** Maximum number of keys. */
  readonly maxKeys: number;
  /** Doubles per record. */
  readonly width: number;
  /**
   * Records: slot `s` occupies `vals[s·width … s·width+width−1]`. Replaced when it grows, so read it after
   * {@link SlabLru.insert}, never keep it across an insert.
   */
  vals: Float64Array;
  private readonly lru: LruMap<string, undefined>;

  /**
   * @param maxKeys - bound on tracked keys.
   * @param width - doubles per record.
   * @param initialSlots - records allocated up front (the array doubles from there).
   * @throws {RangeError} when `maxKeys` or `width` is not a positive integer.
   */
  constructor(maxKeys: number, width: number, initialSlots = 1024) {
    if (!Number.isInteger(maxKeys) || maxKeys <= 0) throw new RangeError(`maxKeys must be a positive integer, got ${maxKeys}`);
    if (!Number.isInteger(width) || width <= 0) throw new RangeError(`width must be a positive integer, got ${width}`);
    this.maxKeys = maxKeys;
    this.width = width;
    this.lru = new LruMap<string, undefined>(maxKeys);
    this.vals = new Float64Array(Math.min(maxKeys, Math.max(1, initialSlots)) * width);
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.lru.size;
  }

  /** Keys evicted by the bound since creation. */
  get evictions(): number {
    return this.lru.evictions;
  }

  /** The slot of `key` marked most recently used, or −1. */
  find(key: string): number {
    return this.lru.slot(key);
  }

  /** The slot of `key` without touching recency, or −1. */
  peek(key: string): number {
    return this.lru.peekSlot(key);
  }

  /** Adds `key` (which must be absent) as most recently used, evicting the least recently used key at the bound. @returns its slot (record zeroed). */
  insert(key: string): number {
    const s = this.lru.add(key, undefined);
    const w = this.width;
    if ((s + 1) * w > this.vals.length) {
      const cap = Math.min(this.maxKeys, Math.max(s + 1, (2 * this.vals.length) / w));
      const v = new Float64Array(cap * w);
      v.set(this.vals);
      this.vals = v;
    }
    // records are 1–3 doubles: a loop is cheaper than the TypedArray.prototype.fill builtin call
    const vals = this.vals;
    for (let i = s * w, end = i + w; i < end; i++) vals[i] = 0;
    return s;
  }

  /** Removes the key in `slot` (no-op for a free slot). */
  removeSlot(s: number): void {
    this.lru.removeSlot(s);
  }

  /** Removes `key`; true when it was tracked. */
  delete(key: string): boolean {
    return this.lru.delete(key);
  }

  /** Removes every key whose record satisfies `expired(vals, offset)`, scanning from the oldest; returns how many. */
  sweep(expired: (vals: Float64Array, offset: number) => boolean): number {
    const w = this.width;
    return this.lru.sweep((_v, _k, s) => expired(this.vals, s * w));
  }

  /** Forgets every key (the record array keeps its capacity). */
  clear(): void {
    this.lru.clear();
  }
}
