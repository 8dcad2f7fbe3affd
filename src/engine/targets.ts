import zlib from 'node:zlib';
import type { RequestContext } from '../core/context.ts';
import type { Location } from '../core/types.ts';
import type { BodyInfo, Part } from './types.ts';
import { decodeBytesLenient, percentDecode } from './transforms.ts';

/**
 * Inspection targets: every inspectable part of a request with its {@link Location} (OWASP CRS collections
 * REQUEST_FILENAME, ARGS_NAMES, ARGS, REQUEST_COOKIES(_NAMES), REQUEST_HEADERS, FILES, XML:/*).
 *
 * All parsers here are hand-written single forward scans over the raw input, bounded by
 * {@link TargetLimits}: hostile input (64 KiB of `a[`, `[[[[`, a multipart body of empty parts) costs O(n) time
 * and at most `maxParts` parts. Values are decoded once by their syntax (percent-decoding for query strings
 * and forms, JSON string escapes for JSON); rules apply further transformations themselves.
 */

/** Bounds on extraction (per request phase). */
export interface TargetLimits {
  /** Maximum parts extracted per phase; past it extraction stops and `limited` is set. Default 1000. */
  maxParts: number;
  /** JSON/XML nesting tracked in key paths; deeper values are still inspected under the deepest path. Default 32. */
  maxDepth: number;
  /** Longest key path kept in a location name (chars); longer paths are cut. Default 256. */
  maxNameLength: number;
}

/** Default {@link TargetLimits}. */
export const DEFAULT_LIMITS: TargetLimits = { maxParts: 1000, maxDepth: 32, maxNameLength: 256 };

/** Headers inspected by default (OWASP CRS inspects User-Agent and Referer in its injection rules). */
export const DEFAULT_HEADERS: readonly string[] = ['user-agent', 'referer', 'x-forwarded-host'];

/** Collects parts up to the `max` bound; `limited` is set when a part was refused. */
export class Sink {
  readonly parts: Part[] = [];
  limited = false;
  readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  push(kind: Location['kind'], name: string | undefined, value: string): boolean {
    if (this.parts.length >= this.max) {
      this.limited = true;
      return false;
    }
    this.parts.push({ loc: name === undefined ? { kind } : { kind, name }, value });
    return true;
  }

  /** Adds a part past the bound (a whole text standing for the parts the bound cut off; bounded by the caller). */
  force(kind: Location['kind'], name: string | undefined, value: string): void {
    this.parts.push({ loc: name === undefined ? { kind } : { kind, name }, value });
  }
}

/**
 * Parses `application/x-www-form-urlencoded` text (a query string or a form body) with the WHATWG
 * urlencoded parser's rules: `&`-separated, the first `=` splits name and value, `+` is a space, one
 * percent-decoding pass ({@link percentDecode}: invalid escapes kept, bytes read as lenient UTF-8).
 * Bracketed names (`a[b]=`, `a[]=`) are kept whole as the name; repeated names give one part each, plus one
 * part with their values joined by `,` (ASP.NET and some other frameworks read `id=1 union/*&id=*\/select 2`
 * as `1 union/*,*\/select 2`). Empty pairs are skipped. Linear.
 */
export function parseUrlencoded(raw: string, nameKind: Location['kind'], valueKind: Location['kind'], sink: Sink, maxName: number): void {
  const n = raw.length;
  let start = 0;
  // values per name, kept only once a second pair exists (most query strings have one or none)
  let firstName: string | undefined;
  let firstValue = '';
  let byName: Map<string, string[]> | undefined;
  while (start <= n) {
    let end = raw.indexOf('&', start);
    if (end === -1) end = n;
    if (end > start) {
      let eq = raw.indexOf('=', start);
      if (eq === -1 || eq > end) eq = end;
      const name = percentDecode(raw.slice(start, eq), true);
      const value = eq < end ? percentDecode(raw.slice(eq + 1, end), true) : '';
      const locName = name.length > maxName ? name.slice(0, maxName) : name;
      if (!sink.push(nameKind, locName, name)) return;
      if (eq < end) {
        if (!sink.push(valueKind, locName, value)) return;
        if (firstName === undefined) {
          firstName = locName;
          firstValue = value;
        } else {
          if (byName === undefined) byName = new Map([[firstName, [firstValue]]]);
          const vs = byName.get(locName);
          if (vs === undefined) byName.set(locName, [value]);
          else vs.push(value);
        }
      }
    }
    start = end + 1;
  }
  if (byName !== undefined) {
    for (const [name, values] of byName) {
      if (values.length > 1 && !sink.push(valueKind, name, values.join(','))) return;
    }
  }
}

/**
 * Extracts the request-phase parts: the path (`path`, percent-decoded once) and its segments
 * (`path_segment`), query argument names and values (`query_name`, `query`), cookie names and values
 * (`cookie_name`, `cookie`, percent-decoded once, no `+` rule), and the values of the selected headers
 * (`header`, raw; names lower-case).
 * @param headers - lower-case header names to inspect (defaults {@link DEFAULT_HEADERS} plus policy extras).
 */
export function requestParts(ctx: RequestContext, headers: readonly string[], limits: TargetLimits = DEFAULT_LIMITS): { parts: Part[]; limited: boolean } {
  const sink = new Sink(limits.maxParts);
  const rawPath = ctx.path;
  sink.push('path', undefined, percentDecode(rawPath, false));
  // segments: every path has at least one (rules that read segments, not the whole path, must see `/:slug`
  // routes' only segment too)
  let segs = 0;
  for (let i = 0; i < rawPath.length; i++) if (rawPath.charCodeAt(i) === 0x2f) segs++;
  if (segs >= 1) {
    let from = 0;
    while (from <= rawPath.length) {
      let to = rawPath.indexOf('/', from);
      if (to === -1) to = rawPath.length;
      if (to > from) {
        if (!sink.push('path_segment', undefined, percentDecode(rawPath.slice(from, to), false))) break;
      }
      from = to + 1;
    }
  }
  if (ctx.rawQuery.length > 0) {
    parseUrlencoded(ctx.rawQuery, 'query_name', 'query', sink, limits.maxNameLength);
    // parameters past the bound: the whole query string once more, as one value (linear), so none goes unseen
    if (sink.limited) sink.force('query', '*', percentDecode(ctx.rawQuery, true));
  }
  const limitedBefore = sink.limited;
  const cookie = ctx.headers.cookie;
  if (cookie !== undefined) {
    const text = Array.isArray(cookie) ? cookie.join('; ') : cookie;
    let from = 0;
    while (from < text.length) {
      let to = text.indexOf(';', from);
      if (to === -1) to = text.length;
      let a = from;
      while (a < to && (text.charCodeAt(a) === 0x20 || text.charCodeAt(a) === 0x09)) a++;
      if (to > a) {
        let eq = text.indexOf('=', a);
        if (eq === -1 || eq > to) eq = to;
        const name = text.slice(a, eq).trim();
        const locName = name.length > limits.maxNameLength ? name.slice(0, limits.maxNameLength) : name;
        if (!sink.push('cookie_name', locName, name)) break;
        if (eq < to && !sink.push('cookie', locName, percentDecode(text.slice(eq + 1, to), false))) break;
      }
      from = to + 1;
    }
    if (sink.limited) sink.force('cookie', '*', percentDecode(text, false));
  }
  // the selected headers always (a bounded list): many parameters must not hide a header payload
  for (const h of headers) {
    const v = ctx.headers[h];
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      for (const x of v) sink.force('header', h, x);
    } else sink.force('header', h, v);
  }
  return { parts: sink.parts, limited: sink.limited || limitedBefore };
}

/** Media type of a Content-Type value: lower-cased, without parameters. */
export function mediaType(ct: string): string {
  const semi = ct.indexOf(';');
  return (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
}

/** A parameter of a Content-Type value (`boundary`, `charset`), unquoted; undefined when absent. */
export function mediaParam(ct: string, name: string): string | undefined {
  const lower = ct.toLowerCase();
  let i = lower.indexOf(';');
  while (i !== -1) {
    let a = i + 1;
    while (a < ct.length && (ct.charCodeAt(a) === 0x20 || ct.charCodeAt(a) === 0x09)) a++;
    if (lower.startsWith(name, a) && ct.charCodeAt(a + name.length) === 0x3d) {
      let v = a + name.length + 1;
      if (ct.charCodeAt(v) === 0x22) {
        const end = ct.indexOf('"', v + 1);
        return ct.slice(v + 1, end === -1 ? ct.length : end);
      }
      let end = ct.indexOf(';', v);
      if (end === -1) end = ct.length;
      return ct.slice(v, end).trim();
    }
    i = lower.indexOf(';', i + 1);
  }
  return undefined;
}

function bodyKind(ct: string, text: string): BodyInfo['kind'] {
  if (ct === '') {
    let i = 0;
    while (i < text.length && text.charCodeAt(i) <= 0x20) i++;
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) return 'json';
    if (c === 0x3c) return 'xml';
    if (text.indexOf('=') !== -1) return 'form';
    return text.length ? 'text' : 'none';
  }
  if (ct === 'application/x-www-form-urlencoded') return 'form';
  if (ct === 'application/json' || ct.endsWith('+json') || ct === 'text/json' || ct === 'application/x-ndjson') return 'json';
  if (ct.startsWith('multipart/')) return 'multipart';
  if (ct.endsWith('/xml') || ct.endsWith('+xml')) return 'xml';
  if (ct.startsWith('text/') || ct === 'application/javascript' || ct === 'application/graphql' || ct === 'application/x-yaml' || ct === 'application/yaml') return 'text';
  return 'binary';
}

/**
 * Extracts the body-phase parts from `ctx.body` (a prefix, possibly truncated) by its Content-Type:
 * urlencoded forms (`form_name`, `form`), JSON (`json_key`, `json`: every key and string value, named by key
 * path such as `user.emails[0]`), multipart (`multipart_name`, `multipart`, `filename`), XML (`xml`: text and
 * attribute values; DOCTYPE/ENTITY noticed), other text types as one `body` part. A body that does not parse
 * records {@link BodyInfo.parseError} and is also inspected whole as a `body` part, so that a broken
 * document cannot hide a payload. Binary media types are not inspected.
 */
export function bodyParts(ctx: RequestContext, limits: TargetLimits = DEFAULT_LIMITS): { parts: Part[]; info: BodyInfo } {
  const sink = new Sink(limits.maxParts);
  const b = ctx.body;
  const ctRaw = ctx.header('content-type');
  const ct = mediaType(ctRaw);
  const truncated = b?.truncated ?? false;
  let bytes = b?.bytes;
  let decodeError: string | undefined;
  const encoding = ctx.header('content-encoding');
  if (bytes && bytes.length && encoding !== '' && encoding.toLowerCase() !== 'identity') {
    const d = decodeContentEncoding(bytes, encoding, truncated);
    if (typeof d === 'string') decodeError = d;
    else bytes = d;
  }
  const text = bytes && bytes.length ? bytes.toString('utf8') : '';
  let kind: BodyInfo['kind'] = text.length ? bodyKind(ct, text) : 'none';
  // a body in an unexpected media type that reads as JSON is inspected as JSON: frameworks that parse
  // regardless of the Content-Type (Flask get_json(force=True), custom middleware) would receive it
  const sniffed = kind === 'binary' && looksLikeJson(text);
  if (sniffed) kind = 'json';
  const info: BodyInfo = { kind, contentType: ct, truncated, limited: false, text };
  const charset = mediaParam(ctRaw, 'charset')?.toLowerCase();
  if (charset !== undefined && kind !== 'binary' && !asciiCompatible(charset)) {
    // EBCDIC or UTF-16/32 text reads as noise here but as a payload to an upstream that honours the charset
    info.parseError = `charset ${clipName(charset)} is not ASCII-compatible`;
    info.kind = 'text';
  } else if (decodeError !== undefined) {
    info.parseError = decodeError;
  }
  switch (info.parseError === undefined ? info.kind : 'none') {
    case 'form':
      parseUrlencoded(text.indexOf('\n') === -1 ? text : text.trimEnd(), 'form_name', 'form', sink, limits.maxNameLength);
      break;
    case 'json':
      scanJson(text, sink, limits, info);
      break;
    case 'multipart':
      scanMultipart(bytes!, ctRaw, sink, limits, info);
      break;
    case 'xml':
      scanXml(text, sink, limits, info);
      break;
    case 'text':
      sink.push('body', undefined, text);
      break;
    default:
      break;
  }
  // sniffed JSON that does not parse was binary after all: no parse-error finding for a declared binary type
  if (sniffed && info.parseError !== undefined) {
    info.parseError = undefined;
    info.kind = 'binary';
  }
  if (info.parseError !== undefined) sink.push('body', undefined, text);
  info.limited = sink.limited || info.limited;
  // past the part bound the rest would go uninspected: the whole body is inspected once more as one text
  // (linear), so a payload after the 1,000th value is still seen
  if (sink.limited && text.length) sink.parts.push({ loc: { kind: 'body' }, value: text });
  return { parts: sink.parts, info };
}

/** Largest decoded body inspected, bytes: a decompression bomb is cut here, not expanded in memory. */
export const MAX_DECODED_BYTES = 1 << 20;

/**
 * The body decoded per its `Content-Encoding` (RFC 9110 §8.4: gzip, x-gzip, deflate, br, zstd; up to three
 * codings, applied in reverse order), as an upstream that inflates request bodies (Express body-parser) sees it.
 * A truncated prefix decodes as far as it goes. Returns an error string for an unknown coding, a corrupt stream
 * or output over {@link MAX_DECODED_BYTES}. Synchronous: at most 1 MiB of output per request.
 */
export function decodeContentEncoding(bytes: Buffer, header: string, truncated: boolean): Buffer | string {
  const codings = header.toLowerCase().split(',').map((c) => c.trim()).filter((c) => c !== '' && c !== 'identity');
  if (codings.length > 3) return `content-encoding: ${codings.length} codings`;
  let out = bytes;
  for (let i = codings.length - 1; i >= 0; i--) {
    const c = codings[i]!;
    const opts = { maxOutputLength: MAX_DECODED_BYTES, finishFlush: truncated ? zlib.constants.Z_SYNC_FLUSH : zlib.constants.Z_FINISH };
    try {
      if (c === 'gzip' || c === 'x-gzip') out = zlib.gunzipSync(out, opts);
      else if (c === 'deflate') {
        try {
          out = zlib.inflateSync(out, opts);
        } catch {
          out = zlib.inflateRawSync(out, opts); // some clients send raw DEFLATE (RFC 1951) as "deflate"
        }
      } else if (c === 'br') out = zlib.brotliDecompressSync(out, { maxOutputLength: MAX_DECODED_BYTES, finishFlush: truncated ? zlib.constants.BROTLI_OPERATION_FLUSH : zlib.constants.BROTLI_OPERATION_FINISH });
      else if (c === 'zstd' && typeof zlib.zstdDecompressSync === 'function') out = zlib.zstdDecompressSync(out, { maxOutputLength: MAX_DECODED_BYTES });
      else return `content-encoding ${clipName(c)} not supported`;
    } catch (err) {
      const e = err as { code?: string };
      return e.code === 'ERR_BUFFER_TOO_LARGE' ? `content-encoding ${c}: decoded body over ${MAX_DECODED_BYTES} bytes` : `content-encoding ${c}: corrupt stream`;
    }
  }
  return out;
}

/** True when `text` starts (after whitespace) like a JSON object or array. */
function looksLikeJson(text: string): boolean {
  let i = 0;
  while (i < text.length && i < 64 && text.charCodeAt(i) <= 0x20) i++;
  const c = text.charCodeAt(i);
  const d = text.charCodeAt(i + 1);
  // `{"`, `{}`, `[`, followed by a JSON value start: not a binary format that happens to start with a brace
  return (c === 0x7b && (d === 0x22 || d === 0x7d || d <= 0x20)) || (c === 0x5b && (d === 0x22 || d === 0x7b || d === 0x5b || d === 0x5d || (d >= 0x30 && d <= 0x39) || d <= 0x20));
}

/** Charsets whose bytes for ASCII characters are ASCII (UTF-8, ISO-8859-*, Windows-125x, …). */
function asciiCompatible(charset: string): boolean {
  const c = charset.replace(/^"|"$/g, '');
  return !(c.startsWith('utf-16') || c.startsWith('utf-32') || c.startsWith('ucs-') || c === 'utf-7' || c.includes('ebcdic') || /^(ibm|cp)0?(37|273|277|278|280|284|285|290|297|420|424|500|870|871|875|1025|1026|1047|1140|1141|1142|1143|1144|1145|1146|1147|1148|1149)$/.test(c));
}

function clipName(s: string): string {
  return s.length > 32 ? s.slice(0, 32) : s;
}

function isJsonWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Reads a JSON string starting at the opening quote `s[i]`; returns the decoded value and the index after the
 * closing quote, or `end: -1` when unterminated / invalid. Linear.
 */
function readJsonString(s: string, i: number): { value: string; end: number } {
  let j = i + 1;
  const n = s.length;
  let out = '';
  let from = j;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === 0x22) return { value: out + s.slice(from, j), end: j + 1 };
    if (c === 0x5c) {
      out += s.slice(from, j);
      if (j + 1 >= n) return { value: out, end: -1 };
      const e = s.charCodeAt(j + 1);
      switch (e) {
        case 0x22: out += '"'; break;
        case 0x5c: out += '\\'; break;
        case 0x2f: out += '/'; break;
        case 0x62: out += '\b'; break;
        case 0x66: out += '\f'; break;
        case 0x6e: out += '\n'; break;
        case 0x72: out += '\r'; break;
        case 0x74: out += '\t'; break;
        case 0x75: {
          const hex = s.slice(j + 2, j + 6);
          if (hex.length !== 4) return { value: out, end: -1 };
          let v = 0;
          for (let k = 0; k < 4; k++) {
            const h = hex.charCodeAt(k);
            const d = h >= 48 && h <= 57 ? h - 48 : (h | 0x20) >= 97 && (h | 0x20) <= 102 ? (h | 0x20) - 87 : -1;
            if (d < 0) return { value: out, end: -1 };
            v = v * 16 + d;
          }
          out += String.fromCharCode(v);
          j += 4;
          break;
        }
        default:
          return { value: out, end: -1 };
      }
      j += 2;
      from = j;
      continue;
    }
    if (c < 0x20) return { value: out, end: -1 };
    j++;
  }
  return { value: out + s.slice(from), end: -1 };
}

/**
 * Streaming JSON scanner (RFC 8259 grammar, iterative, no recursion): emits every object key (`json_key`)
 * and string value (`json`) with its key path, without building objects, so duplicate keys cannot hide a
 * value and nesting depth cannot exhaust the stack. Numbers, booleans and null are validated, not emitted.
 * Records a parse error (position and reason) unless the error is the cut of a truncated prefix.
 */
export function scanJson(s: string, sink: Sink, limits: TargetLimits, info: BodyInfo): void {
  const n = s.length;
  // container stack: 1 = object, 2 = array; paths for the first maxDepth levels
  const kinds: number[] = [];
  const paths: string[] = [];
  const index: number[] = [];
  let key = '';
  let i = 0;
  // states: 0 value, 1 key or '}', 2 colon, 3 comma or end, 4 key (after comma)
  let state = 0;
  let done = false;
  const fail = (why: string): void => {
    if (!(info.truncated && i >= n)) info.parseError = `json: ${why} at ${i}`;
  };
  const pathOf = (): string => {
    const d = kinds.length;
    if (d === 0) return '';
    const base = d <= limits.maxDepth ? paths[d - 1]! : paths[limits.maxDepth - 1]!;
    let p: string;
    if (kinds[d - 1] === 1) p = base ? `${base}.${key}` : key;
    else p = `${base}[${index[d - 1]}]`;
    return p.length > limits.maxNameLength ? p.slice(0, limits.maxNameLength) : p;
  };
  while (true) {
    while (i < n && isJsonWs(s.charCodeAt(i))) i++;
    if (i >= n) {
      if (kinds.length > 0 || !done) fail('unexpected end');
      return;
    }
    const c = s.charCodeAt(i);
    if (done) {
      // NDJSON / concatenated documents are accepted: start the next one
      done = false;
      state = 0;
    }
    if (state === 0) {
      if (c === 0x7b || c === 0x5b) {
        const p = pathOf();
        kinds.push(c === 0x7b ? 1 : 2);
        index.push(0);
        if (kinds.length <= limits.maxDepth) paths.push(p);
        else info.limited = true;
        state = c === 0x7b ? 1 : 5;
        i++;
        continue;
      }
      if (c === 0x22) {
        const r = readJsonString(s, i);
        if (r.end === -1) {
          i = n;
          fail('unterminated string');
          if (r.value.length) sink.push('json', pathOf(), r.value);
          return;
        }
        if (!sink.push('json', pathOf(), r.value)) return;
        i = r.end;
      } else {
        // literal or number: scan its token
        const st = i;
        while (i < n) {
          const d = s.charCodeAt(i);
          if (isJsonWs(d) || d === 0x2c || d === 0x7d || d === 0x5d) break;
          i++;
        }
        const tok = s.slice(st, i);
        if (!(tok === 'true' || tok === 'false' || tok === 'null' || isJsonNumber(tok))) {
          i = st;
          fail(`unexpected token ${JSON.stringify(tok.slice(0, 16))}`);
          return;
        }
      }
      state = 3;
      if (kinds.length === 0) done = true;
      continue;
    }
    if (state === 5) {
      // first element of an array or ']'
      if (c === 0x5d) {
        closeContainer();
        continue;
      }
      state = 0;
      continue;
    }
    if (state === 1 || state === 4) {
      if (c === 0x7d && state === 1) {
        closeContainer();
        continue;
      }
      if (c !== 0x22) {
        fail('expected a key');
        return;
      }
      const r = readJsonString(s, i);
      if (r.end === -1) {
        i = n;
        fail('unterminated key');
        return;
      }
      key = r.value.length > limits.maxNameLength ? r.value.slice(0, limits.maxNameLength) : r.value;
      if (!sink.push('json_key', pathOf(), r.value)) return;
      i = r.end;
      state = 2;
      continue;
    }
    if (state === 2) {
      if (c !== 0x3a) {
        fail("expected ':'");
        return;
      }
      i++;
      state = 0;
      continue;
    }
    // state 3: ',' or close
    const top = kinds[kinds.length - 1];
    if (c === 0x2c && top !== undefined) {
      i++;
      if (top === 1) state = 4;
      else {
        index[index.length - 1]!++;
        state = 0;
      }
      continue;
    }
    if ((c === 0x7d && top === 1) || (c === 0x5d && top === 2)) {
      closeContainer();
      continue;
    }
    fail(`unexpected ${JSON.stringify(s[i])}`);
    return;
  }

  function closeContainer(): void {
    if (kinds.length <= limits.maxDepth) paths.pop();
    kinds.pop();
    index.pop();
    i++;
    state = 3;
    if (kinds.length === 0) done = true;
  }
}

function isJsonNumber(t: string): boolean {
  let i = 0;
  const n = t.length;
  if (t.charCodeAt(i) === 0x2d) i++;
  const ds = i;
  while (i < n && t.charCodeAt(i) >= 48 && t.charCodeAt(i) <= 57) i++;
  if (i === ds) return false;
  if (i < n && t.charCodeAt(i) === 0x2e) {
    i++;
    const f = i;
    while (i < n && t.charCodeAt(i) >= 48 && t.charCodeAt(i) <= 57) i++;
    if (i === f) return false;
  }
  if (i < n && (t.charCodeAt(i) | 0x20) === 0x65) {
    i++;
    if (i < n && (t.charCodeAt(i) === 0x2b || t.charCodeAt(i) === 0x2d)) i++;
    const e = i;
    while (i < n && t.charCodeAt(i) >= 48 && t.charCodeAt(i) <= 57) i++;
    if (i === e) return false;
  }
  return i === n;
}

/** A Content-Disposition parameter (`name`, `filename`) from a part header line; undefined when absent. */
function dispositionParam(line: string, lower: string, name: string): string | undefined {
  let from = 0;
  while (true) {
    const i = lower.indexOf(name + '=', from);
    if (i === -1) return undefined;
    const before = i === 0 ? 0x3b : lower.charCodeAt(i - 1);
    if (before === 0x3b || before === 0x20 || before === 0x09) {
      const v = i + name.length + 1;
      if (line.charCodeAt(v) === 0x22) {
        const end = line.indexOf('"', v + 1);
        return line.slice(v + 1, end === -1 ? line.length : end);
      }
      let end = line.indexOf(';', v);
      if (end === -1) end = line.length;
      return line.slice(v, end).trim();
    }
    from = i + 1;
  }
}

/** True for part media types whose content is text worth inspecting. */
function textual(ct: string): boolean {
  return ct === '' || ct.startsWith('text/') || ct.includes('json') || ct.includes('xml') || ct === 'application/x-www-form-urlencoded';
}

/**
 * multipart/form-data scanner (RFC 7578): splits on the boundary, reads each part's headers, and emits the
 * field name (`multipart_name`), the filename (`filename`) and the content (`multipart`) of fields and of
 * textual files (binary file content is not inspected). Linear: `indexOf` from increasing offsets.
 */
function scanMultipart(bytes: Buffer, ctRaw: string, sink: Sink, limits: TargetLimits, info: BodyInfo): void {
  const boundary = mediaParam(ctRaw, 'boundary');
  if (!boundary || boundary.length > 200) {
    info.parseError = 'multipart: missing or invalid boundary';
    return;
  }
  const s = bytes.toString('latin1');
  const delim = '--' + boundary;
  let i = s.indexOf(delim);
  if (i === -1) {
    if (!info.truncated) info.parseError = 'multipart: boundary not found';
    return;
  }
  let parts = 0;
  while (i !== -1) {
    let p = i + delim.length;
    if (s.startsWith('--', p)) return; // closing delimiter
    // skip to end of the delimiter line
    const eol = s.indexOf('\n', p);
    if (eol === -1) break;
    p = eol + 1;
    // The part ends at the next delimiter; its header section ends at the first empty line before that (CRLF or
    // bare LF). Both searches stop at the next delimiter, so each byte is scanned once: searching the whole
    // rest of the body for each part was quadratic (64 KiB of empty parts took 200 ms).
    const next = s.indexOf('\r\n' + delim, p);
    const limit = next === -1 ? s.length : next;
    let hdrEnd = -1;
    let bodyStart = -1;
    if (s.charCodeAt(p) === 0x0a) {
      hdrEnd = p;
      bodyStart = p + 1;
    } else if (s.charCodeAt(p) === 0x0d && s.charCodeAt(p + 1) === 0x0a) {
      hdrEnd = p;
      bodyStart = p + 2;
    } else {
      for (let k = s.indexOf('\n', p); k !== -1 && k < limit; k = s.indexOf('\n', k + 1)) {
        const a = s.charCodeAt(k + 1);
        const blank = a === 0x0a ? 2 : a === 0x0d && s.charCodeAt(k + 2) === 0x0a ? 3 : 0;
        if (blank === 0) continue;
        hdrEnd = s.charCodeAt(k - 1) === 0x0d ? k - 1 : k;
        bodyStart = k + blank;
        break;
      }
    }
    if (hdrEnd === -1) {
      if (!info.truncated) info.parseError = 'multipart: part headers not terminated';
      return;
    }
    const contentEnd = next === -1 || next < bodyStart ? s.length : next;
    let name: string | undefined;
    let filename: string | undefined;
    let partCt = '';
    const headerText = s.slice(p, hdrEnd);
    let from = 0;
    while (from < headerText.length) {
      let to = headerText.indexOf('\n', from);
      if (to === -1) to = headerText.length;
      const line = headerText.slice(from, to).replace('\r', '');
      const lower = line.toLowerCase();
      if (lower.startsWith('content-disposition:')) {
        name = dispositionParam(line, lower, 'name');
        filename = dispositionParam(line, lower, 'filename');
      } else if (lower.startsWith('content-type:')) partCt = mediaType(line.slice(13));
      from = to + 1;
    }
    const utf8 = (x: string): string => {
      const b = Buffer.from(x, 'latin1');
      return decodeBytesLenient(b, b.length);
    };
    const locName = name === undefined ? undefined : utf8(name).slice(0, limits.maxNameLength);
    if (name !== undefined && !sink.push('multipart_name', locName, utf8(name))) return;
    if (filename !== undefined && !sink.push('filename', locName, utf8(filename))) return;
    if (filename === undefined || textual(partCt)) {
      if (!sink.push('multipart', locName, utf8(s.slice(bodyStart, contentEnd)))) return;
    }
    if (++parts > limits.maxParts) {
      info.limited = true;
      return;
    }
    if (next === -1) {
      if (!info.truncated) info.parseError = 'multipart: closing boundary missing';
      return;
    }
    i = next + 2;
  }
}

/**
 * XML scanner (not a validating parser: never expands entities): emits text nodes and CDATA (`xml`, named by
 * the element) and attribute values (`xml`, named `element@attribute`), and notices `<!DOCTYPE`, `<!ENTITY`
 * declarations and external identifiers (`SYSTEM`/`PUBLIC`) for the XXE rules. Linear.
 */
function scanXml(s: string, sink: Sink, limits: TargetLimits, info: BodyInfo): void {
  const n = s.length;
  const stack: string[] = [];
  let extra = 0; // open elements beyond maxDepth (not named in paths)
  let i = 0;
  let entities = 0;
  const emitText = (a: number, b: number): boolean => {
    if (b <= a) return true;
    const t = s.slice(a, b).trim();
    if (!t) return true;
    return sink.push('xml', stack.length ? stack[stack.length - 1] : undefined, t);
  };
  while (i < n) {
    const lt = s.indexOf('<', i);
    if (lt === -1) {
      emitText(i, n);
      break;
    }
    if (!emitText(i, lt)) return;
    if (s.startsWith('<!--', lt)) {
      const e = s.indexOf('-->', lt + 4);
      i = e === -1 ? n : e + 3;
      continue;
    }
    if (s.startsWith('<![CDATA[', lt)) {
      const e = s.indexOf(']]>', lt + 9);
      const end = e === -1 ? n : e;
      if (!sink.push('xml', stack.length ? stack[stack.length - 1] : undefined, s.slice(lt + 9, end))) return;
      i = e === -1 ? n : e + 3;
      continue;
    }
    if (s.startsWith('<!', lt)) {
      // DOCTYPE with optional internal subset [...]
      const upper = s.slice(lt, lt + 9).toUpperCase();
      if (upper === '<!DOCTYPE') info.xmlDoctype = true;
      if (upper.startsWith('<!ENTITY')) entities++;
      let j = lt + 2;
      let depth = 0;
      let quote = 0;
      while (j < n) {
        const c = s.charCodeAt(j);
        if (quote) {
          if (c === quote) quote = 0;
        } else if (c === 0x22 || c === 0x27) quote = c;
        else if (c === 0x5b) depth++;
        else if (c === 0x5d) depth--;
        else if (c === 0x3c && s.startsWith('<!ENTITY', j)) entities++;
        else if (c === 0x3e && depth <= 0) break;
        j++;
      }
      const decl = s.slice(lt, Math.min(j + 1, n)).toUpperCase();
      if (decl.includes(' SYSTEM') || decl.includes(' PUBLIC') || decl.includes('\tSYSTEM') || decl.includes('\nSYSTEM')) {
        info.xmlExternalEntity = true;
      }
      i = j + 1;
      continue;
    }
    if (s.startsWith('<?', lt)) {
      const e = s.indexOf('?>', lt + 2);
      i = e === -1 ? n : e + 2;
      continue;
    }
    if (s.charCodeAt(lt + 1) === 0x2f) {
      const e = s.indexOf('>', lt + 2);
      if (extra > 0) extra--;
      else if (stack.length) stack.pop();
      i = e === -1 ? n : e + 1;
      continue;
    }
    // start tag: name, attributes, '/>' or '>'
    let j = lt + 1;
    while (j < n && !isXmlBreak(s.charCodeAt(j))) j++;
    const name = s.slice(lt + 1, j).slice(0, 64);
    let selfClose = false;
    while (j < n) {
      while (j < n && isXmlSpace(s.charCodeAt(j))) j++;
      const c = s.charCodeAt(j);
      if (c === 0x3e) {
        j++;
        break;
      }
      if (c === 0x2f) {
        selfClose = true;
        j++;
        continue;
      }
      const an = j;
      while (j < n && !isXmlBreak(s.charCodeAt(j)) && s.charCodeAt(j) !== 0x3d) j++;
      const attr = s.slice(an, j);
      while (j < n && isXmlSpace(s.charCodeAt(j))) j++;
      if (s.charCodeAt(j) === 0x3d) {
        j++;
        while (j < n && isXmlSpace(s.charCodeAt(j))) j++;
        const q = s.charCodeAt(j);
        let vEnd: number;
        let vStart: number;
        if (q === 0x22 || q === 0x27) {
          vStart = j + 1;
          vEnd = s.indexOf(String.fromCharCode(q), vStart);
          if (vEnd === -1) vEnd = n;
          j = vEnd + 1;
        } else {
          vStart = j;
          while (j < n && !isXmlBreak(s.charCodeAt(j))) j++;
          vEnd = j;
        }
        if (!sink.push('xml', `${name}@${attr}`.slice(0, limits.maxNameLength), s.slice(vStart, vEnd))) return;
      } else if (an === j) j++;
    }
    if (!selfClose) {
      if (stack.length < limits.maxDepth) stack.push(name);
      else {
        extra++;
        info.limited = true;
      }
    }
    i = j;
  }
  if (entities) info.xmlEntities = entities;
}

function isXmlSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isXmlBreak(c: number): boolean {
  return isXmlSpace(c) || c === 0x3e || c === 0x2f;
}
