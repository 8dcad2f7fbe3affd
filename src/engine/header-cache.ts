/**
 * Results of the engine's {@link PartRule.pure} rules on one header value: per rule slot, `undefined` (not
 * computed yet), `null` (no chain matched) or the first matching chain's output and the matcher's finding.
 */
export type HeaderResults = (HeaderHit | null | undefined)[];

/** A pure rule's first match on a header value: the transformed input it matched on and the finding. */
export interface HeaderHit {
  readonly transformed: string;
  readonly matched: string;
}

/**
 * Bounded cache of {@link HeaderResults} keyed by header value, shared by all pure header rules of one engine:
 * the same User-Agent and Referer strings arrive on many requests, and one lookup per header part replaces one
 * lookup per rule and chain. With unique values (every client its own User-Agent) a request costs one miss and
 * one insertion per header part.
 *
 * Two generations of plain `Map`s instead of an LRU: inserts go to the young map; when it holds `maxKeys / 2`
 * entries it becomes the old one (the previous old map is dropped whole), and a hit in the old map is copied
 * to the young one. So at most `maxKeys` values are kept, recently used values survive, and nothing is deleted
 * key by key (no per-insert eviction, no `Map` tombstones). Values longer than `maxLength` chars are not
 * cached. Default bound 1024 values × 512 chars ≈ 1 MB of keys, plus the result arrays.
 */
export class HeaderResultCache {
  private young = new Map<string, HeaderResults>();
  private old = new Map<string, HeaderResults>();
  private readonly half: number;
  /** Rule slots per entry. */
  readonly slots: number;
  readonly maxLength: number;

  /**
   * @param slots - number of pure rules (length of each {@link HeaderResults}).
   * @param maxKeys - most values kept (≥ 2).
   * @param maxLength - longest value cached, chars.
   */
  constructor(slots: number, maxKeys = 1024, maxLength = 512) {
    this.slots = slots;
    this.half = Math.max(1, maxKeys >> 1);
    this.maxLength = maxLength;
  }

  /** Number of values held (both generations). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /**
   * The results array for `value`, created empty (all slots `undefined`) when absent; the caller fills slots
   * in place. `undefined` when the value is too long to cache.
   */
  entry(value: string): HeaderResults | undefined {
    if (value.length > this.maxLength) return undefined;
    let e = this.young.get(value);
    if (e !== undefined) return e;
    e = this.old.get(value);
    if (e === undefined) e = new Array<HeaderHit | null | undefined>(this.slots);
    if (this.young.size >= this.half) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(value, e);
    return e;
  }
}
