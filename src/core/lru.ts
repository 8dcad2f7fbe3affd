/** Entry of the intrusive recency list. */
interface Node<K, V> {
  key: K;
  value: V;
  /** Towards the least recently used end. */
  older: Node<K, V> | undefined;
  /** Towards the most recently used end. */
  newer: Node<K, V> | undefined;
}

/**
 * A bounded map with least-recently-used eviction, for per-client state (behaviour windows, caches).
 * A `Map` from key to a node of an intrusive doubly-linked recency list: `get`, `set`, `delete` and eviction
 * are O(1). (Evicting through `Map` insertion order with `keys().next()` is not: V8 keeps deleted entries in
 * the table until it rehashes, so a flood of rotating keys makes that approach quadratic.)
 *
 * Memory is bounded by `maxKeys` whatever the key rotation: an attacker cycling a million IPs only evicts older
 * entries. Cost per entry: one Map slot (~24 bytes) + one node object (~40 bytes) + the key and the value;
 * `npm run bench` measures the total under a 1,000,000-IP flood.
 */
export class LruMap<K, V> {
  private readonly map = new Map<K, Node<K, V>>();
  private oldest: Node<K, V> | undefined;
  private newest: Node<K, V> | undefined;
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
  }

  get size(): number {
    return this.map.size;
  }

  private unlink(n: Node<K, V>): void {
    if (n.older) n.older.newer = n.newer;
    else this.oldest = n.newer;
    if (n.newer) n.newer.older = n.older;
    else this.newest = n.older;
    n.older = n.newer = undefined;
  }

  private pushNewest(n: Node<K, V>): void {
    n.older = this.newest;
    n.newer = undefined;
    if (this.newest) this.newest.newer = n;
    else this.oldest = n;
    this.newest = n;
  }

  /** Returns the value and marks the key most recently used. */
  get(key: K): V | undefined {
    const n = this.map.get(key);
    if (n === undefined) return undefined;
    if (n !== this.newest) {
      this.unlink(n);
      this.pushNewest(n);
    }
    return n.value;
  }

  /** Returns the value without touching recency. */
  peek(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** Inserts or replaces a value as most recently used, evicting the least recently used entry past the bound. */
  set(key: K, value: V): this {
    const n = this.map.get(key);
    if (n !== undefined) {
      n.value = value;
      if (n !== this.newest) {
        this.unlink(n);
        this.pushNewest(n);
      }
      return this;
    }
    const node: Node<K, V> = { key, value, older: undefined, newer: undefined };
    this.map.set(key, node);
    this.pushNewest(node);
    while (this.map.size > this.maxKeys) {
      const o = this.oldest!;
      this.unlink(o);
      this.map.delete(o.key);
      this.evictions++;
      this.onEvict?.(o.key, o.value);
    }
    return this;
  }

  delete(key: K): boolean {
    const n = this.map.get(key);
    if (n === undefined) return false;
    this.unlink(n);
    return this.map.delete(key);
  }

  clear(): void {
    this.map.clear();
    this.oldest = this.newest = undefined;
  }

  /** Iterates `[key, value]` from least to most recently used. Do not mutate the map while iterating. */
  *entries(): IterableIterator<[K, V]> {
    for (let n = this.oldest; n !== undefined; n = n.newer) yield [n.key, n.value];
  }

  /** Iterates keys from least to most recently used. */
  *keys(): IterableIterator<K> {
    for (let n = this.oldest; n !== undefined; n = n.newer) yield n.key;
  }

  /** Iterates values from least to most recently used. */
  *values(): IterableIterator<V> {
    for (let n = this.oldest; n !== undefined; n = n.newer) yield n.value;
  }

  /** Removes entries for which `expired(value, key)` is true, scanning from the oldest; returns how many. */
  sweep(expired: (value: V, key: K) => boolean): number {
    let count = 0;
    let n = this.oldest;
    while (n !== undefined) {
      const next = n.newer;
      if (expired(n.value, n.key)) {
        this.unlink(n);
        this.map.delete(n.key);
        count++;
      }
      n = next;
    }
    return count;
  }
}
