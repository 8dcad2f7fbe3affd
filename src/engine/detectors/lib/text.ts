/**
 * Small linear-time text helpers shared by the attack detectors (traversal, cmdi, ssrf, …). Every function
 * here walks its input a bounded number of times (no backtracking, no regular expressions on request data),
 * so a 64 KiB hostile value costs O(n).
 */

/** True for ASCII letters, digits and `_`. */
export function isWordChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
}

/** True for ASCII letters. */
export function isAlpha(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a);
}

/** True for ASCII digits. */
export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** True for space, tab, CR, LF, VT, FF and NBSP. */
export function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0;
}

/** An ASCII capital (one character class: a native linear scan). */
const HAS_ASCII_UPPER = /[A-Z]/;

/** `s.toLowerCase()` when `s` has an ASCII capital, else `s` itself (a value without one is used as it is). */
export function lowerAscii(s: string): string {
  return HAS_ASCII_UPPER.test(s) ? s.toLowerCase() : s;
}

/**
 * Finds the first needle of `needles` that occurs in `hay` where the character before it is not a word
 * character (a left word boundary). Returns the needle or null. Cost O(|hay| · |needles|) via `indexOf`,
 * linear in the input for a fixed list.
 */
export function findWordStart(hay: string, needles: readonly string[]): string | null {
  for (const n of needles) {
    let from = 0;
    for (;;) {
      const i = hay.indexOf(n, from);
      if (i === -1) break;
      if (i === 0 || !isWordChar(hay.charCodeAt(i - 1))) return n;
      from = i + 1;
    }
  }
  return null;
}

/** Finds the first needle of `needles` anywhere in `hay` (plain substring); returns it or null. */
export function findAny(hay: string, needles: readonly string[]): string | null {
  for (const n of needles) if (hay.indexOf(n) !== -1) return n;
  return null;
}

/**
 * A rule's {@link PartRule.needs} precondition for a matcher that can only report one of `needles`: returns
 * `chars` after checking, at module load, that every needle contains at least one of them (so the list and the
 * precondition cannot drift apart).
 * @throws {RangeError} naming the first needle that has none of `chars`.
 */
export function needsFrom(needles: readonly string[], chars: string): string {
  for (const n of needles) {
    let ok = false;
    for (let i = 0; i < chars.length && !ok; i++) ok = n.indexOf(chars[i]!) !== -1;
    if (!ok) throw new RangeError(`needsFrom: ${JSON.stringify(n)} has none of ${JSON.stringify(chars)}`);
  }
  return chars;
}

/** Runs of ASCII capitals (one class under `+`: linear). */
const ASCII_UPPER = /[A-Z]+/g;

/** Lower-cases ASCII letters only, leaving every other code unit as it is (unlike `toLowerCase`). */
export function lowerAsciiOnly(s: string): string {
  return HAS_ASCII_UPPER.test(s) ? s.replace(ASCII_UPPER, (m) => m.toLowerCase()) : s;
}

/**
 * Overlong / look-alike characters folded by {@link canonPath}: Unicode slashes, backslashes and dots that
 * some servers (IIS "best fit" mapping, Java, Windows) turn into `/`, `\` or `.` (OWASP CRS 930100 evasions).
 */
const LOOKALIKE: ReadonlyMap<number, string> = new Map([
  [0x2215, '/'], [0x2044, '/'], [0xff0f, '/'], [0x29f8, '/'], [0x2571, '/'], [0xefc8, '/'], [0xf025, '/'],
  [0x2216, '\\'], [0xff3c, '\\'], [0xfe68, '\\'], [0x29f9, '\\'], [0x2572, '\\'],
  [0xff0e, '.'], [0x2024, '.'], [0xfe52, '.'], [0x3002, '.'],
  // U+2025 TWO DOT LEADER is `..` under NFKC, which some path and file-name sanitisers apply
  [0x2025, '..'],
]);

/** Smallest {@link LOOKALIKE} code: accented Latin text below it needs no map lookup per character. */
const LOOKALIKE_MIN = Math.min(...LOOKALIKE.keys());

/** Hex digit value with the lenient IIS reading (`g`…`z` continue past `f`: `%c0%qf` → 0xAF), or -1. */
function lenientHex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x7a) return l - 0x61 + 10;
  return -1;
}

/** Strict hex digit value or -1. */
export function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * Canonical form of an (already URL-decoded) value for path inspection (OWASP CRS 930100 evasions,
 * CAPEC-64 "Using Slashes and URL Encoding Combined"). In one linear pass it:
 * - decodes percent forms that survive standard decoding: IIS lenient hex (`%c0%qf`, `%bg`), split
 *   encodings (`%2%f` from `%%32%%66`), and literal `0x2e`/`0x2f`/`0x5c` byte notation;
 * - folds overlong UTF-8 (2–6 byte forms such as `\xC0\xAF`, `\xE0\x80\xAE`, `\xF8\x80\x80\x80\xAF`, whether
 *   they arrive as Latin-1 byte characters or were left encoded) to the ASCII they encode;
 * - folds Unicode look-alike slashes and dots (`%u2215`, `%uff0e`), maps `\` to `/`, drops C0 controls
 *   (NUL, `%01` padding) and lower-cases ASCII.
 */
export function canonPath(s: string): string {
  // printable ASCII without `%`, `\\` and `0x` is plain (see below): one native scan instead of the loop
  if (!NOT_PLAIN_ASCII.test(s)) return lowerAscii(s);
  // ASCII without `%` and `0x` (e.g. text with line breaks): of the two passes below only the removal of
  // controls and DEL and the mapping of `\\` to `/` apply, done natively (the per-unit loops cost ~2 ns a unit)
  if (!NEEDS_DECODING.test(s)) return lowerAscii(s.replace(ASCII_CONTROLS, '').replaceAll('\\', '/'));
  const n = s.length;
  // Fast path: nothing to decode or fold: ASCII lower-casing only. Plain means no `%`, `\\`, controls, DEL
  // or `0x`, and no non-ASCII code unit that pass 2 would touch: a look-alike, or a UTF-8 lead (U+00C0–U+00FD
  // except U+00C2/U+00C3) followed by a continuation (U+0080–U+00BF) or, for 2-byte leads, by a unit whose low
  // 6 bits are `.`, `/` or `\\` (the lenient IIS reading). Accented text (`é`, `ñ`, CJK) stays on this path.
  let plain = true;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x7f) {
      if (c < 0x20 || c === 0x25 || c === 0x5c || (c === 0x30 && (s.charCodeAt(i + 1) | 0x20) === 0x78)) {
        plain = false;
        break;
      }
      continue;
    }
    if (c === 0x7f || (c >= LOOKALIKE_MIN && LOOKALIKE.has(c))) {
      plain = false;
      break;
    }
    ascii = false;
    if (c >= 0xc0 && c <= 0xfd && c !== 0xc2 && c !== 0xc3 && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      const low = d & 0x3f;
      if ((d >= 0x80 && d <= 0xbf) || (c <= 0xdf && (low === 0x2e || low === 0x2f || low === 0x1c))) {
        plain = false;
        break;
      }
    }
  }
  if (plain) return ascii ? lowerAscii(s) : lowerAsciiOnly(s);
  // Pass 1: leftover percent forms → code units. Unchanged runs are copied by slice (long values, e.g. HTML
  // with a `%` or a newline, took most of their time in per-unit arrays and concatenation).
  let t = '';
  let run = 0;
  // pass 1 acts only at `%` and `0x`
  const pass1 = s.indexOf('%') !== -1 || ZERO_X.test(s);
  for (let i = 0; pass1 && i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && i + 2 < n) {
      const a = s.charCodeAt(i + 1);
      const b = s.charCodeAt(i + 2);
      if (hexVal(a) !== -1 && b === 0x25 && i + 3 < n && hexVal(s.charCodeAt(i + 3)) !== -1) {
        t += s.slice(run, i) + String.fromCharCode(hexVal(a) * 16 + hexVal(s.charCodeAt(i + 3)));
        i += 3;
        run = i + 1;
        continue;
      }
      const ha = lenientHex(a);
      const hb = lenientHex(b);
      if (ha !== -1 && hb !== -1) {
        t += s.slice(run, i) + String.fromCharCode((ha * 16 + hb) & 0xff);
        i += 2;
        run = i + 1;
        continue;
      }
    } else if (c === 0x30 && i + 3 < n && (s.charCodeAt(i + 1) | 0x20) === 0x78) {
      const h = hexVal(s.charCodeAt(i + 2)) * 16 + hexVal(s.charCodeAt(i + 3));
      if (h === 0x2e || h === 0x2f || h === 0x5c) {
        t += s.slice(run, i) + String.fromCharCode(h);
        i += 3;
        run = i + 1;
        continue;
      }
    }
  }
  t = run === 0 ? s : t + s.slice(run);
  // Pass 2: overlong UTF-8, look-alikes, separators, controls; ASCII case is folded once at the end.
  let out = '';
  run = 0;
  const m = t.length;
  for (let i = 0; i < m; i++) {
    let c = t.charCodeAt(i);
    const at = i;
    if (c >= 0xc0 && c <= 0xfd && c !== 0xc2 && c !== 0xc3) {
      let len = c >= 0xfc ? 6 : c >= 0xf8 ? 5 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      let v = c & (len === 2 ? 0x1f : len === 3 ? 0x0f : len === 4 ? 0x07 : len === 5 ? 0x03 : 0x01);
      let j = 1;
      for (; j < len && i + j < m; j++) {
        const d = t.charCodeAt(i + j);
        if (d < 0x80 || d > 0xbf) break;
        v = (v << 6) | (d & 0x3f);
      }
      if (j === len && v < 0x80) {
        c = v; // overlong encoding of ASCII
        i += len - 1;
      } else if (len === 2 && i + 1 < m) {
        // IIS-style lenient 2-byte decoding that ignores the continuation-byte range check (`%c1%1c` → `\\`,
        // `%c0%6e` → `.`, `%c0%2f` → `/`); only separator and dot results are folded.
        const w = ((c & 0x01) << 6) | (t.charCodeAt(i + 1) & 0x3f);
        if (w === 0x2e || w === 0x2f || w === 0x5c) {
          c = w;
          i += 1;
        }
      }
    }
    let rep: string | undefined;
    if (c < 0x20 || c === 0x7f) rep = '';
    else if (c === 0x5c) rep = '/';
    else if (c > 0x7f) {
      const l = LOOKALIKE.get(c);
      if (l !== undefined) rep = l === '\\' ? '/' : l;
    }
    if (rep === undefined) {
      if (i === at) continue; // an unchanged unit stays in the current run
      rep = String.fromCharCode(c); // a folded overlong form (ASCII)
    }
    out += t.slice(run, at) + rep;
    run = i + 1;
  }
  out = run === 0 ? t : out + t.slice(run);
  return NON_ASCII.test(out) ? lowerAsciiOnly(out) : lowerAscii(out);
}

/**
 * A unit that keeps a value off {@link canonPath}'s printable-ASCII fast path (a control, `%`, `\\`, DEL or
 * non-ASCII unit) or a `0x` byte notation (one class or a two-unit literal: linear, no backtracking).
 */
const NOT_PLAIN_ASCII = /[^\x20-\x24\x26-\x5b\x5d-\x7e]|0[xX]/;

/** What only {@link canonPath}'s loops decode: a non-ASCII unit, `%` or `0x` (classes and a literal: linear). */
const NEEDS_DECODING = /[^\x00-\x7f]|%|0[xX]/;

/** Runs of ASCII controls and DEL, which {@link canonPath} drops (one class under `+`: linear). */
const ASCII_CONTROLS = /[\x00-\x1f\x7f]+/g;

/** The `0x` byte notation (a two-unit literal). */
const ZERO_X = /0[xX]/;

/** A code unit above U+007F (one class: linear, native scan). */
const NON_ASCII = /[^\u0000-\u007f]/;

/** Truncates a finding to at most `max` characters (evidence stays small). */
export function clip(s: string, max = 96): string {
  return s.length <= max ? s : s.slice(0, max);
}

/** Returns a short excerpt of `s` around index `i` (for evidence). */
export function around(s: string, i: number, len = 48): string {
  const from = Math.max(0, i - 8);
  return s.slice(from, Math.min(s.length, from + len));
}

/** Shortest value for which {@link NeedleSet.find} first consults the value's trigram set (shorter: scan only). */
const GRAM_MIN_LENGTH = 256;
/** Long values whose trigram sets are kept (a ring; a value is found by `===`, usually the same string object). */
const GRAM_RING = 16;
/** Bits of a trigram set (15-bit hash: 4 KB per set; a few percent set on a 4 KB value). */
const GRAM_BITS = 1 << 15;
const gramKeys: (string | undefined)[] = new Array(GRAM_RING);
const gramSets: Uint32Array[] = [];
for (let k = 0; k < GRAM_RING; k++) gramSets.push(new Uint32Array(GRAM_BITS >> 5));
let gramNext = 0;

/** Hash of an ASCII trigram (three 7-bit codes) into {@link GRAM_BITS} (multiplicative, Fibonacci). */
function trigramId(a: number, b: number, c: number): number {
  return Math.imul((a << 14) | (b << 7) | c, 0x9e3779b1) >>> 17;
}

/**
 * The hashed set of ASCII trigrams of `s` (bit {@link trigramId} for each run of three codes below 128), from a
 * ring of the last {@link GRAM_RING} long values. Rules run one after another over the same transformed values
 * (a request's long query value or JSON text reaches several needle sets as one string), so each set is built
 * once per value and then answers every {@link NeedleSet} that scans it. Linear in `s`.
 */
function trigramsOf(s: string): Uint32Array {
  for (let k = 0; k < GRAM_RING; k++) if (gramKeys[k] === s) return gramSets[k]!;
  const slot = gramNext;
  gramNext = (gramNext + 1) % GRAM_RING;
  const bits = gramSets[slot]!.fill(0);
  let a = s.charCodeAt(0);
  let b = s.charCodeAt(1);
  for (let i = 2; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((a | b | c) < 128) {
      const id = trigramId(a, b, c);
      bits[id >> 5]! |= 1 << (id & 31);
    }
    a = b;
    b = c;
  }
  gramKeys[slot] = s;
  return bits;
}

/**
 * A fixed set of ASCII needles matched in one forward pass by first-character dispatch: at each position only
 * the needles starting with that character are compared (`startsWith`). Cost O(n · k) where k is the largest
 * number of needles sharing a first character — linear in the input for a fixed set, and much cheaper than
 * one `indexOf` scan per needle on long values.
 */
export class NeedleSet {
  private readonly byFirst: (string[] | undefined)[] = new Array(128);
  /**
   * Bigram filter: bit `d` of row `c` (4 × 32 bits) is set when some needle starts with the ASCII pair `c d`.
   * Most positions whose first character starts a needle fail on the second one, so the per-needle
   * `startsWith` comparisons (the cost of this scan) run only where a needle can start.
   */
  private readonly second = new Uint32Array(128 * 4);
  /** First characters with a needle of length 1 (or a non-ASCII second character): no bigram filter. */
  private readonly anySecond = new Uint8Array(128);
  /** All needles, as given. */
  readonly needles: readonly string[];
  /** Window length of the Horspool skip: the shortest needle's length (capped at 32). */
  private readonly window: number;
  /**
   * Horspool shift per ASCII character: how far the window may move when this character is its last one
   * (0: some needle has it at position `window - 1`, so the window start is a candidate).
   */
  private readonly shift = new Uint8Array(128);
  /** Shift for a non-ASCII last character (needles are ASCII at their start, so usually `window`). */
  private readonly hiShift: number;
  /**
   * Wu–Manber shift per ASCII bigram `(a, b)` ending the window (index `a << 7 | b`), for windows of 2 or more:
   * far fewer windows end in a bigram that occurs in a needle's first `window` characters than in a single
   * character, so far fewer start positions are examined. Empty when `window < 2`.
   */
  private readonly shift2: Uint8Array;
  /** Bigram shift when either character is non-ASCII (0 when some needle has a non-ASCII character early). */
  private readonly hiShift2: number;
  /**
   * Per needle, its ASCII trigrams as {@link trigramsOf} bit indices: a needle can occur in a value only if the
   * value has all of them, so on a long value whose trigram set rules out every needle the scan is skipped
   * (hash collisions only make a needle look possible). A needle without an ASCII trigram is always possible.
   */
  private readonly needleGrams: Int32Array[];

  /** @param needles - ASCII strings (compare against input of the same case; lower-case both usually). */
  constructor(needles: readonly string[]) {
    this.needles = needles;
    this.needleGrams = needles.map((n) => {
      const ids: number[] = [];
      for (let p = 2; p < n.length; p++) {
        const a = n.charCodeAt(p - 2);
        const b = n.charCodeAt(p - 1);
        const c = n.charCodeAt(p);
        if ((a | b | c) < 128) ids.push(trigramId(a, b, c));
      }
      return Int32Array.from(ids);
    });
    for (const n of needles) {
      const c = n.charCodeAt(0);
      if (!(c < 128)) throw new RangeError(`NeedleSet: non-ASCII needle ${JSON.stringify(n)}`);
      (this.byFirst[c] ??= []).push(n);
      const d = n.charCodeAt(1);
      if (n.length < 2 || !(d < 128)) this.anySecond[c] = 1;
      else this.second[(c << 2) | (d >> 5)]! |= 1 << (d & 31);
    }
    let m = 32;
    for (const n of needles) m = Math.min(m, n.length);
    this.window = m = Math.max(m, 1);
    this.shift.fill(m);
    let hi = m;
    for (const n of needles) {
      for (let p = 0; p < m; p++) {
        const c = n.charCodeAt(p);
        if (c < 128) this.shift[c] = Math.min(this.shift[c]!, m - 1 - p);
        else hi = Math.min(hi, m - 1 - p);
      }
    }
    this.hiShift = hi;
    this.shift2 = new Uint8Array(m >= 2 ? 128 * 128 : 0);
    let hi2 = m - 1;
    if (m >= 2) {
      this.shift2.fill(m - 1);
      for (const n of needles) {
        for (let p = 1; p < m; p++) {
          const a = n.charCodeAt(p - 1);
          const b = n.charCodeAt(p);
          if (a < 128 && b < 128) this.shift2[(a << 7) | b] = Math.min(this.shift2[(a << 7) | b]!, m - 1 - p);
          else hi2 = Math.min(hi2, m - 1 - p);
        }
      }
    }
    this.hiShift2 = hi2;
  }

  /** False when every needle lacks one of its trigrams in `s` (then no needle occurs in `s`). */
  private mayOccur(s: string): boolean {
    const bits = trigramsOf(s);
    const nb = this.needleGrams;
    for (let k = 0; k < nb.length; k++) {
      const ids = nb[k]!;
      let all = true;
      for (let j = 0; j < ids.length; j++) {
        const id = ids[j]!;
        if ((bits[id >> 5]! & (1 << (id & 31))) === 0) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
    return false;
  }

  /**
   * Finds the first position (and the first needle there, in declaration order) where a needle occurs,
   * the preceding character passes `startsAfter` (optional, checked first: cheap), and
   * `accept(s, index, needle)` (optional) agrees. Returns null when none.
   */
  find(
    s: string,
    accept?: (s: string, i: number, needle: string) => boolean,
    from = 0,
    startsAfter?: (prev: number) => boolean,
  ): { needle: string; index: number } | null {
    const table = this.byFirst;
    const second = this.second;
    const anySecond = this.anySecond;
    const shift = this.shift;
    const hiShift = this.hiShift;
    const m = this.window;
    const n = s.length;
    if (n >= GRAM_MIN_LENGTH && !this.mayOccur(s)) return null;
    // Horspool / Wu–Manber skip over windows of the shortest needle's length: a start position is examined only
    // when the window's last character (bigram when the window is 2 or more) can be at that offset in some
    // needle (positions skipped cannot start a match, so the first match found is the same as a scan of every
    // position)
    const shift2 = this.shift2;
    const hiShift2 = this.hiShift2;
    for (let e = Math.max(from, 0) + m - 1; e < n; ) {
      const z = s.charCodeAt(e);
      let sh: number;
      if (m >= 2) {
        const y = s.charCodeAt(e - 1);
        sh = (y | z) < 128 ? shift2[(y << 7) | z]! : hiShift2;
      } else sh = z < 128 ? shift[z]! : hiShift;
      if (sh !== 0) {
        e += sh;
        continue;
      }
      const i = e - m + 1;
      e++;
      const c = s.charCodeAt(i);
      if (c >= 128) continue;
      const list = table[c];
      if (list === undefined) continue;
      if (anySecond[c] === 0) {
        // bigram filter: a needle of length ≥ 2 needs the next character in this first character's row
        if (i + 1 >= n) continue;
        const d = s.charCodeAt(i + 1);
        if (d >= 128 || (second[(c << 2) | (d >> 5)]! & (1 << (d & 31))) === 0) continue;
      }
      // optional position filter on the preceding character (-1 at the start), after the cheap table lookup
      if (startsAfter !== undefined && !startsAfter(i === 0 ? -1 : s.charCodeAt(i - 1))) continue;
      for (const nd of list) {
        if (s.startsWith(nd, i) && (accept === undefined || accept(s, i, nd))) return { needle: nd, index: i };
      }
    }
    return null;
  }
}
