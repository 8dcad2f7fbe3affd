/**
 * Value classification shared by API discovery (path templating) and the positive security model
 * (parameter value types). Hand-written linear scanners: no regular expression runs on request data.
 */

/**
 * Type of a value as seen on the wire (after percent-decoding):
 * - `empty`: zero length.
 * - `int`: optional sign and 1–19 ASCII digits.
 * - `float`: decimal number with one dot and/or an exponent.
 * - `bool`: `true` / `false` (any case).
 * - `uuid`: RFC 9562 textual form `8-4-4-4-12` hex digits.
 * - `hex`: 16 or more hex digits only (hashes, object ids: MD5 is 32, SHA-1 40, MongoDB ObjectId 24).
 * - `date`: ISO 8601 date `YYYY-MM-DD`, optionally followed by `T`/space and a time.
 * - `email`: `local@domain.tld` with no spaces.
 * - `token`: 20 or more characters of `[A-Za-z0-9_-.~+/=]` mixing letters and digits (API keys, JWT parts, base64url ids).
 * - `word`: letters, digits, `_ - . ~` only (identifiers, slugs, enum values) but not one of the above.
 * - `text`: anything else (free text, punctuation, spaces, non-ASCII).
 */
export type ValueType = 'empty' | 'int' | 'float' | 'bool' | 'uuid' | 'hex' | 'date' | 'email' | 'token' | 'word' | 'text';

/** All value types, in a stable order (bit position in {@link typeBit}). */
export const VALUE_TYPES: readonly ValueType[] = ['empty', 'int', 'float', 'bool', 'uuid', 'hex', 'date', 'email', 'token', 'word', 'text'];

/** Bit of a value type in a type mask. */
export function typeBit(t: ValueType): number {
  return 1 << VALUE_TYPES.indexOf(t);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}
function isAlpha(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}

function isInt(s: string): boolean {
  let i = 0;
  if (s.charCodeAt(0) === 45 || s.charCodeAt(0) === 43) i = 1;
  const n = s.length - i;
  if (n < 1 || n > 19) return false;
  for (; i < s.length; i++) if (!isDigit(s.charCodeAt(i))) return false;
  return true;
}

function isFloat(s: string): boolean {
  if (s.length > 40) return false;
  let i = 0;
  if (s.charCodeAt(0) === 45 || s.charCodeAt(0) === 43) i = 1;
  let digits = 0;
  let dot = false;
  let exp = false;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isDigit(c)) digits++;
    else if (c === 46 && !dot && !exp) dot = true;
    else if ((c === 101 || c === 69) && !exp && digits > 0) {
      exp = true;
      if (s.charCodeAt(i + 1) === 45 || s.charCodeAt(i + 1) === 43) i++;
    } else return false;
  }
  return digits > 0 && (dot || exp);
}

function isUuid(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!isHex(c)) return false;
  }
  return true;
}

function isHexString(s: string): boolean {
  if (s.length < 16) return false;
  let letters = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isHex(c)) return false;
    if (!isDigit(c)) letters++;
  }
  // all-digit strings of 16+ are ids too, but we call them hex only when a letter appears or they are long
  return letters > 0 || s.length > 19;
}

function isDate(s: string): boolean {
  if (s.length < 10 || s.length > 35) return false;
  for (let i = 0; i < 10; i++) {
    const c = s.charCodeAt(i);
    if (i === 4 || i === 7) {
      if (c !== 45) return false;
    } else if (!isDigit(c)) return false;
  }
  if (s.length === 10) return true;
  const t = s.charCodeAt(10);
  if (t !== 84 && t !== 32 && t !== 116) return false;
  for (let i = 11; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // time part: digits, ':', '.', 'Z', '+', '-'
    if (!(isDigit(c) || c === 58 || c === 46 || c === 90 || c === 122 || c === 43 || c === 45)) return false;
  }
  return true;
}

function isEmail(s: string): boolean {
  if (s.length < 6 || s.length > 254) return false;
  const at = s.indexOf('@');
  if (at < 1 || at !== s.lastIndexOf('@')) return false;
  const dot = s.lastIndexOf('.');
  if (dot < at + 2 || dot >= s.length - 2) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 32 || c === 60 || c === 62 || c === 34 || c === 39 || c === 40 || c === 41 || c === 59 || c === 92 || c >= 127) return false;
  }
  return true;
}

function isWordChar(c: number): boolean {
  return isAlpha(c) || isDigit(c) || c === 95 || c === 45 || c === 46 || c === 126;
}

function tokenShape(s: string): 'token' | 'word' | null {
  let letters = 0;
  let digits = 0;
  let b64 = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isAlpha(c)) letters++;
    else if (isDigit(c)) digits++;
    else if (c === 95 || c === 45 || c === 46 || c === 126) continue;
    else if (c === 43 || c === 47 || c === 61) b64 = true;
    else return null;
  }
  if (s.length >= 20 && letters > 0 && digits > 0) return 'token';
  return b64 ? null : 'word';
}

/**
 * Classifies a (decoded) value. Linear in the value's length; values longer than 4,096 chars are `text`
 * without scanning (nothing typed is that long).
 */
export function classifyValue(s: string): ValueType {
  const n = s.length;
  if (n === 0) return 'empty';
  if (n > 4096) return 'text';
  const c0 = s.charCodeAt(0);
  if (isDigit(c0) || c0 === 45 || c0 === 43) {
    if (isInt(s)) return n > 19 ? 'hex' : 'int';
    if (isDate(s)) return 'date';
    if (isUuid(s)) return 'uuid';
    if (isFloat(s)) return 'float';
  }
  if (n === 4 || n === 5) {
    const l = s.toLowerCase();
    if (l === 'true' || l === 'false') return 'bool';
  }
  if (n === 36 && isUuid(s)) return 'uuid';
  if (isHexString(s)) return 'hex';
  if (s.indexOf('@') > 0 && isEmail(s)) return 'email';
  const shape = tokenShape(s);
  if (shape !== null) return shape;
  return 'text';
}

/**
 * Placeholder for a path segment when its value is clearly an identifier, else undefined:
 * `{id}` (integer), `{uuid}`, `{hash}` (hex ≥ 16), `{date}`, `{email}`, `{token}` (long opaque token).
 * Segments over 256 chars become `{blob}` so a hostile path cannot create huge route names.
 */
export function segmentPlaceholder(seg: string): string | undefined {
  if (seg.length > 256) return '{blob}';
  const t = classifyValue(seg);
  switch (t) {
    case 'int':
      return '{id}';
    case 'uuid':
      return '{uuid}';
    case 'hex':
      return '{hash}';
    case 'date':
      return '{date}';
    case 'email':
      return '{email}';
    case 'token':
      return '{token}';
    default:
      // percent-encoded emails (`%40`) and other long encoded opaque values
      if (seg.length >= 24 && seg.indexOf('%40') > 0) return '{email}';
      return undefined;
  }
}

/**
 * Character classes of a value as a bit mask: 1 lower, 2 upper, 4 digit, 8 space, 16 safe punctuation
 * (`-_.~,:/@+=`), 32 other ASCII punctuation, 64 quote/angle/semicolon/backslash/backtick/brace (`'"<>;\\`{}|$`),
 * 128 control characters (< 0x20 except tab/CR/LF, and DEL), 256 non-ASCII, 512 tab/CR/LF.
 * Class 64 separates injection-capable metacharacters from ordinary punctuation (OWASP input validation
 * cheat sheet: allow-list character classes per field).
 */
export function charClasses(s: string, limit = 4096): number {
  let m = 0;
  const n = Math.min(s.length, limit);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) m |= 1;
    else if (c >= 65 && c <= 90) m |= 2;
    else if (c >= 48 && c <= 57) m |= 4;
    else if (c === 32) m |= 8;
    else if (c === 9 || c === 10 || c === 13) m |= 512;
    else if (c < 32 || c === 127) m |= 128;
    else if (c >= 128) m |= 256;
    else if (c === 45 || c === 95 || c === 46 || c === 126 || c === 44 || c === 58 || c === 47 || c === 64 || c === 43 || c === 61) m |= 16;
    else if (c === 39 || c === 34 || c === 60 || c === 62 || c === 59 || c === 92 || c === 96 || c === 123 || c === 125 || c === 124 || c === 36) m |= 64;
    else m |= 32;
  }
  return m;
}

/** Human-readable names of the bits of {@link charClasses}. */
export function charClassNames(mask: number): string {
  const names = ['lower', 'upper', 'digit', 'space', 'punct', 'symbol', 'meta', 'control', 'non-ascii', 'newline'];
  const out: string[] = [];
  for (let i = 0; i < names.length; i++) if (mask & (1 << i)) out.push(names[i]!);
  return out.join('+');
}

/**
 * Percent-decodes a query/form component (`+` is a space). Never throws: invalid escapes and invalid UTF-8
 * are decoded byte-wise as Latin-1, so `%F1` (CSIC's Latin-1) stays one character.
 */
export function decodeComponent(s: string): string {
  if (s.indexOf('%') === -1 && s.indexOf('+') === -1) return s;
  const plus = s.indexOf('+') === -1 ? s : s.replaceAll('+', ' ');
  if (plus.indexOf('%') === -1) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    let out = '';
    for (let i = 0; i < plus.length; i++) {
      const c = plus.charCodeAt(i);
      if (c === 37 && i + 2 < plus.length && isHex(plus.charCodeAt(i + 1)) && isHex(plus.charCodeAt(i + 2))) {
        out += String.fromCharCode(parseInt(plus.slice(i + 1, i + 3), 16));
        i += 2;
      } else out += plus[i];
    }
    return out;
  }
}
