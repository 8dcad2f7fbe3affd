/**
 * A compact bounded LRU for rate-limit state: string keys → fixed-width numeric records kept in typed
 * arrays ("slab"), with an intrusive doubly-linked recency list in `Int32Array`s.
 *
 * Why not `Map` iteration order (`src/core/lru.ts`): evicting via `map.keys().next()` is O(number of
 * deleted entries still in the table) in V8, which makes a flood of rotating keys quadratic (measured: 13 µs
 * per insert at 50,000 keys). Here eviction is O(1): the tail slot is reused in place.
 *
 * Memory per tracked key: one `Map<string, slot>` entry (Smi value: no boxed number) + the key string +
 * `8·width` bytes of record + 8 bytes of links. Typed arrays grow by doubling up to `maxKeys`.
 */
export class SlabLru {
  /** Maximum number of keys. */
  readonly maxKeys: number;
  /** Doubles per record. */
  readonly width: number;
  private readonly index = new Map<string, number>();
  private keys: (string | undefined)[] = [];
  /** Records: slot `s` occupies `vals[s·width … s·width+width−1]`. */
  vals: Float64Array;
  private prev: Int32Array;
  private next: Int32Array;
  private head = -1;
  private tail = -1;
  private used = 0;
  private free: number[] = [];
  /** Keys evicted by the bound since creation. */
  evictions = 0;

  /** @throws {RangeError} when `maxKeys` or `width` is not a positive integer. */
  constructor(maxKeys: number, width: number) {
    if (!Number.isInteger(maxKeys) || maxKeys <= 0) throw new RangeError(`maxKeys must be a positive integer, got ${maxKeys}`);
    if (!Number.isInteger(width) || width <= 0) throw new RangeError(`width must be a positive integer, got ${width}`);
    this.maxKeys = maxKeys;
    this.width = width;
    const cap = Math.min(maxKeys, 1024);
    this.vals = new Float64Array(cap * width);
    this.prev = new Int32Array(cap);
    this.next = new Int32Array(cap);
  }

  /** Keys currently tracked. */
  get size(): number {
    return this.index.size;
  }

  private grow(): void {
    const cap = Math.min(this.maxKeys, this.prev.length * 2);
    const v = new Float64Array(cap * this.width);
    v.set(this.vals);
    this.vals = v;
    const p = new Int32Array(cap);
    p.set(this.prev);
    this.prev = p;
    const n = new Int32Array(cap);
    n.set(this.next);
    this.next = n;
  }

  private unlink(s: number): void {
    const p = this.prev[s]!;
    const n = this.next[s]!;
    if (p === -1) this.head = n;
    else this.next[p] = n;
    if (n === -1) this.tail = p;
    else this.prev[n] = p;
  }

  private linkFront(s: number): void {
    this.prev[s] = -1;
    this.next[s] = this.head;
    if (this.head !== -1) this.prev[this.head] = s;
    this.head = s;
    if (this.tail === -1) this.tail = s;
  }

  /** The slot of `key` marked most recently used, or −1. */
  find(key: string): number {
    const s = this.index.get(key);
    if (s === undefined) return -1;
    if (s !== this.head) {
      this.unlink(s);
      this.linkFront(s);
    }
    return s;
  }

  /** The slot of `key` without touching recency, or −1. */
  peek(key: string): number {
    return this.index.get(key) ?? -1;
  }

  /** Adds `key` (which must be absent) as most recently used, evicting the least recently used key at the bound. @returns its slot (record zeroed). */
  insert(key: string): number {
    let s: number;
    if (this.free.length > 0) s = this.free.pop()!;
    else if (this.used < this.maxKeys) {
      if (this.used >= this.prev.length) this.grow();
      s = this.used++;
    } else {
      s = this.tail;
      this.unlink(s);
      this.index.delete(this.keys[s]!);
      this.evictions++;
    }
    this.keys[s] = key;
    this.index.set(key, s);
    // records are 1–3 doubles: a loop is cheaper than the TypedArray.prototype.fill builtin call
    const vals = this.vals;
    for (let i = s * this.width, end = i + this.width; i < end; i++) vals[i] = 0;
    this.linkFront(s);
    return s;
  }

  /** Removes the key in `slot`. */
  removeSlot(s: number): void {
    const k = this.keys[s];
    if (k === undefined) return;
    this.unlink(s);
    this.index.delete(k);
    this.keys[s] = undefined;
    this.free.push(s);
  }

  /** Removes every key whose record satisfies `expired(vals, offset)`, scanning from the oldest; returns how many. */
  sweep(expired: (vals: Float64Array, offset: number) => boolean): number {
    let n = 0;
    let s = this.tail;
    while (s !== -1) {
      const p = this.prev[s]!;
      if (expired(this.vals, s * this.width)) {
        this.removeSlot(s);
        n++;
      }
      s = p;
    }
    return n;
  }

  clear(): void {
    this.index.clear();
    this.keys = [];
    this.free = [];
    this.head = this.tail = -1;
    this.used = 0;
  }
}
