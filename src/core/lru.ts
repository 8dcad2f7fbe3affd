/**
 * A bounded map with least-recently-used eviction, for per-client state (rate-limit cells, behaviour windows).
 * Built on `Map` insertion order: `get` re-inserts the key (O(1)), `set` evicts the oldest entries beyond
 * `maxKeys`. Memory is bounded by `maxKeys` whatever the key rotation: an attacker cycling a million IPs
 * only evicts older entries.
 *
 * Cost per entry: about 80–100 bytes of Map overhead plus the key string and the value; measure with
 * `npm run bench` (the 1,000,000-IP flood) rather than trusting this estimate.
 */
export class LruMap<K, V> {
  private readonly map = new Map<K, V>();
  /** Maximum number of entries kept. */
  readonly maxKeys: number;
  /** Called with each evicted entry (e.g. to count evictions). */
  private readonly onEvict?: (key: K, value: V) => void;
  /** Entries evicted since creation. */
  evictions = 0;

  /** @throws {RangeError} when `maxKeys` is not a positive integer. */
  constructor(maxKeys: number, onEvict?: (key: K, value: V) => void) {
    if (!Number.isInteger(maxKeys) || maxKeys <= 0) throw new RangeError(`LruMap maxKeys must be a positive integer, got ${maxKeys}`);
    this.maxKeys = maxKeys;
    this.onEvict = onEvict;
  }

  get size(): number {
    return this.map.size;
  }

  /** Returns the value and marks the key most recently used. */
  get(key: K): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }

  /** Returns the value without touching recency. */
  peek(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Inserts or replaces a value as most recently used, evicting the least recently used entries past the bound. */
  set(key: K, value: V): this {
    if (this.map.has(key)) this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.maxKeys) {
      const oldest = this.map.keys().next();
      if (oldest.done) break;
      const k = oldest.value;
      const v = this.map.get(k) as V;
      this.map.delete(k);
      this.evictions++;
      this.onEvict?.(k, v);
    }
    return this;
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
  }

  /** Iterates from least to most recently used. */
  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  /** Removes entries for which `expired(value)` is true, scanning from the oldest; returns how many. */
  sweep(expired: (value: V, key: K) => boolean): number {
    let n = 0;
    for (const [k, v] of this.map) {
      if (expired(v, k)) {
        this.map.delete(k);
        n++;
      }
    }
    return n;
  }
}
