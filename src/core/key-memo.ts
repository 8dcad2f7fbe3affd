/**
 * A bounded memo of derived key strings by HTTP method and a second string (a route or a raw path): a busy
 * endpoint's `METHOD …` key is built, and hashed by the Maps it is later looked up in, once instead of on every
 * request. Bounded: at most `maxMethods` methods × `maxPerMethod` strings of at most `maxChars` chars; a full
 * level is cleared (the memo only saves work, so forgetting is always correct). Not for request data that an
 * attacker can vary without bound beyond these limits' worth of memory (≈ maxMethods × maxPerMethod × 2 keys).
 */
export class KeyMemo {
  private readonly byMethod = new Map<string, Map<string, string>>();
  private readonly maxMethods: number;
  private readonly maxPerMethod: number;
  private readonly maxChars: number;

  /**
   * @param maxMethods - methods kept (default 16).
   * @param maxPerMethod - strings kept per method (default 4,096).
   * @param maxChars - longer strings are not memoised (default 256).
   */
  constructor(maxMethods = 16, maxPerMethod = 4096, maxChars = 256) {
    this.maxMethods = maxMethods;
    this.maxPerMethod = maxPerMethod;
    this.maxChars = maxChars;
  }

  /** The key memoised for (`method`, `s`), or undefined. */
  get(method: string, s: string): string | undefined {
    return this.byMethod.get(method)?.get(s);
  }

  /** Memoises `key` for (`method`, `s`) unless `s` is longer than `maxChars`; returns `key`. */
  set(method: string, s: string, key: string): string {
    if (s.length > this.maxChars) return key;
    let m = this.byMethod.get(method);
    if (m === undefined) {
      if (this.byMethod.size >= this.maxMethods) this.byMethod.clear();
      m = new Map();
      this.byMethod.set(method, m);
    } else if (m.size >= this.maxPerMethod) m.clear();
    m.set(s, key);
    return key;
  }
}
