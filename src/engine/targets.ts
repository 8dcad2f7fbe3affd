import zlib from 'node:zlib';
import { scratchKey, type RequestContext } from '../core/context.ts';
import type { Location } from '../core/types.ts';
import type { BodyInfo, Part } from './types.ts';
import { decodeBytesLenient, hexVal, percentDecode } from './transforms.ts';

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

/**
 * The body's parts as the payload engine extracted them (set by `PayloadEngine.inspectBody`): later readers of
 * the same body (the login username) reuse them instead of decoding and parsing the body again.
 */
export const SCRATCH_BODY_PARTS = scratchKey<{ parts: Part[]; info: BodyInfo }>('engine.bodyParts');

/** Default {@link TargetLimits}. */
export const DEFAULT_LIMITS: TargetLimits = { maxParts: 1000, maxDepth: 32, maxNameLength: 256 };

/**
 * Headers inspected by default: OWASP CRS inspects User-Agent and Referer in its injection rules; the others are
 * headers applications commonly read as data.
 */
export const DEFAULT_HEADERS: readonly string[] = [
  'user-agent', 'referer', 'x-forwarded-host',
  // client addresses applications log and store (stored SQLi / XSS in admin views; a plain address list is not
  // made a part: isAddressList), and the CORS origin they echo and log
  'x-forwarded-for', 'x-real-ip', 'x-client-ip', 'true-client-ip', 'origin',
  // URL-rewrite headers (see REWRITE_HEADERS; also parsed as a request-target)
  'x-original-url', 'x-rewrite-url',
];

/** Collects parts up to the `max` bound; `limited` is set when a part was refused. */
export class Sink {
  readonly parts: Part[] = [];
  limited = false;
  readonly max: number;
  /** Parts whose embedded JSON an extractor already read (a JSON multipart part): {@link expandEmbedded} skips them. */
  expanded: Part[] | undefined;
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
  const first = sink.parts.length;
  let values = 0;
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
        values++;
      }
    }
    start = end + 1;
  }
  if (values > 1) joinRepeated(sink, first, valueKind);
}

/**
 * For each name with several value parts among `sink.parts[from..]` (of `valueKind`), one more part with the
 * values joined by `,`, in first-occurrence order. Repeats are rare: nothing is allocated until one is found
 * in up to 128 parts (compared pairwise); more parts go through a Map (linear).
 */
function joinRepeated(sink: Sink, from: number, valueKind: Location['kind']): void {
  const parts = sink.parts;
  const end = parts.length;
  if (end - from > 128) {
    const byName = new Map<string, string[]>();
    for (let i = from; i < end; i++) {
      const p = parts[i]!;
      if (p.loc.kind !== valueKind) continue;
      const vs = byName.get(p.loc.name!);
      if (vs === undefined) byName.set(p.loc.name!, [p.value]);
      else vs.push(p.value);
    }
    for (const [name, vs] of byName) if (vs.length > 1 && !sink.push(valueKind, name, vs.join(','))) return;
    return;
  }
  for (let i = from; i < end; i++) {
    const p = parts[i]!;
    if (p.loc.kind !== valueKind) continue;
    const name = p.loc.name!;
    let seen = false;
    for (let j = from; j < i && !seen; j++) seen = parts[j]!.loc.kind === valueKind && parts[j]!.loc.name === name;
    if (seen) continue; // joined at its first occurrence
    let joined: string | undefined;
    for (let j = i + 1; j < end; j++) {
      const q = parts[j]!;
      if (q.loc.kind === valueKind && q.loc.name === name) joined = (joined ?? p.value) + ',' + q.value;
    }
    if (joined !== undefined && !sink.push(valueKind, name, joined)) return;
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
  targetParts(ctx.path, ctx.rawQuery, sink, limits);
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
  // values that carry a second encoding the application decodes (JSON in a parameter, base64 text in a cookie)
  expandEmbedded(sink, limits, 0);
  // the selected headers always (a bounded list): many parameters must not hide a header payload
  for (const h of headers) {
    const v = ctx.headers[h];
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      for (const x of v) sink.force('header', h, x);
    } else if (!(ADDRESS_HEADERS.has(h) ? isAddressList(v) : h === 'origin' && isPlainOrigin(v))) sink.force('header', h, v);
  }
  // IIS URL Rewrite, Laminas and older Symfony route on these headers instead of the request-target: their
  // path and query are inspected like the request-target's (bounded like it; the raw value is a header part)
  for (const h of REWRITE_HEADERS) {
    const v = ctx.headers[h];
    if (typeof v !== 'string' || v.length === 0) continue;
    const q = v.indexOf('?');
    const sub = new Sink(limits.maxParts);
    targetParts(q === -1 ? v : v.slice(0, q), q === -1 ? '' : v.slice(q + 1), sub, limits);
    for (const p of sub.parts) sink.parts.push(p);
  }
  basicCredentials(ctx.headers.authorization, sink);
  return { parts: sink.parts, limited: sink.limited };
}

/** Client-address headers: present on every proxied request, and almost always a plain address list. */
const ADDRESS_HEADERS: ReadonlySet<string> = new Set(['x-forwarded-for', 'x-real-ip', 'x-client-ip', 'true-client-ip']);

/**
 * True when `v` holds only hex digits, `.`, `:`, `,`, `[`, `]` and spaces (IPv4/IPv6 address lists, ports):
 * such a value cannot carry an injection, so the part is not made (saves every header rule on every proxied
 * request). Anything else (`unknown`, `'`, `%`) is inspected.
 */
function isAddressList(v: string): boolean {
  if (v.length > 512) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c >= 0x30 && c <= 0x3a) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) || c === 0x2e || c === 0x2c || c === 0x20 || c === 0x5b || c === 0x5d) continue;
    return false;
  }
  return true;
}

/**
 * True for a serialized origin as browsers send it (RFC 6454 §6.2): `null`, or `scheme://host[:port]` with
 * only letters, digits, `.`, `-`, `+` and an IPv6 literal's brackets and colons. Nothing in it can carry an
 * injection, so the part is not made; any other character (a path, a quote, `%`, `@`) keeps it inspected.
 */
function isPlainOrigin(v: string): boolean {
  if (v === 'null') return true;
  const sep = v.indexOf('://');
  if (sep < 1 || sep > 32 || v.length > 300) return false;
  for (let i = 0; i < v.length; i++) {
    if (i >= sep && i < sep + 3) continue;
    const c = v.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a);
    if (alnum || c === 0x2e || c === 0x2d || (i < sep && c === 0x2b) || (i > sep && (c === 0x3a || c === 0x5b || c === 0x5d))) continue;
    return false;
  }
  return true;
}

/** Headers that some servers and frameworks take as the request URL (path and query). */
const REWRITE_HEADERS: readonly string[] = ['x-original-url', 'x-rewrite-url'];

/**
 * The path (`path`, percent-decoded once), its segments (`path_segment`) and the query names and values of a
 * request-target; past the part bound the whole query once more as one value.
 */
function targetParts(rawPath: string, rawQuery: string, sink: Sink, limits: TargetLimits): void {
  sink.push('path', undefined, percentDecode(rawPath, false));
  // segments: every path has at least one (rules that read segments, not the whole path, must see `/:slug`
  // routes' only segment too)
  let from = rawPath.indexOf('/') === -1 ? rawPath.length + 1 : 0;
  while (from <= rawPath.length) {
    let to = rawPath.indexOf('/', from);
    if (to === -1) to = rawPath.length;
    if (to > from) {
      if (!sink.push('path_segment', undefined, percentDecode(rawPath.slice(from, to), false))) break;
    }
    from = to + 1;
  }
  if (rawQuery.length > 0) {
    parseUrlencoded(rawQuery, 'query_name', 'query', sink, limits.maxNameLength);
    // parameters past the bound (also when path segments filled it first): the whole query string once more,
    // as one value (linear), so none goes unseen
    if (sink.limited) sink.force('query', '*', percentDecode(rawQuery, true));
  }
}

/**
 * HTTP Basic credentials (RFC 7617): the user id and the password from `Authorization: Basic base64(user:pass)`
 * as two `header` parts named `authorization` (evidence masks them), when they decode to text: applications
 * look the user up (and legacy ones compare the password) in SQL or LDAP, exactly like a login form's fields.
 */
function basicCredentials(v: string | undefined, sink: Sink): void {
  if (v === undefined || v.length < 8 || v.length > 4096 || (v.charCodeAt(0) | 0x20) !== 0x62 || v.slice(0, 6).toLowerCase() !== 'basic ') return;
  const text = base64Text(v.slice(6).trim(), 4);
  if (text === undefined) return;
  const colon = text.indexOf(':');
  sink.force('header', 'authorization', colon === -1 ? text : text.slice(0, colon));
  if (colon !== -1 && colon + 1 < text.length) sink.force('header', 'authorization', text.slice(colon + 1));
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

/** Body syntax from the media type (sniffed from the first character when there is none). */
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
  const charset = mediaParam(ctRaw, 'charset');
  const formLike = ct === 'application/x-www-form-urlencoded' || ct.startsWith('multipart/');
  let cs = charset === undefined ? undefined : charsetClass(charset);
  // forms and multipart are split on ASCII bytes by some servers (Tomcat) and on decoded text by others
  // (ASP.NET): in UTF-16/32 they read differently upstream, like EBCDIC, so they are an anomaly too
  if (formLike && cs !== undefined && cs !== 'ascii') cs = 'other';
  // UTF-16/32 JSON, XML or text (declared, or recognised by BOM / the RFC 4627 §3 NUL pattern, as Jackson and
  // XML parsers do) is decoded: such an upstream reads the payload in it
  let unicode: CharsetClass | undefined = cs !== undefined && cs !== 'ascii' && cs !== 'other' ? cs : undefined;
  if (unicode === undefined && cs === undefined && !formLike && bytes && bytes.length >= 2) unicode = sniffUnicode(bytes);
  let text = '';
  if (bytes && bytes.length) {
    text = unicode !== undefined ? decodeUnicode(bytes, unicode) : bytes.toString('utf8');
    // a UTF-8 BOM is skipped by body-parser (iconv-lite), Jackson and .NET: it must not hide the format
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  }
  let kind: BodyInfo['kind'] = text.length ? bodyKind(ct, text) : 'none';
  // a body in an unexpected media type that reads as JSON is inspected as JSON: frameworks that parse
  // regardless of the Content-Type (Flask get_json(force=True), custom middleware) would receive it
  const sniffed = kind === 'binary' && looksLikeJson(text);
  if (sniffed) kind = 'json';
  const info: BodyInfo = { kind, contentType: ct, truncated, limited: false, text };
  if (cs === 'other' && kind !== 'binary') {
    // EBCDIC or UTF-7 text reads as noise here but as a payload to an upstream that honours the charset
    // (IIS/ASP.NET, Java servlets): it cannot be decoded safely, so the charset itself is the anomaly
    info.parseError = `charset ${clipName(charset!.toLowerCase())} is not ASCII-compatible`;
    info.kind = 'text';
  } else if (decodeError !== undefined) {
    info.parseError = decodeError;
  }
  let whole = false; // the whole text is already a `body` part
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
      whole = sink.push('body', undefined, text);
      break;
    default:
      break;
  }
  // JSON sent as text/plain (the CORS "simple request" form), as a form or as XML reaches PHP's
  // json_decode(file_get_contents('php://input')), Go's json.Decoder and other parsers that ignore the
  // Content-Type: its keys and values are inspected too (besides the declared reading; no parse-error finding)
  if (info.parseError === undefined && (kind === 'text' || kind === 'form' || kind === 'xml') && looksLikeJson(text)) {
    scanJson(text, sink, limits, { kind: 'json', contentType: ct, truncated, limited: false, text: '' });
  }
  // likewise XML sent as text/plain (JAX-RS / WCF endpoints that read any body as XML): its text and attributes
  if (info.parseError === undefined && kind === 'text' && looksLikeXml(text)) {
    scanXml(text, sink, limits, { kind: 'xml', contentType: ct, truncated, limited: false, text: '' });
  }
  // sniffed JSON that does not parse was binary after all: no parse-error finding for a declared binary type
  if (sniffed && info.parseError !== undefined) {
    info.parseError = undefined;
    info.kind = 'binary';
  }
  if (info.parseError !== undefined) whole = sink.push('body', undefined, text);
  if (!sink.limited) expandEmbedded(sink, limits, 0);
  info.limited = sink.limited || info.limited;
  // past the part bound the rest would go uninspected: the whole body is inspected once more as one text
  // (linear), so a payload after the 1,000th value is still seen
  if (sink.limited && text.length && !whole) sink.parts.push({ loc: { kind: 'body' }, value: text });
  return { parts: sink.parts, info };
}

/** Name and value kinds of the containers whose values may carry an embedded encoding (see {@link expandEmbedded}). */
const EMBED_KINDS: ReadonlyMap<Location['kind'], readonly [Location['kind'], Location['kind']]> = new Map([
  ['query', ['query_name', 'query']],
  ['form', ['form_name', 'form']],
  ['cookie', ['cookie_name', 'cookie']],
  ['json', ['json_key', 'json']],
  ['multipart', ['multipart_name', 'multipart']],
] as const);

/** Most characters of embedded values decoded per phase (bounds the extra work at a small multiple of the input). */
export const MAX_EMBEDDED_CHARS = 256 * 1024;
/** Embedding levels followed (`base64(JSON with a base64 field)` is two). */
const MAX_EMBED_DEPTH = 2;

/**
 * Values that carry a second encoding which applications decode before use, inspected decoded too: JSON in a
 * string (a query/form/cookie parameter, a JSON field holding JSON, Express's `j:` cookies; its keys and values
 * as parts of the same kinds, named `param.key.path`) and base64 of text (cookies and fields carrying
 * `base64(JSON)`, a parameter `base64(value)`: the decoded text as a part of the same kind and name, and read
 * as JSON if it is). Only values from `from` on; new parts are examined again up to {@link MAX_EMBED_DEPTH}
 * levels. Bounded by {@link MAX_EMBEDDED_CHARS} and the sink's part bound; each decoding is one linear scan.
 */
function expandEmbedded(sink: Sink, limits: TargetLimits, from: number): void {
  const parts = sink.parts;
  let budget = MAX_EMBEDDED_CHARS;
  let depth: number[] | undefined; // embedding level of parts added here (index - base), 0 for the originals
  const base = parts.length;
  for (let i = from; i < parts.length && budget > 0; i++) {
    const p = parts[i]!;
    const v = p.value;
    if (v.length < 8 || v.length > budget) continue;
    const kinds = EMBED_KINDS.get(p.loc.kind);
    if (kinds === undefined || (sink.expanded !== undefined && sink.expanded.includes(p))) continue;
    const level = i < base ? 0 : depth![i - base]!;
    if (level >= MAX_EMBED_DEPTH) continue;
    const before = parts.length;
    const name = p.loc.name ?? '';
    let c = v.charCodeAt(0);
    if (c === 0x6a && v.charCodeAt(1) === 0x3a && p.loc.kind === 'cookie') c = v.charCodeAt(2); // Express `j:{…}` cookie
    if (c === 0x7b || c === 0x5b || c <= 0x20) {
      const json = c === v.charCodeAt(0) ? v : v.slice(2);
      if (!looksLikeJson(json) || !endsLikeJson(json)) continue;
      budget -= json.length;
      embeddedJson(json, name, kinds[0], kinds[1], sink, limits);
    } else {
      const text = base64Text(v, 16);
      if (text === undefined) continue;
      budget -= v.length;
      if (!sink.push(kinds[1], name, text)) return;
    }
    if (parts.length > before) {
      depth ??= [];
      for (let k = before; k < parts.length; k++) depth[k - base] = level + 1;
    }
    if (sink.limited) return;
  }
}

/** True when `s` ends (before trailing whitespace) with `}` or `]`. */
function endsLikeJson(s: string): boolean {
  let i = s.length - 1;
  while (i > 0 && s.charCodeAt(i) <= 0x20) i--;
  const c = s.charCodeAt(i);
  return c === 0x7d || c === 0x5d;
}

/**
 * The keys and string values of a JSON text embedded in a part named `prefix`, as parts of `nameKind` /
 * `valueKind` named by `prefix` plus their key path (`data.user.name`, `data[0]`). Parse errors only stop
 * the scan (the text is a value, not the body).
 */
function embeddedJson(json: string, prefix: string, nameKind: Location['kind'], valueKind: Location['kind'], sink: Sink, limits: TargetLimits): void {
  const sub = new Sink(sink.max - sink.parts.length);
  scanJson(json, sub, limits, { kind: 'json', contentType: '', truncated: false, limited: false, text: '' });
  for (const q of sub.parts) {
    const path = q.loc.name ?? '';
    let name = path === '' ? prefix : prefix === '' ? path : path.charCodeAt(0) === 0x5b ? prefix + path : `${prefix}.${path}`;
    if (name.length > limits.maxNameLength) name = name.slice(0, limits.maxNameLength);
    sink.push(q.loc.kind === 'json_key' ? nameKind : valueKind, name, q.value);
  }
  if (sub.limited) sink.limited = true;
}

/** Per byte: 1 for a character of standard or URL-safe base64 (padding apart). */
const B64 = new Uint8Array(128);
for (const ch of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_') B64[ch.charCodeAt(0)] = 1;

/**
 * The text `s` encodes when it is base64 (standard or URL-safe, padding optional, at least `min` characters)
 * of printable UTF-8 text (no control characters but TAB/CR/LF), else undefined. Random tokens, keys and
 * certificates decode to bytes that are not such text and are rejected at the first bad byte (a random 12-byte
 * string passes with probability ≈ 1e-5). Linear.
 */
export function base64Text(s: string, min: number): string | undefined {
  let n = s.length;
  while (n > 0 && s.charCodeAt(n - 1) === 0x3d) n--;
  if (n < min || s.length - n > 2 || n % 4 === 1) return undefined;
  let std = false;
  let url = false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || B64[c] === 0) return undefined;
    if (c === 0x2b || c === 0x2f) std = true;
    else if (c === 0x2d || c === 0x5f) url = true;
  }
  if (std && url) return undefined;
  // most candidates (ids, words, tokens) fail on their first bytes: check those without allocating
  if (!printablePrefix(s, n)) return undefined;
  const buf = Buffer.from(n === s.length ? s : s.slice(0, n), 'base64');
  return printableUtf8(buf) ? buf.toString('utf8') : undefined;
}

/** Value of a base64 character (standard or URL-safe), -1 otherwise. */
function b64Value(c: number): number {
  return c >= 65 && c <= 90 ? c - 65 : c >= 97 && c <= 122 ? c - 71 : c >= 48 && c <= 57 ? c + 4 : c === 0x2b || c === 0x2d ? 62 : c === 0x2f || c === 0x5f ? 63 : -1;
}

/**
 * True when the bytes of the first (up to) 16 base64 characters of `s[0..n)` can start printable UTF-8 text (see
 * {@link printableUtf8}; a sequence cut at the end of the prefix counts as valid). No allocation.
 */
function printablePrefix(s: string, n: number): boolean {
  const m = Math.min(n, 16) & ~3;
  let need = 0; // continuation bytes still expected
  for (let i = 0; i < m; i += 4) {
    const v = (b64Value(s.charCodeAt(i)) << 18) | (b64Value(s.charCodeAt(i + 1)) << 12) | (b64Value(s.charCodeAt(i + 2)) << 6) | b64Value(s.charCodeAt(i + 3));
    for (let k = 16; k >= 0; k -= 8) {
      const x = (v >> k) & 0xff;
      if (need > 0) {
        if ((x & 0xc0) !== 0x80) return false;
        need--;
      } else if (x < 0x80) {
        if ((x < 0x20 && x !== 0x09 && x !== 0x0a && x !== 0x0d) || x === 0x7f) return false;
      } else if (x >= 0xc2 && x <= 0xdf) need = 1;
      else if (x >= 0xe0 && x <= 0xef) need = 2;
      else if (x >= 0xf0 && x <= 0xf4) need = 3;
      else return false;
    }
  }
  return true;
}

/** True when `b` is valid UTF-8 without control characters other than TAB, LF and CR. Linear. */
function printableUtf8(b: Buffer): boolean {
  const n = b.length;
  if (n === 0) return false;
  for (let i = 0; i < n; ) {
    const x = b[i]!;
    if (x < 0x80) {
      if ((x < 0x20 && x !== 0x09 && x !== 0x0a && x !== 0x0d) || x === 0x7f) return false;
      i++;
      continue;
    }
    const len = x >= 0xc2 && x <= 0xdf ? 2 : x >= 0xe0 && x <= 0xef ? 3 : x >= 0xf0 && x <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > n) return false;
    for (let k = 1; k < len; k++) if ((b[i + k]! & 0xc0) !== 0x80) return false;
    i += len;
  }
  return true;
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

/** True when `text` starts (after whitespace) like an XML element or declaration and ends with `>`. */
function looksLikeXml(text: string): boolean {
  let i = 0;
  while (i < text.length && i < 64 && text.charCodeAt(i) <= 0x20) i++;
  if (text.charCodeAt(i) !== 0x3c) return false;
  const c = text.charCodeAt(i + 1) | 0x20;
  let j = text.length - 1;
  while (j > i && text.charCodeAt(j) <= 0x20) j--;
  return ((c >= 0x61 && c <= 0x7a) || c === 0x3f) && text.charCodeAt(j) === 0x3e;
}

/** How a declared charset's bytes read: ASCII-compatible, a UTF-16/32 form, or `other` (EBCDIC, UTF-7). */
type CharsetClass = 'ascii' | 'utf-16le' | 'utf-16be' | 'utf-16' | 'utf-32le' | 'utf-32be' | 'utf-32' | 'other';

/** EBCDIC code pages by number (IBM/CP/CCSID names: `ibm037`, `cp1047`, `ibm-500`, `csibm037`, `037`). */
const EBCDIC_PAGES: ReadonlySet<string> = new Set([
  '37', '273', '277', '278', '280', '284', '285', '290', '297', '420', '423', '424', '500', '833', '836', '838', '870', '871',
  '875', '880', '905', '918', '924', '930', '933', '935', '937', '939', '1025', '1026', '1047', '1097', '1112', '1122', '1123',
  '1130', '1132', '1137', '1140', '1141', '1142', '1143', '1144', '1145', '1146', '1147', '1148', '1149', '1153', '1154',
  '1155', '1156', '1157', '1158', '1160', '1164', '1364', '1371', '1388', '1390', '1399',
]);

/**
 * Classifies a charset label. The label is lower-cased and stripped of quotes, `-`, `_`, spaces and a `cs`
 * / `x-` prefix (Java, Python and ICU accept `IBM-037`, `ibm_037`, `csIBM037`, `x-UTF-16LE`), so spellings
 * cannot slip an EBCDIC or UTF-7 label past the check. Unknown labels are `ascii` (most are single-byte or
 * ASCII-based multi-byte sets; an upstream that does not know a label rejects the body). Linear, no regex.
 */
export function charsetClass(label: string): CharsetClass {
  let c = '';
  for (let i = 0; i < label.length && i < 64; i++) {
    const x = label.charCodeAt(i);
    if (x === 0x22 || x === 0x27 || x === 0x2d || x === 0x5f || x === 0x20 || x === 0x09) continue;
    c += x >= 0x41 && x <= 0x5a ? String.fromCharCode(x + 32) : label[i];
  }
  if (c.startsWith('x')) c = c.slice(1);
  if (c.startsWith('cs')) c = c.slice(2);
  if (c.includes('ebcdic') || c.includes('utf7') || c.includes('unicode11utf7')) return 'other';
  if (c === 'utf16le' || c === 'unicodelittle' || c === 'ucs2le' || c === 'unicodelittleunmarked') return 'utf-16le';
  if (c === 'utf16be' || c === 'unicodebig' || c === 'ucs2be' || c === 'unicodebigunmarked') return 'utf-16be';
  if (c === 'utf16' || c === 'ucs2' || c === 'unicode' || c === 'iso10646ucs2') return 'utf-16';
  if (c === 'utf32le' || c === 'ucs4le') return 'utf-32le';
  if (c === 'utf32be' || c === 'ucs4be') return 'utf-32be';
  if (c === 'utf32' || c === 'ucs4' || c === 'iso10646ucs4') return 'utf-32';
  // EBCDIC code page numbers behind ibm / cp / ccsid prefixes, or alone (`037`)
  let d = c.startsWith('ibm') ? c.slice(3) : c.startsWith('cp') ? c.slice(2) : c.startsWith('ccsid') ? c.slice(5) : c;
  while (d.length > 1 && d.charCodeAt(0) === 0x30) d = d.slice(1);
  if (EBCDIC_PAGES.has(d)) return 'other';
  return 'ascii';
}

/**
 * UTF-16/32 recognised by a byte-order mark or by the NUL pattern of the first four bytes of an ASCII-started
 * document (RFC 4627 §3: `00 00 00 xx` UTF-32BE, `00 xx 00 xx` UTF-16BE, `xx 00 00 00` UTF-32LE,
 * `xx 00 xx 00` UTF-16LE); undefined for UTF-8 and everything else.
 */
function sniffUnicode(b: Buffer): Exclude<CharsetClass, 'ascii' | 'other'> | undefined {
  const [a, c, d, e] = [b[0]!, b[1]!, b.length > 2 ? b[2]! : -1, b.length > 3 ? b[3]! : -1];
  if (a === 0x00 && c === 0x00 && d === 0xfe && e === 0xff) return 'utf-32be';
  if (a === 0xff && c === 0xfe && d === 0x00 && e === 0x00) return 'utf-32le';
  if (a === 0xfe && c === 0xff) return 'utf-16be';
  if (a === 0xff && c === 0xfe) return 'utf-16le';
  if (e === -1) return undefined;
  if (a === 0 && c === 0 && d === 0 && e !== 0) return 'utf-32be';
  if (a !== 0 && c === 0 && d === 0 && e === 0) return 'utf-32le';
  if (a === 0 && c !== 0 && d === 0 && e !== 0) return 'utf-16be';
  if (a !== 0 && c === 0 && d !== 0 && e === 0) return 'utf-16le';
  return undefined;
}

/**
 * Text of UTF-16/32 bytes (`utf-16`/`utf-32` without an order: the BOM's, else big-endian per RFC 2781, unless
 * the NUL pattern says little-endian). A BOM is kept as U+FEFF (the caller drops it); a trailing odd byte and
 * invalid code points become U+FFFD. Linear.
 */
function decodeUnicode(b: Buffer, cs: CharsetClass): string {
  let kind = cs;
  if (kind === 'utf-16' || kind === 'utf-32') kind = sniffUnicode(b) ?? (kind === 'utf-16' ? 'utf-16be' : 'utf-32be');
  if (kind === 'utf-16le') return b.toString('utf16le', 0, b.length & ~1);
  if (kind === 'utf-16be') {
    const c = Buffer.from(b.subarray(0, b.length & ~1));
    return c.swap16().toString('utf16le');
  }
  const le = kind === 'utf-32le';
  const parts: string[] = [];
  let chunk: number[] = [];
  for (let i = 0; i + 3 < b.length; i += 4) {
    const cp = le ? b.readUInt32LE(i) : b.readUInt32BE(i);
    chunk.push(cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ? 0xfffd : cp);
    if (chunk.length === 4096) {
      parts.push(String.fromCodePoint(...chunk));
      chunk = [];
    }
  }
  parts.push(String.fromCodePoint(...chunk));
  return parts.join('');
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

/**
 * The value of an RFC 5987 extended parameter (`charset'lang'percent-encoded`), percent-decoded as UTF-8 (the
 * only charset RFC 8187 requires; ISO-8859-1 values decode the same for ASCII); undefined when absent.
 */
function extValue(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const a = v.indexOf("'");
  const b = a === -1 ? -1 : v.indexOf("'", a + 1);
  return percentDecode(b === -1 ? v : v.slice(b + 1), false);
}

/** Quoted-printable (RFC 2045 §6.7) decoded to bytes as latin1 chars: `=XX` escapes and `=` soft line breaks. Linear. */
function quotedPrintable(s: string): string {
  let eq = s.indexOf('=');
  if (eq === -1) return s;
  let out = '';
  let from = 0;
  while (eq !== -1) {
    out += s.slice(from, eq);
    const a = s.charCodeAt(eq + 1);
    if (a === 0x0d && s.charCodeAt(eq + 2) === 0x0a) from = eq + 3;
    else if (a === 0x0a) from = eq + 2;
    else {
      const h = hexVal(a);
      const l = hexVal(s.charCodeAt(eq + 2));
      if (h >= 0 && l >= 0) {
        out += String.fromCharCode(h * 16 + l);
        from = eq + 3;
      } else {
        out += '=';
        from = eq + 1;
      }
    }
    eq = s.indexOf('=', from);
  }
  return out + s.slice(from);
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
    let extName: string | undefined;
    let extFilename: string | undefined;
    let partCt = '';
    let partCtRaw = '';
    let cte = '';
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
        // RFC 5987 / RFC 6266 extended values (`filename*=UTF-8''%27…`): busboy, Spring, Django and
        // Werkzeug prefer them over the plain parameter
        extName = extValue(dispositionParam(line, lower, 'name*'));
        extFilename = extValue(dispositionParam(line, lower, 'filename*'));
      } else if (lower.startsWith('content-type:')) {
        partCtRaw = line.slice(13);
        partCt = mediaType(partCtRaw);
      } else if (lower.startsWith('content-transfer-encoding:')) cte = lower.slice(26).trim();
      from = to + 1;
    }
    const partCharset = partCtRaw === '' ? undefined : mediaParam(partCtRaw, 'charset');
    if (partCharset !== undefined && charsetClass(partCharset) !== 'ascii') {
      // a field in EBCDIC / UTF-16 reads as a payload to servers that honour the part's charset (Tomcat, ASP.NET)
      info.parseError = `multipart: part charset ${clipName(partCharset.toLowerCase())} is not ASCII-compatible`;
      return;
    }
    const utf8 = (x: string): string => {
      const b = Buffer.from(x, 'latin1');
      return decodeBytesLenient(b, b.length);
    };
    const field = extName ?? (name === undefined ? undefined : utf8(name));
    const locName = field === undefined ? undefined : field.slice(0, limits.maxNameLength);
    if (name !== undefined && !sink.push('multipart_name', locName, utf8(name))) return;
    if (extName !== undefined && !sink.push('multipart_name', locName, extName)) return;
    if (filename !== undefined && !sink.push('filename', locName, utf8(filename))) return;
    if (extFilename !== undefined && !sink.push('filename', locName, extFilename)) return;
    if ((filename === undefined && extFilename === undefined) || textual(partCt)) {
      const raw = s.slice(bodyStart, contentEnd);
      const content = utf8(raw);
      if (!sink.push('multipart', locName, content)) return;
      const contentPart = sink.parts[sink.parts.length - 1]!;
      // Content-Transfer-Encoding (deprecated by RFC 7578, still decoded by Django and mail-style parsers)
      const decoded = cte === 'quoted-printable' ? utf8(quotedPrintable(raw)) : undefined;
      if (decoded !== undefined && decoded !== content && !sink.push('multipart', locName, decoded)) return;
      // a JSON part (Spring @RequestPart, JAX-RS multipart) reaches the application parsed
      if (partCt.includes('json') && looksLikeJson(content)) {
        embeddedJson(content, locName ?? '', 'json_key', 'json', sink, limits);
        (sink.expanded ??= []).push(contentPart);
        if (sink.limited) return;
      }
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
 * XML scanner (not a validating parser: never expands declared entities): emits text nodes and CDATA (`xml`,
 * named by the element) and attribute values (`xml`, named `element@attribute`), text and attributes with the
 * predefined and character references resolved as every XML parser hands them to the application
 * (`&apos;` is `'`, `&#60;` is `<`), and notices `<!DOCTYPE`, `<!ENTITY`
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
    return sink.push('xml', stack.length ? stack[stack.length - 1] : undefined, xmlUnescape(t));
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
        if (!sink.push('xml', `${name}@${attr}`.slice(0, limits.maxNameLength), xmlUnescape(s.slice(vStart, vEnd)))) return;
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

/**
 * Resolves the five predefined entities and decimal / hex character references (XML 1.0 §4.1, §4.6); other
 * references (declared entities) are kept as written. One pass from `&` to `&`. Linear.
 */
export function xmlUnescape(s: string): string {
  let amp = s.indexOf('&');
  if (amp === -1) return s;
  let out = '';
  let from = 0;
  while (amp !== -1) {
    const semi = s.indexOf(';', amp + 1);
    if (semi === -1 || semi - amp > 12) {
      amp = s.indexOf('&', amp + 1);
      continue;
    }
    const ref = s.slice(amp + 1, semi);
    let ch: string | undefined;
    if (ref === 'lt') ch = '<';
    else if (ref === 'gt') ch = '>';
    else if (ref === 'amp') ch = '&';
    else if (ref === 'quot') ch = '"';
    else if (ref === 'apos') ch = "'";
    else if (ref.charCodeAt(0) === 0x23 && ref.length > 1) {
      const hex = ref.charCodeAt(1) === 0x78 || ref.charCodeAt(1) === 0x58;
      const digits = ref.slice(hex ? 2 : 1);
      let v = digits.length ? 0 : -1;
      for (let k = 0; k < digits.length && v >= 0; k++) {
        const d = digits.charCodeAt(k);
        const x = d >= 48 && d <= 57 ? d - 48 : hex && (d | 0x20) >= 97 && (d | 0x20) <= 102 ? (d | 0x20) - 87 : -1;
        v = x < 0 ? -1 : v * (hex ? 16 : 10) + x;
      }
      if (v >= 0 && v <= 0x10ffff) ch = String.fromCodePoint(v);
    }
    if (ch !== undefined) {
      out += s.slice(from, amp) + ch;
      from = semi + 1;
      amp = s.indexOf('&', from);
    } else amp = s.indexOf('&', amp + 1);
  }
  return out + s.slice(from);
}

function isXmlSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

function isXmlBreak(c: number): boolean {
  return isXmlSpace(c) || c === 0x3e || c === 0x2f;
}
