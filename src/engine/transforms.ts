import type { TransformName } from './types.ts';

/**
 * The transformation registry: small named pure functions `(string) => string`, one per {@link TransformName}
 * (names follow ModSecurity / Coraza where one exists). Every function is a single forward scan over its input
 * (or a bounded number of scans), so a 64 KiB hostile value costs O(n); none uses a regular expression.
 *
 * Each function returns its input unchanged (same string instance) when there is nothing to do, so that the
 * per-part cache in the engine can recognise no-op steps cheaply.
 */

/** A transformation: pure, total (never throws), linear in the input length. */
export type Transform = (s: string) => string;

/** Value of the hex digit with char code `c` (0–15), or -1. */
export function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Decodes a run of bytes leniently as UTF-8 into `out`: well-formed sequences become their code point,
 * overlong 2- and 3-byte forms (`C0 AE` → `.`, `E0 80 AF` → `/`; rejected by strict decoders but honoured by
 * old IIS and Java parsers, CVE-2000-0884) are decoded too, and any byte that does not start a sequence is
 * taken as Latin-1 (so `%F1` from an ISO-8859-1 form is `ñ`). Linear.
 */
export function decodeBytesLenient(bytes: readonly number[] | Uint8Array, n: number): string {
  if (Buffer.isBuffer(bytes)) return decodeBufferLenient(bytes, n);
  let out = '';
  let i = 0;
  while (i < n) {
    const len = utf8SequenceAt(bytes, i, n);
    if (len === 0) {
      out += String.fromCharCode(bytes[i]!);
      i++;
    } else {
      out += String.fromCodePoint(seqCodePoint);
      i += len;
    }
  }
  return out;
}

/** Code point of the sequence last recognised by {@link utf8SequenceAt} (avoids allocating a result pair). */
let seqCodePoint = 0;

/**
 * Length (2–4) of the lenient UTF-8 sequence starting at `bytes[i]` — overlong forms accepted, surrogates and
 * code points past U+10FFFF refused — with its code point left in `seqCodePoint`; 0 when the byte is not the
 * start of a complete sequence and is to be read as Latin-1.
 */
function utf8SequenceAt(bytes: readonly number[] | Uint8Array, i: number, n: number): number {
  const b = bytes[i]!;
  let need: number;
  let cp: number;
  if (b < 0xc0) return 0; // ASCII, or a stray continuation byte
  if (b <= 0xdf) {
    need = 1;
    cp = b & 0x1f;
  } else if (b <= 0xef) {
    need = 2;
    cp = b & 0x0f;
  } else if (b <= 0xf4) {
    need = 3;
    cp = b & 0x07;
  } else {
    return 0;
  }
  if (i + need >= n) return 0; // cut off by the end
  for (let k = 1; k <= need; k++) {
    const c = bytes[i + k]!;
    if ((c & 0xc0) !== 0x80) return 0;
    cp = (cp << 6) | (c & 0x3f);
  }
  if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  seqCodePoint = cp;
  return need + 1;
}

/**
 * Scratch for {@link decodeBufferLenient}: UTF-16 code units written in place and turned into one string by a
 * single native call (the decoder used to append a Latin-1 slice and a character per multi-byte sequence; on
 * base64-decoded text, sequences are frequent). Grows to the longest input seen, at most
 * {@link SCRATCH_MAX_BYTES} bytes; longer inputs use a fresh buffer.
 */
let unitsBuf = Buffer.allocUnsafeSlow(8192);
let units = new Uint16Array(unitsBuf.buffer, unitsBuf.byteOffset, unitsBuf.length >> 1);
/** Largest scratch kept between calls (bytes), so one huge value does not pin memory. */
const SCRATCH_MAX_BYTES = 1 << 17;
/** `utf16le` reads code units little-endian; a big-endian host uses the slice-and-append path. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * {@link decodeBytesLenient} for a Buffer: the same decoding. Input without any multi-byte sequence (most
 * bytes below 0xC0) is one Latin-1 slice; otherwise code units are written to a scratch array and read back as
 * UTF-16 in one call.
 */
function decodeBufferLenient(bytes: Buffer, n: number): string {
  let i = 0;
  while (i < n && (bytes[i]! < 0xc0 || utf8SequenceAt(bytes, i, n) === 0)) i++;
  if (i >= n) return bytes.toString('latin1', 0, n);
  if (!LITTLE_ENDIAN) return decodeBufferAppend(bytes, n);
  // each byte gives at most one code unit (a 4-byte sequence gives two)
  let u = units;
  let ub = unitsBuf;
  if (u.length < n) {
    ub = Buffer.allocUnsafeSlow(2 * n);
    u = new Uint16Array(ub.buffer, ub.byteOffset, n);
    if (2 * n <= SCRATCH_MAX_BYTES) {
      unitsBuf = ub;
      units = u;
    }
  }
  for (let k = 0; k < i; k++) u[k] = bytes[k]!;
  let len = i;
  while (i < n) {
    const b = bytes[i]!;
    const l = b < 0xc0 ? 0 : utf8SequenceAt(bytes, i, n);
    if (l === 0) {
      u[len++] = b;
      i++;
      continue;
    }
    const cp = seqCodePoint;
    if (cp > 0xffff) {
      u[len++] = 0xd800 + ((cp - 0x10000) >> 10);
      u[len++] = 0xdc00 + ((cp - 0x10000) & 0x3ff);
    } else u[len++] = cp;
    i += l;
  }
  return ub.toString('utf16le', 0, 2 * len);
}

/** {@link decodeBufferLenient} by appending Latin-1 slices and decoded characters (any byte order). */
function decodeBufferAppend(bytes: Buffer, n: number): string {
  let out = '';
  let from = 0; // start of the pending Latin-1 run
  let i = 0;
  while (i < n) {
    const len = bytes[i]! < 0xc0 ? 0 : utf8SequenceAt(bytes, i, n);
    if (len === 0) {
      i++;
      continue;
    }
    if (i > from) out += bytes.toString('latin1', from, i);
    out += String.fromCodePoint(seqCodePoint);
    i += len;
    from = i;
  }
  if (n > from) out += bytes.toString('latin1', from, n);
  return out;
}

/**
 * Percent-decoding as in ModSecurity `urlDecodeUni`: `%XX` bytes (a run of them is decoded as lenient UTF-8,
 * see {@link decodeBytesLenient}), `%uXXXX` code units (IIS), and `+` → space. Invalid escapes (`%zz`, a
 * trailing `%`) are kept as they are. Linear.
 * @param plus - decode `+` to a space (true for query strings and forms, as in the WHATWG urlencoded parser).
 */
export function percentDecode(s: string, plus: boolean): string {
  // next `%` and next `+` at or after the scan position (-1: none left); ordinary characters are jumped over
  let nextPct = s.indexOf('%');
  let nextPlus = plus ? s.indexOf('+') : -1;
  if (nextPct === -1 && nextPlus === -1) return s;
  let i = nextPct === -1 || (nextPlus !== -1 && nextPlus < nextPct) ? nextPlus : nextPct;
  // Unchanged runs are copied by slice (`lit`: start of the pending run, empty while bytes are pending): long
  // values with a few escapes (a comma-separated field list, `%2C` between words) cost one slice per run
  // instead of one concatenation per character.
  let out = '';
  let lit = 0;
  const n = s.length;
  const bytes: number[] = [];
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c === 0x25) {
      if (i + 2 < n) {
        const h = hexVal(s.charCodeAt(i + 1));
        const l = hexVal(s.charCodeAt(i + 2));
        if (h >= 0 && l >= 0) {
          const v = h * 16 + l;
          if (bytes.length === 0 && i > lit) out += s.slice(lit, i);
          if (v < 0x80) {
            // an ASCII byte never belongs to a multi-byte sequence: the lenient decoding splits around it
            if (bytes.length) {
              out += decodeBytesLenient(bytes, bytes.length);
              bytes.length = 0;
            }
            out += String.fromCharCode(v);
          } else bytes.push(v);
          i += 3;
          lit = i;
          continue;
        }
      }
      if (i + 5 < n && (s.charCodeAt(i + 1) | 0x20) === 0x75) {
        const a = hexVal(s.charCodeAt(i + 2));
        const b = hexVal(s.charCodeAt(i + 3));
        const d = hexVal(s.charCodeAt(i + 4));
        const e = hexVal(s.charCodeAt(i + 5));
        if (a >= 0 && b >= 0 && d >= 0 && e >= 0) {
          if (bytes.length) {
            out += decodeBytesLenient(bytes, bytes.length);
            bytes.length = 0;
          } else if (i > lit) out += s.slice(lit, i);
          out += String.fromCharCode((a << 12) | (b << 8) | (d << 4) | e);
          i += 6;
          lit = i;
          continue;
        }
      }
    } else if (plus && c === 0x2b) {
      if (bytes.length) {
        out += decodeBytesLenient(bytes, bytes.length);
        bytes.length = 0;
      } else if (i > lit) out += s.slice(lit, i);
      out += ' ';
      i++;
      lit = i;
      continue;
    }
    // an ordinary character (an invalid `%` escape is kept as it is): it starts or extends the pending run, as do
    // all characters up to the next `%` or `+` (found natively; each index is searched once, so this stays linear)
    if (bytes.length) {
      out += decodeBytesLenient(bytes, bytes.length);
      bytes.length = 0;
      lit = i;
    }
    if (nextPct !== -1 && nextPct <= i) nextPct = s.indexOf('%', i + 1);
    if (nextPlus !== -1 && nextPlus <= i) nextPlus = s.indexOf('+', i + 1);
    i = nextPct === -1 ? (nextPlus === -1 ? n : nextPlus) : nextPlus === -1 || nextPct < nextPlus ? nextPct : nextPlus;
  }
  if (bytes.length) out += decodeBytesLenient(bytes, bytes.length);
  else if (n > lit) out += s.slice(lit, n);
  return out;
}

/** `urlDecodeUni`: one round of {@link percentDecode} with `+` → space. */
export function urlDecodeUni(s: string): string {
  return percentDecode(s, true);
}

/** `urlDecodePercent`: one round of {@link percentDecode} keeping `+` (JS/SQL operator, not a space). */
export function urlDecodePercent(s: string): string {
  return percentDecode(s, false);
}

/** `urlDecodeRepeat`: {@link urlDecodeUni} until stable, at most 4 rounds (defeats double/triple encoding). */
export function urlDecodeRepeat(s: string): string {
  let cur = s;
  for (let k = 0; k < 4; k++) {
    if (cur.indexOf('%') === -1 && cur.indexOf('+') === -1) return cur;
    const next = percentDecode(cur, true);
    if (next === cur) return cur;
    cur = next;
  }
  return cur;
}

/**
 * Named character references decoded by {@link htmlEntityDecode}: the ones that matter for markup and script
 * syntax (HTML Living Standard §13.5 named references), plus the common typographic ones.
 */
const NAMED_ENTITIES: ReadonlyMap<string, string> = new Map([
  ['lt', '<'], ['gt', '>'], ['amp', '&'], ['quot', '"'], ['apos', "'"], ['nbsp', '\u00a0'], ['colon', ':'],
  ['lpar', '('], ['rpar', ')'], ['sol', '/'], ['bsol', '\\'], ['tab', '\t'], ['newline', '\n'], ['period', '.'],
  ['comma', ','], ['excl', '!'], ['equals', '='], ['semi', ';'], ['grave', '`'], ['lsqb', '['], ['rsqb', ']'],
  ['lbrack', '['], ['rbrack', ']'], ['lcub', '{'], ['rcub', '}'], ['lbrace', '{'], ['rbrace', '}'], ['num', '#'],
  ['percnt', '%'], ['plus', '+'], ['ast', '*'], ['quest', '?'], ['dollar', '$'], ['vert', '|'], ['verbar', '|'],
  ['hat', '^'], ['lowbar', '_'], ['hyphen', '-'], ['dash', '-'], ['commat', '@'], ['midast', '*'],
  ['bne', '=\u20e5'], ['copy', '\u00a9'], ['reg', '\u00ae'], ['laquo', '\u00ab'], ['raquo', '\u00bb'],
]);

function isAlnum(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

/**
 * `htmlEntityDecode`: decimal (`&#60`), hex (`&#x3c`) and named (`&lt`) references, with or without the
 * closing `;` and with any number of leading zeros, as browsers do in attribute values (WHATWG tokenizer
 * "character reference state"). Unknown names are kept. Linear: each `&` scans a bounded run.
 */
export function htmlEntityDecode(s: string): string {
  let i = s.indexOf('&');
  if (i === -1) return s;
  let out = s.slice(0, i);
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== 0x26) {
      out += s[i];
      i++;
      continue;
    }
    let j = i + 1;
    if (j < n && s.charCodeAt(j) === 0x23) {
      j++;
      let hex = false;
      if (j < n && (s.charCodeAt(j) | 0x20) === 0x78) {
        hex = true;
        j++;
      }
      let v = 0;
      let digits = 0;
      while (j < n) {
        const d = hex ? hexVal(s.charCodeAt(j)) : s.charCodeAt(j) - 48;
        if (d < 0 || d > (hex ? 15 : 9)) break;
        if (v <= 0x10ffff) v = v * (hex ? 16 : 10) + d;
        digits++;
        j++;
      }
      if (digits > 0) {
        if (j < n && s.charCodeAt(j) === 0x3b) j++;
        out += v === 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ? '\ufffd' : String.fromCodePoint(v);
        i = j;
        continue;
      }
      out += '&';
      i++;
      continue;
    }
    // named reference: up to 32 alphanumerics
    while (j < n && j - i <= 32 && isAlnum(s.charCodeAt(j))) j++;
    if (j > i + 1) {
      const name = s.slice(i + 1, j);
      let rep = NAMED_ENTITIES.get(name) ?? NAMED_ENTITIES.get(name.toLowerCase());
      let end = j;
      if (rep === undefined) {
        // longest known prefix without `;` (`&ltscript` → `<script`), as browsers do for legacy names
        for (let k = Math.min(name.length - 1, 8); k >= 2 && rep === undefined; k--) {
          const r = NAMED_ENTITIES.get(name.slice(0, k).toLowerCase());
          if (r !== undefined && (k === 2 || k === 3 || k === 4)) {
            rep = r;
            end = i + 1 + k;
          }
        }
      }
      if (rep !== undefined) {
        if (end === j && end < n && s.charCodeAt(end) === 0x3b) end++;
        out += rep;
        i = end;
        continue;
      }
    }
    out += '&';
    i++;
  }
  return out;
}

function isOctal(c: number): boolean {
  return c >= 48 && c <= 55;
}

/**
 * `jsDecode`: JavaScript string escapes `\xHH`, `\uHHHH`, `\u{H…}`, octal `\NNN`, and the single-character
 * escapes (`\n`, `\t`, `\'` …); an unknown `\c` becomes `c` as in JS. Linear.
 */
export function jsDecode(s: string): string {
  let i = s.indexOf('\\');
  if (i === -1) return s;
  let out = s.slice(0, i);
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== 0x5c || i + 1 >= n) {
      out += s[i];
      i++;
      continue;
    }
    const e = s.charCodeAt(i + 1);
    if ((e === 0x78 || e === 0x58) && i + 3 < n) {
      const h = hexVal(s.charCodeAt(i + 2));
      const l = hexVal(s.charCodeAt(i + 3));
      if (h >= 0 && l >= 0) {
        out += String.fromCharCode(h * 16 + l);
        i += 4;
        continue;
      }
    }
    if (e === 0x75 || e === 0x55) {
      if (i + 2 < n && s.charCodeAt(i + 2) === 0x7b) {
        let j = i + 3;
        let v = 0;
        while (j < n && j < i + 12 && hexVal(s.charCodeAt(j)) >= 0) {
          v = v * 16 + hexVal(s.charCodeAt(j));
          j++;
        }
        if (j < n && s.charCodeAt(j) === 0x7d && j > i + 3 && v <= 0x10ffff) {
          out += String.fromCodePoint(v);
          i = j + 1;
          continue;
        }
      } else if (i + 5 < n) {
        const a = hexVal(s.charCodeAt(i + 2));
        const b = hexVal(s.charCodeAt(i + 3));
        const d = hexVal(s.charCodeAt(i + 4));
        const f = hexVal(s.charCodeAt(i + 5));
        if (a >= 0 && b >= 0 && d >= 0 && f >= 0) {
          out += String.fromCharCode((a << 12) | (b << 8) | (d << 4) | f);
          i += 6;
          continue;
        }
      }
    }
    if (isOctal(e)) {
      let j = i + 1;
      let v = 0;
      while (j < n && j < i + 4 && isOctal(s.charCodeAt(j)) && v * 8 + (s.charCodeAt(j) - 48) <= 255) {
        v = v * 8 + (s.charCodeAt(j) - 48);
        j++;
      }
      out += String.fromCharCode(v);
      i = j;
      continue;
    }
    switch (e) {
      case 0x6e: out += '\n'; break;
      case 0x72: out += '\r'; break;
      case 0x74: out += '\t'; break;
      case 0x62: out += '\b'; break;
      case 0x66: out += '\f'; break;
      case 0x76: out += '\v'; break;
      default: out += s[i + 1];
    }
    i += 2;
  }
  return out;
}

/**
 * `cssDecode`: CSS escapes (CSS Syntax Level 3 §4.3.7): `\` followed by 1–6 hex digits and one optional
 * whitespace is that code point; `\` followed by any other character is that character; `\` + newline is
 * removed. Defeats `expr\65 ssion` and `java\73 cript:`. Linear.
 */
export function cssDecode(s: string): string {
  let i = s.indexOf('\\');
  if (i === -1) return s;
  let out = s.slice(0, i);
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c !== 0x5c || i + 1 >= n) {
      out += s[i];
      i++;
      continue;
    }
    let j = i + 1;
    let v = 0;
    while (j < n && j < i + 7 && hexVal(s.charCodeAt(j)) >= 0) {
      v = v * 16 + hexVal(s.charCodeAt(j));
      j++;
    }
    if (j > i + 1) {
      if (j < n && (s.charCodeAt(j) === 0x20 || s.charCodeAt(j) === 0x09 || s.charCodeAt(j) === 0x0a)) j++;
      out += v === 0 || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff) ? '\ufffd' : String.fromCodePoint(v);
      i = j;
      continue;
    }
    const e = s.charCodeAt(i + 1);
    if (e !== 0x0a) out += s[i + 1];
    i += 2;
  }
  return out;
}

/** `lowercase`: Unicode lower-casing (locale-independent). */
export function lowercase(s: string): string {
  // V8 returns the very same string when nothing changes, and its scan is word-at-a-time: a per-character
  // JavaScript pre-scan for capitals was ~20× slower on long lower-case values (3.8 KB: 8–15 µs vs 0.4–0.5 µs)
  return s.toLowerCase();
}

/**
 * True for whitespace a parser may treat as a separator: ASCII controls 0x09–0x0D and space, NEL, NBSP,
 * U+1680, U+180E, U+2000–U+200B, U+2028/2029, U+202F, U+205F, U+3000 and the BOM (Unicode White_Space plus
 * the zero-width forms used to split keywords).
 */
export function isUnicodeSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0x85) return false;
  return (
    c === 0x85 || c === 0xa0 || c === 0x1680 || c === 0x180e || (c >= 0x2000 && c <= 0x200b) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/** `compressWhitespace`: every run of {@link isUnicodeSpace} characters becomes one ASCII space. Linear. */
export function compressWhitespace(s: string): string {
  let need = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isUnicodeSpace(c) && (c !== 0x20 || (i + 1 < s.length && isUnicodeSpace(s.charCodeAt(i + 1))))) {
      need = true;
      break;
    }
  }
  if (!need) return s;
  let out = '';
  let inSpace = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isUnicodeSpace(c)) {
      if (!inSpace) out += ' ';
      inSpace = true;
    } else {
      out += s[i];
      inSpace = false;
    }
  }
  return out;
}

/** `removeWhitespace`: drops every {@link isUnicodeSpace} character. Linear. */
export function removeWhitespace(s: string): string {
  let out = '';
  let changed = false;
  for (let i = 0; i < s.length; i++) {
    if (isUnicodeSpace(s.charCodeAt(i))) changed = true;
    else out += s[i];
  }
  return changed ? out : s;
}

/** `removeNulls`: drops NUL characters (used to split keywords: `sel%00ect`). */
export function removeNulls(s: string): string {
  if (s.indexOf('\0') === -1) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) !== 0) out += s[i];
  return out;
}

/**
 * `replaceComments`: each C-style comment `/* … *\/` (an unterminated one runs to the end) becomes one
 * space, as ModSecurity does; SQL line comments are left to the SQL lexer. Linear.
 */
export function replaceComments(s: string): string {
  let i = s.indexOf('/*');
  if (i === -1) return s;
  let out = '';
  let from = 0;
  while (i !== -1) {
    out += s.slice(from, i) + ' ';
    const end = s.indexOf('*/', i + 2);
    if (end === -1) return out;
    from = end + 2;
    i = s.indexOf('/*', from);
  }
  return out + s.slice(from);
}

/** `removeCommentsChar`: removes the comment markers `/*`, `*\/`, `--` and `#` (not the text between). */
export function removeCommentsChar(s: string): string {
  let out = '';
  let changed = false;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const d = i + 1 < n ? s.charCodeAt(i + 1) : -1;
    if ((c === 0x2f && d === 0x2a) || (c === 0x2a && d === 0x2f) || (c === 0x2d && d === 0x2d)) {
      i++;
      changed = true;
      continue;
    }
    if (c === 0x23) {
      changed = true;
      continue;
    }
    out += s[i];
  }
  return changed ? out : s;
}

/**
 * `normalizePath`: collapses repeated `/`, removes `.` segments and resolves `..` segments (RFC 3986 §5.2.4
 * remove_dot_segments); `..` above the root is dropped. Linear (one pass over the segments).
 */
export function normalizePath(s: string): string {
  if (s.indexOf('/.') === -1 && s.indexOf('//') === -1 && !s.startsWith('.')) return s;
  const abs = s.charCodeAt(0) === 0x2f;
  const trail = s.length > 1 && s.charCodeAt(s.length - 1) === 0x2f;
  const segs = s.split('/');
  const out: string[] = [];
  for (const g of segs) {
    if (g === '' || g === '.') continue;
    if (g === '..') {
      if (out.length) out.pop();
      continue;
    }
    out.push(g);
  }
  let r = (abs ? '/' : '') + out.join('/');
  if (trail && out.length) r += '/';
  return r;
}

/** `normalizePathWin`: `\` → `/`, then {@link normalizePath}. */
export function normalizePathWin(s: string): string {
  return normalizePath(s.indexOf('\\') === -1 ? s : s.replaceAll('\\', '/'));
}

/**
 * `cmdLine` (ModSecurity): deletes `\`, `"`, `'` and `^`; deletes spaces before `/` and `(`; turns `,` and `;`
 * into spaces; compresses whitespace; lower-cases. Defeats `w"h"o'a'm^i` and `c^md`. Linear.
 */
export function cmdLine(s: string): string {
  let out = '';
  let pendingSpace = false;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c === 0x5c || c === 0x22 || c === 0x27 || c === 0x5e) continue;
    if (c === 0x2c || c === 0x3b) c = 0x20;
    if (isUnicodeSpace(c)) {
      pendingSpace = true;
      continue;
    }
    if (pendingSpace) {
      if (c !== 0x2f && c !== 0x28 && out.length > 0) out += ' ';
      pendingSpace = false;
    }
    out += c >= 65 && c <= 90 ? String.fromCharCode(c + 32) : c > 127 ? String.fromCharCode(c).toLowerCase() : String.fromCharCode(c);
  }
  return out;
}

/**
 * `base64Decode`: decodes standard or URL-safe base64 (padding optional; characters outside the alphabet are
 * skipped, as ModSecurity does). Bytes are read as lenient UTF-8 ({@link decodeBytesLenient}). Linear.
 */
export function base64Decode(s: string): string {
  const buf = base64Bytes(s);
  return decodeBufferLenient(buf, b64Len);
}

/** Bytes written by the last {@link base64Bytes} call. */
let b64Len = 0;

/**
 * The base64 decoding of `s` (Node's lenient decoder: characters outside the alphabet are skipped) into the
 * reused scratch buffer (at most 3 bytes per 4 characters; a fresh Buffer past {@link SCRATCH_MAX_BYTES}),
 * instead of a new Buffer per value. The byte count is left in {@link b64Len}; read both before the next call.
 */
function base64Bytes(s: string): Buffer {
  const max = Math.ceil((s.length * 3) / 4) + 3;
  if (max > SCRATCH_MAX_BYTES) {
    const buf = Buffer.from(s, 'base64');
    b64Len = buf.length;
    return buf;
  }
  if (b64Buf.length < max) b64Buf = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX_BYTES, Math.max(max, 2 * b64Buf.length)));
  b64Len = b64Buf.write(s, 'base64');
  return b64Buf;
}

/**
 * {@link base64Decode} of `s` when the decoded text has the ASCII character `a` immediately followed by `b`
 * (e.g. `:"` for a PHP serialized object), else null. The decoded characters are walked as the lenient UTF-8
 * reading produces them (a byte below 0xC0 or outside a complete sequence is one Latin-1 character; a
 * complete, possibly overlong, sequence is one code point) without building the string, so a value without
 * the pair (most values, including long prose whose base64 reading is garbage) costs one pass over its bytes
 * and no allocation. Linear.
 */
export function base64DecodeIfPair(s: string, a: number, b: number): string | null {
  const buf = base64Bytes(s);
  const n = b64Len;
  let prev = -1;
  for (let i = 0; i < n; ) {
    const x = buf[i]!;
    let cp = x;
    let len = 1;
    if (x >= 0xc0) {
      const l = utf8SequenceAt(buf, i, n);
      if (l !== 0) {
        cp = seqCodePoint;
        len = l;
      }
    }
    if (cp === b && prev === a) return decodeBufferLenient(buf, n);
    prev = cp;
    i += len;
  }
  return null;
}

/** Scratch bytes of {@link base64Decode} (grows up to {@link SCRATCH_MAX_BYTES}). */
let b64Buf = Buffer.allocUnsafeSlow(4096);

/** A character that can start a UTF-8 sequence when read as a byte (a single class: linear, no backtracking). */
const LEAD_BYTE = /[\u00c0-\u00f4]/;

/**
 * `utf8ToUnicode`: characters U+0080–U+00FF that form a UTF-8 sequence when read as bytes (a value decoded
 * as Latin-1 upstream) are decoded as lenient UTF-8, including overlong forms (`\xC0\xAE` → `.`). Linear.
 */
export function utf8ToUnicode(s: string): string {
  if (!LEAD_BYTE.test(s)) return s; // no possible UTF-8 lead byte: nothing to decode (native scan)
  let i = 0;
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c >= 0xc0 && c <= 0xf4 && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0x80 && d <= 0xbf) break;
    }
    i++;
  }
  if (i >= n) return s;
  let out = s.slice(0, i);
  const bytes: number[] = [];
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80 && c <= 0xff) {
      bytes.push(c);
      continue;
    }
    if (bytes.length) {
      out += decodeBytesLenient(bytes, bytes.length);
      bytes.length = 0;
    }
    out += s[i];
  }
  if (bytes.length) out += decodeBytesLenient(bytes, bytes.length);
  return out;
}

/**
 * True for code units whose NFKC form differs in ways that matter for evasion: Latin-1 compatibility
 * characters (superscripts, ordinals, fractions, NBSP), spacing modifiers, general punctuation and
 * letterlike/number forms (U+2000–U+2BFF), CJK symbols, kana marks, Hangul compatibility jamo and CJK
 * compatibility (U+3000–U+33FF except the hiragana and katakana letters U+3041–U+3096, U+30A1–U+30FA and
 * U+30FC–U+30FE, which NFKC leaves alone, alone or in sequence), compatibility ideograph and presentation forms
 * (U+F900–U+FFEF, incl. full-width ASCII), and surrogates (math alphanumerics).
 */
function hasCompat(s: string): boolean {
  return COMPAT.test(s);
}

/**
 * The ranges of {@link hasCompat} as the body of a regular-expression character class (also used by the
 * engine's inert test, which must treat exactly these characters as ones `unicodeNormalize` may change).
 */
export const COMPAT_RANGES = '\\u00a0-\\u00bf\\u02b0-\\u036f\\u2000-\\u2bff\\u3000-\\u3040\\u3097-\\u30a0\\u30fb\\u30ff-\\u33ff\\ud800-\\uffff';

/** One character class (linear, no backtracking) covering the ranges of {@link hasCompat}. */
const COMPAT = new RegExp(`[${COMPAT_RANGES}]`);

/**
 * `unicodeNormalize`: NFKC (Unicode UAX #15), which folds full-width forms (`＜` → `<`, `ＳＥＬＥＣＴ` →
 * `SELECT`), ligatures and compatibility characters. Input without compatibility characters (ASCII, and
 * plain Latin/Cyrillic/Arabic/CJK text) is returned unchanged without work.
 */
export function unicodeNormalize(s: string): string {
  return hasCompat(s) ? s.normalize('NFKC') : s;
}

/** `trim`: strips leading and trailing whitespace. */
export function trim(s: string): string {
  return s.trim();
}

/** The registry: every {@link TransformName} mapped to its function. */
export const TRANSFORMS: Readonly<Record<TransformName, Transform>> = {
  none: (s) => s,
  urlDecodeUni,
  urlDecodeRepeat,
  urlDecodePercent,
  htmlEntityDecode,
  jsDecode,
  cssDecode,
  lowercase,
  compressWhitespace,
  removeWhitespace,
  removeNulls,
  replaceComments,
  removeCommentsChar,
  normalizePath,
  normalizePathWin,
  cmdLine,
  base64Decode,
  utf8ToUnicode,
  unicodeNormalize,
  trim,
};

/** Applies a chain left to right (uncached; the engine's scope caches). */
export function applyChain(s: string, chain: readonly TransformName[]): string {
  let v = s;
  for (const t of chain) v = TRANSFORMS[t](v);
  return v;
}
