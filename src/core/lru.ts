/** Initial slot capacity; the arrays grow by doubling up to `maxKeys`. */
const INITIAL_SLOTS = 64;

/**
 * A bounded map with least-recently-used eviction, for per-client state (behaviour windows, caches).
 * A `Map` from key to a slot number; keys and values sit in two arrays indexed by slot, and the recency list is
 * two `Int32Array`s of slot links (`SlabLru` in `src/core/slab-lru.ts` keeps numeric records beside them). `get`, `set`, `delete` and eviction
 * are O(1); eviction reuses the oldest slot in place. (Evicting through `Map` insertion order with
 * `keys().next()` is not O(1): V8 keeps deleted entries in the table until it rehashes, so a flood of rotating
 * keys makes that approach quadratic.)
 *
 * Why slots rather than a linked list of node objects: a node per entry is one more long-lived object for the
 * garbage collector to allocate, promote and mark, and relinking it touches two neighbouring nodes scattered in
 * the heap. With rotating client keys (every request a new client) each `set` used to allocate a node that died
 * in the old generation; here the only per-entry allocation is the `Map` entry, and the links of 100,000 entries
 * fit in 800 KB of typed arrays.
 *
 * Memory is bounded by `maxKeys` whatever the key rotation: an attacker cycling a million IPs only evicts older
 * entries. Cost per entry: one Map slot (~24 bytes) + 16 bytes of slot arrays and links + the key and the value
 * (the arrays grow by doubling, so up to twice that for the slot part); `npm run bench` measures the total under a
 * 1,000,000-IP flood.
 */
export class LruMap<K, V> {
  private readonly index = new Map<K, number>();
  /** Key of each slot (undefined for a free slot). */
  private slotKeys: (K | undefined)[] = [];
  /** Value of each slot (undefined for a free slot). */
  private slotValues: (V | undefined)[] = [];
  /** Towards the least recently used end (−1: none). */
  private older: Int32Array;
  /** Towards the most recently used end (−1: none). */
  private newer: Int32Array;
  private oldest = -1;
  private newest = -1;
  /** Slots handed out so far (free or used); slots ≥ `used` were never used. */
  private used = 0;
  /** Slots freed by `delete`/`sweep`, reused before new ones. */
  private free: number[] = [];
  /** Maximum number of entries kept. */
  readonly maxKeys: number;
  private readonly onEvict?: (key: K, value: V) => void;
  /** Entries evicted by the bound since creation. */
  evictions = 0;

  /**
   * @param maxKeys - bound on entries (positive integer).
   * @param onEvict - called with each entry evicted by the bound (not for `delete`/`sweep`).
   * @throws {RangeError} when `maxKeys` is not a positive integer.
   */
  constructor(maxKeys: number, onEvict?: (key: K, value: V) => void) {
    if (!Number.isInteger(maxKeys) || maxKeys <= 0) throw new RangeError(`LruMap maxKeys must be a positive integer, got ${maxKeys}`);
    this.maxKeys = maxKeys;
    this.onEvict = onEvict;
    const cap = Math.min(maxKeys, INITIAL_SLOTS);
    this.older = new Int32Array(cap);
    this.newer = new Int32Array(cap);
  }

  /** Entries currently kept. */
  get size(): number {
    return this.index.size;
  }

  private unlink(s: number): void {
    const o = this.older[s]!;
    const n = this.newer[s]!;
    if (o === -1) this.oldest = n;
    else this.newer[o] = n;
    if (n === -1) this.newest = o;
    else this.older[n] = o;
  }

  private pushNewest(s: number): void {
    const h = this.newest;
    this.older[s] = h;
    this.newer[s] = -1;
    if (h === -1) this.oldest = s;
    else this.newer[h] = s;
    this.newest = s;
  }

  private grow(): void {
    const cap = Math.min(this.maxKeys, this.older.length * 2);
    const o = new Int32Array(cap);
    o.set(this.older);
    this.older = o;
    const n = new Int32Array(cap);
    n.set(this.newer);
    this.newer = n;
  }

  /** Returns the value and marks the key most recently used. */
  get(key: K): V | undefined {
    const s = this.index.get(key);
    if (s === undefined) return undefined;
    if (s !== this.newest) {
      this.unlink(s);
      this.pushNewest(s);
    }
    return this.slotValues[s];
  }

  /** Returns the value without touching recency. */
  peek(key: K): V | undefined {
    const s = this.index.get(key);
    return s === undefined ? undefined : this.slotValues[s];
  }

  /** True when `key` is kept (does not touch recency). */
  has(key: K): boolean {
    return this.index.has(key);
  }

  /** Inserts or replaces a value as most recently used, evicting the least recently used entry past the bound. */
  set(key: K, value: V): this {
    const s = this.index.get(key);
    if (s !== undefined) {
      this.slotValues[s] = value;
      if (s !== this.newest) {
        this.unlink(s);
        this.pushNewest(s);
      }
      return this;
    }
    this.add(key, value);
    return this;
  }

  /**
   * Inserts `key`, which the caller knows is absent (e.g. right after `get` returned undefined), as most recently
   * used, evicting the least recently used entry at the bound. Saves the lookup `set` does first.
   * Inserting a key that is present corrupts the map.
   * @returns the entry's slot (see {@link LruMap.slot}).
   */
  add(key: K, value: V): number {
    let s: number;
    let evictedKey: K | undefined;
    let evictedValue: V | undefined;
    let evicted = false;
    if (this.free.length > 0) s = this.free.pop()!;
    else if (this.used < this.maxKeys) {
      if (this.used >= this.older.length) this.grow();
      s = this.used++;
    } else {
      s = this.oldest;
      this.unlink(s);
      evictedKey = this.slotKeys[s] as K;
      evictedValue = this.slotValues[s] as V;
      this.index.delete(evictedKey);
      this.evictions++;
      evicted = true;
    }
    this.slotKeys[s] = key;
    // value-less maps (slot users such as SlabLru) never grow the value array: 8 bytes per entry saved
    if (value !== undefined || s < this.slotValues.length) this.slotValues[s] = value;
    this.index.set(key, s);
    this.pushNewest(s);
    if (evicted) this.onEvict?.(evictedKey as K, evictedValue as V);
    return s;
  }

  /**
   * The slot of `key` (an integer in [0, maxKeys)), marked most recently used; −1 when absent. A slot names the
   * entry until it is deleted or evicted, after which `add` hands it to another key: callers may keep per-entry
   * data in their own arrays indexed by slot (see `KeyedRecords` in `src/behavior/window.ts`) and must reset it
   * whenever `add` returns the slot.
   */
  slot(key: K): number {
    const s = this.index.get(key);
    if (s === undefined) return -1;
    if (s !== this.newest) {
      this.unlink(s);
      this.pushNewest(s);
    }
    return s;
  }

  /** The slot of `key` without touching recency; −1 when absent. */
  peekSlot(key: K): number {
    return this.index.get(key) ?? -1;
  }

  /** The value in a slot returned by {@link LruMap.slot} or {@link LruMap.add} (no recency change). */
  valueAt(slot: number): V {
    return this.slotValues[slot] as V;
  }

  /** Replaces the value in a live slot (no recency change). */
  setValueAt(slot: number, value: V): void {
    this.slotValues[slot] = value;
  }

  /** Removes the entry in a live slot (as {@link LruMap.delete} of its key); a free or unused slot is left alone. */
  removeSlot(s: number): void {
    if (this.slotKeys[s] === undefined) return; // keys are never undefined: the slot is free
    this.unlink(s);
    this.index.delete(this.slotKeys[s] as K);
    this.slotKeys[s] = undefined;
    this.slotValues[s] = undefined;
    this.free.push(s);
  }

  /** Removes `key`; true when it was kept. */
  delete(key: K): boolean {
    const s = this.index.get(key);
    if (s === undefined) return false;
    this.removeSlot(s);
    return true;
  }

  /** Removes every entry (the slot arrays keep their capacity). */
  clear(): void {
    this.index.clear();
    this.slotKeys = [];
    this.slotValues = [];
    this.free = [];
    this.used = 0;
    this.oldest = this.newest = -1;
  }

  /** Iterates `[key, value]` from least to most recently used. Do not mutate the map while iterating. */
  *entries(): IterableIterator<[K, V]> {
    for (let s = this.oldest; s !== -1; s = this.newer[s]!) yield [this.slotKeys[s] as K, this.slotValues[s] as V];
  }

  /** Iterates keys from least to most recently used. */
  *keys(): IterableIterator<K> {
    for (let s = this.oldest; s !== -1; s = this.newer[s]!) yield this.slotKeys[s] as K;
  }

  /** Iterates values from least to most recently used. */
  *values(): IterableIterator<V> {
    for (let s = this.oldest; s !== -1; s = this.newer[s]!) yield this.slotValues[s] as V;
  }

  /**
   * Removes entries for which `expired(value, key, slot)` is true, scanning from the oldest; returns how many.
   * The slot lets callers that keep per-entry data by slot (see {@link LruMap.slot}) judge by it.
   */
  sweep(expired: (value: V, key: K, slot: number) => boolean): number {
    let count = 0;
    let s = this.oldest;
    while (s !== -1) {
      const next = this.newer[s]!;
      if (expired(this.slotValues[s] as V, this.slotKeys[s] as K, s)) {
        this.removeSlot(s);
        count++;
      }
      s = next;
    }
    return count;
  }
}
