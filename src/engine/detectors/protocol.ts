import type { Location } from '../../core/types.ts';
import type { InspectionScope, PartRule, RequestRule } from '../types.ts';
import { detectionSchema } from '../schema.ts';
import { clip, isAlpha, isDigit, isSpace } from './lib/text.ts';

/**
 * Protocol anomalies (RFC 9110 HTTP semantics, RFC 9112 HTTP/1.1 message syntax; OWASP CRS
 * REQUEST-920-PROTOCOL-ENFORCEMENT and REQUEST-921-PROTOCOL-ATTACK). Request rules look at the whole
 * request (`scope.ctx`: method, raw request-target, raw header list in wire order, body facts); one part
 * rule finds CRLF injection in parameters.
 *
 * Note: Node's HTTP parser (llhttp, strict mode) answers some malformed requests itself with 400 before any
 * pipeline runs (see the report of issue 3 / `docs`): these rules still matter behind other front ends
 * (middleware, log ingest, `insecureHTTPParser`) and for anomalies llhttp accepts.
 *
 * Rule ids:
 * - `920100` control characters (CR, LF, NUL, other C0, DEL) in the raw request-target, PL1, critical.
 * - `920101` characters RFC 3986 does not allow in a request-target (space, `"<>\^\`{|}`, non-ASCII) or a
 *   fragment `#`, PL2, notice.
 * - `920110` HTTP version other than 1.0, 1.1, 2, 3, PL1, error.
 * - `920120` control characters (other than HTAB) in a header value, or a header name with characters
 *   outside the RFC 9110 token set, PL1, critical.
 * - `920130` body does not parse as its declared content type (`BodyInfo.parseError`), PL1, critical (a
 *   parser differential is how WAF bypasses start; CRS 200002 "failed to parse request body").
 * - `920140` HTTP/1.1 request without Host (RFC 9112 §3.2), PL1, warning; `920141` more than one Host
 *   (RFC 9112 §3.2: respond 400; cache-poisoning and routing confusion), PL1, critical.
 * - `920150` Content-Length not a non-negative decimal, or repeated with different values (RFC 9112 §6.3),
 *   PL1, critical.
 * - `920160` Content-Length together with Transfer-Encoding (request smuggling, RFC 9112 §6.1), PL1, critical.
 * - `920161` obfuscated or unknown Transfer-Encoding (`chunked ` padding, `xchunked`, quoted, repeated
 *   header, chunked not last, in HTTP/1.0), PL1, critical.
 * - `920170` GET/HEAD/DELETE/OPTIONS/TRACE with a body, PL1, warning.
 * - `920300` too many headers, `920310` header value too long, `920320` request-target too long,
 *   `920330`/`920331` too many query/form arguments, `920340`/`920341` argument name too long,
 *   `920350`/`920351` argument value too long — limits from `detection.protocol` (0 disables), PL1, error.
 * - `921100` method override to TRACE/TRACK/CONNECT/DEBUG or an unknown method (`X-HTTP-Method-Override`,
 *   `X-HTTP-Method`, `X-Method-Override`, `_method`), PL1, critical; a safe method (GET/HEAD) overridden to
 *   DELETE/PUT/PATCH/POST, PL1, critical (turns a link into a state change); any other override, PL2, notice.
 * - `921110` request smuggling / response splitting via CRLF in a parameter followed by a header name
 *   (`%0d%0aSet-Cookie:`), PL1, critical; in body text only known HTTP header names count.
 */

const TAGS = ['OWASP_CRS/PROTOCOL-ENFORCEMENT', 'CWE-20'] as const;
const ATTACK_TAGS = ['OWASP_CRS/ATTACK-PROTOCOL', 'CWE-113', 'attack-protocol'] as const;
const SMUGGLING_TAGS = ['OWASP_CRS/ATTACK-PROTOCOL', 'CWE-444', 'attack-request-smuggling'] as const;

/** Default protocol limits (the schema defaults). */
const DEFAULT_LIMITS = detectionSchema.parse({}).protocol;

/** The limits in force for a scope. */
function limits(scope: InspectionScope): typeof DEFAULT_LIMITS {
  return scope.detection?.protocol ?? DEFAULT_LIMITS;
}

type Finding = { hit: string; loc?: Location; value?: string };


/** True for RFC 9110 §5.6.2 `tchar`. */
function isTchar(c: number): boolean {
  return isAlpha(c) || isDigit(c) || (c !== 0x22 && c !== 0x28 && c !== 0x29 && c !== 0x2c && c !== 0x2f && c !== 0x3a && c !== 0x3b && c !== 0x3c &&
    c !== 0x3d && c !== 0x3e && c !== 0x3f && c !== 0x40 && c !== 0x5b && c !== 0x5c && c !== 0x5d && c !== 0x7b && c !== 0x7d && c > 0x20 && c < 0x7f);
}

/** C0 controls and DEL; the same without HTAB (single character classes: linear, native scan). */
const CONTROL = /[\u0000-\u001f\u007f]/;
const CONTROL_NO_TAB = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Index of the first control character (C0 except HTAB when `allowTab`, or DEL) in `s`, or -1. */
function controlIndex(s: string, allowTab: boolean): number {
  return s.search(allowTab ? CONTROL_NO_TAB : CONTROL);
}

/** Printable name of a control character. */
function ctlName(c: number): string {
  return c === 0x0d ? 'CR' : c === 0x0a ? 'LF' : c === 0 ? 'NUL' : c === 0x7f ? 'DEL' : `0x${c.toString(16).padStart(2, '0')}`;
}

function requestRule(id: string, name: string, severity: RequestRule['severity'], paranoia: RequestRule['paranoia'], tags: readonly string[], check: (scope: InspectionScope) => readonly Finding[], phase: 'request' | 'body' = 'request'): RequestRule {
  return { kind: 'request', id, name, category: 'protocol', severity, paranoia, tags, check, phase };
}

const targetControls = requestRule('920100', 'protocol-control-char-in-request-target', 'critical', 1, TAGS, (scope) => {
  const t = scope.ctx.target;
  const i = controlIndex(t, false);
  return i === -1 ? [] : [{ hit: `${ctlName(t.charCodeAt(i))} in request-target`, loc: { kind: 'request_line' }, value: clip(t, 256) }];
});

const targetChars = requestRule('920101', 'protocol-invalid-request-target-char', 'notice', 2, TAGS, (scope) => {
  const t = scope.ctx.target;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (c === 0x20 || c === 0x22 || c === 0x3c || c === 0x3e || c === 0x5c || c === 0x5e || c === 0x60 || c === 0x7b || c === 0x7c || c === 0x7d || c === 0x23 || c > 0x7e) {
      return [{ hit: `character ${JSON.stringify(t[i])} not allowed in a request-target (RFC 3986)`, loc: { kind: 'request_line' }, value: clip(t, 256) }];
    }
  }
  return [];
});

const httpVersion = requestRule('920110', 'protocol-http-version', 'error', 1, TAGS, (scope) => {
  const v = scope.ctx.httpVersion;
  return v === '1.1' || v === '1.0' || v === '2.0' || v === '2' || v === '3' || v === '3.0' ? [] : [{ hit: `HTTP version ${clip(v, 16)}`, loc: { kind: 'request_line' } }];
});

const headerChars = requestRule('920120', 'protocol-invalid-header-chars', 'critical', 1, TAGS, (scope) => {
  const out: Finding[] = [];
  const raw = scope.ctx.rawHeaders;
  for (let h = 0; h + 1 < raw.length; h += 2) {
    const name = raw[h]!;
    for (let i = 0; i < name.length; i++) {
      if (!isTchar(name.charCodeAt(i))) {
        out.push({ hit: `invalid character in header name ${clip(JSON.stringify(name), 40)}`, loc: { kind: 'header_name', name: clip(name.toLowerCase(), 64) } });
        break;
      }
    }
    const value = raw[h + 1]!;
    const i = controlIndex(value, true);
    if (i !== -1) out.push({ hit: `${ctlName(value.charCodeAt(i))} in header value`, loc: { kind: 'header', name: clip(name.toLowerCase(), 64) } });
    if (out.length >= 4) break;
  }
  return out;
});

const bodyParse = requestRule('920130', 'protocol-body-parse-error', 'critical', 1, TAGS, (scope) => {
  const b = scope.body;
  if (b === undefined || b.parseError === undefined || b.truncated) return [];
  return [{ hit: `body does not parse as ${b.contentType || b.kind}: ${clip(b.parseError, 80)}`, loc: { kind: 'body' } }];
}, 'body');

const host = requestRule('920140', 'protocol-missing-host', 'warning', 1, TAGS, (scope) => {
  let hosts = 0;
  const raw = scope.ctx.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') hosts++;
  if (hosts === 0 && scope.ctx.httpVersion === '1.1' && raw.length > 0) return [{ hit: 'HTTP/1.1 request without Host (RFC 9112 §3.2)' }];
  return [];
});

const duplicateHost = requestRule('920141', 'protocol-duplicate-host', 'critical', 1, SMUGGLING_TAGS, (scope) => {
  let hosts = 0;
  const raw = scope.ctx.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.length === 4 && raw[i]!.toLowerCase() === 'host') hosts++;
  return hosts > 1 ? [{ hit: `${hosts} Host headers (RFC 9112 §3.2)`, loc: { kind: 'header', name: 'host' } }] : [];
});

/** True when `v` is 1*DIGIT. */
function isDecimal(v: string): boolean {
  if (v.length === 0 || v.length > 18) return false;
  for (let i = 0; i < v.length; i++) if (!isDigit(v.charCodeAt(i))) return false;
  return true;
}

const contentLength = requestRule('920150', 'protocol-invalid-content-length', 'critical', 1, SMUGGLING_TAGS, (scope) => {
  if (scope.ctx.headers['content-length'] === undefined) return [];
  const values: string[] = [];
  const raw = scope.ctx.rawHeaders;
  // names are compared by length first: no lower-cased copy of every header name per request
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.length === 14 && raw[i]!.toLowerCase() === 'content-length') values.push(...raw[i + 1]!.split(','));
  }
  if (values.length === 0) return [];
  const trimmed = values.map((v) => v.trim());
  for (const v of trimmed) if (!isDecimal(v)) return [{ hit: `Content-Length ${clip(JSON.stringify(v), 32)} is not a decimal`, loc: { kind: 'header', name: 'content-length' } }];
  for (const v of trimmed) if (v !== trimmed[0]) return [{ hit: `conflicting Content-Length values ${clip(trimmed.join(','), 48)}`, loc: { kind: 'header', name: 'content-length' } }];
  if (trimmed.length > 1) return [{ hit: `Content-Length repeated ${trimmed.length} times`, loc: { kind: 'header', name: 'content-length' } }];
  return [];
});

const clAndTe = requestRule('920160', 'protocol-content-length-with-transfer-encoding', 'critical', 1, SMUGGLING_TAGS, (scope) => {
  const cl = scope.ctx.headers['content-length'] !== undefined;
  const te = scope.ctx.headers['transfer-encoding'] !== undefined;
  return cl && te ? [{ hit: 'Content-Length and Transfer-Encoding together (RFC 9112 §6.1)', loc: { kind: 'header', name: 'transfer-encoding' } }] : [];
});

/** Transfer codings registered with IANA (RFC 9112 §7). */
const CODINGS: ReadonlySet<string> = new Set(['chunked', 'gzip', 'x-gzip', 'deflate', 'compress', 'x-compress', 'identity', 'br', 'zstd']);

const teObfuscated = requestRule('920161', 'protocol-obfuscated-transfer-encoding', 'critical', 1, SMUGGLING_TAGS, (scope) => {
  if (scope.ctx.headers['transfer-encoding'] === undefined) return [];
  const tes: string[] = [];
  const rawHeaders = scope.ctx.rawHeaders;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.length === 17 && rawHeaders[i]!.toLowerCase() === 'transfer-encoding') tes.push(rawHeaders[i + 1]!);
  }
  if (tes.length === 0) return [];
  const loc: Location = { kind: 'header', name: 'transfer-encoding' };
  if (tes.length > 1) return [{ hit: `Transfer-Encoding repeated ${tes.length} times`, loc }];
  if (scope.ctx.httpVersion === '1.0') return [{ hit: 'Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)', loc }];
  const raw = tes[0]!;
  const codings = raw.split(',');
  for (let k = 0; k < codings.length; k++) {
    const c = codings[k]!;
    const t = c.trim();
    // padding other than single spaces around list commas, or characters outside token
    for (let i = 0; i < c.length; i++) {
      const ch = c.charCodeAt(i);
      if (isSpace(ch) && ch !== 0x20) return [{ hit: `whitespace ${ctlName(ch)} in Transfer-Encoding`, loc, value: clip(raw, 64) }];
    }
    if (!CODINGS.has(t.toLowerCase())) return [{ hit: `unknown transfer coding ${clip(JSON.stringify(t), 32)}`, loc, value: clip(raw, 64) }];
    if (t.toLowerCase() === 'chunked' && k !== codings.length - 1) return [{ hit: 'chunked is not the final transfer coding (RFC 9112 §6.1)', loc, value: clip(raw, 64) }];
  }
  if (raw !== raw.trim()) return [{ hit: 'padded Transfer-Encoding value', loc, value: clip(raw, 64) }];
  return [];
});

const bodyOnSafe = requestRule('920170', 'protocol-body-on-get-head', 'warning', 1, TAGS, (scope) => {
  const m = scope.ctx.method;
  if (m !== 'GET' && m !== 'HEAD' && m !== 'DELETE' && m !== 'OPTIONS' && m !== 'TRACE') return [];
  const cl = scope.ctx.header('content-length');
  const te = scope.ctx.header('transfer-encoding');
  if ((cl !== '' && cl.trim() !== '0') || te !== '') return [{ hit: `${m} request with a body`, loc: { kind: 'method' } }];
  return [];
});

const tooManyHeaders = requestRule('920300', 'protocol-too-many-headers', 'error', 1, TAGS, (scope) => {
  const max = limits(scope).maxHeaders;
  const n = scope.ctx.rawHeaders.length / 2;
  return max > 0 && n > max ? [{ hit: `${n} headers > limit ${max}` }] : [];
});

const headerTooLong = requestRule('920310', 'protocol-header-value-too-long', 'error', 1, TAGS, (scope) => {
  const max = limits(scope).maxHeaderValueLength;
  if (max <= 0) return [];
  const raw = scope.ctx.rawHeaders;
  for (let i = 1; i < raw.length; i += 2) {
    const n = raw[i]!.length;
    if (n > max) {
      const name = raw[i - 1]!.toLowerCase();
      return [{ hit: `header ${clip(name, 40)} is ${n} bytes > limit ${max}`, loc: { kind: 'header', name: clip(name, 64) } }];
    }
  }
  return [];
});

const targetTooLong = requestRule('920320', 'protocol-request-target-too-long', 'error', 1, TAGS, (scope) => {
  const max = limits(scope).maxTargetLength;
  const n = scope.ctx.target.length;
  return max > 0 && n > max ? [{ hit: `request-target is ${n} bytes > limit ${max}`, loc: { kind: 'request_line' } }] : [];
});

/**
 * Argument statistics of the last scope seen, computed once for the three argument rules (they run one after
 * the other on the same scope; a scope's parts never change). A last-value cache instead of a WeakMap keyed by
 * scope: no ephemeron-table entry per request.
 */
let argScope: InspectionScope | undefined;
let argStats: { names: number; longName?: string; longValue?: [string, number] } = { names: 0 };

/** Query and form argument parts of a scope: count, first over-long name, first over-long value. */
function argParts(scope: InspectionScope): { names: number; longName?: string; longValue?: [string, number] } {
  if (scope === argScope) return argStats;
  argStats = computeArgParts(scope);
  argScope = scope;
  return argStats;
}

function computeArgParts(scope: InspectionScope): { names: number; longName?: string; longValue?: [string, number] } {
  const l = limits(scope);
  let names = 0;
  let longName: string | undefined;
  let longValue: [string, number] | undefined;
  for (const p of scope.parts) {
    const k = p.loc.kind;
    if (k === 'query_name' || k === 'form_name') {
      names++;
      if (l.maxArgNameLength > 0 && p.value.length > l.maxArgNameLength && longName === undefined) longName = p.value;
    } else if ((k === 'query' || k === 'form') && l.maxArgValueLength > 0 && p.value.length > l.maxArgValueLength && longValue === undefined) {
      longValue = [p.loc.name ?? '', p.value.length];
    }
  }
  return { names, longName, longValue };
}

/** Builds the three argument-limit rules for one phase (query arguments: request phase; form: body phase). */
function argRules(phase: 'request' | 'body', idOffset: number): RequestRule[] {
  const where = phase === 'request' ? 'query' : 'form';
  return [
    requestRule(String(920330 + idOffset), `protocol-too-many-${where}-arguments`, 'error', 1, TAGS, (scope) => {
      const max = limits(scope).maxArgs;
      if (max <= 0) return [];
      const { names } = argParts(scope);
      return names > max ? [{ hit: `${names} ${where} arguments > limit ${max}` }] : [];
    }, phase),
    requestRule(String(920340 + idOffset), `protocol-${where}-argument-name-too-long`, 'error', 1, TAGS, (scope) => {
      const { longName } = argParts(scope);
      return longName === undefined ? [] : [{ hit: `${where} argument name of ${longName.length} chars > limit ${limits(scope).maxArgNameLength}`, value: clip(longName, 64) }];
    }, phase),
    requestRule(String(920350 + idOffset), `protocol-${where}-argument-value-too-long`, 'error', 1, TAGS, (scope) => {
      const { longValue } = argParts(scope);
      return longValue === undefined ? [] : [{ hit: `${where} argument ${clip(longValue[0], 40)} is ${longValue[1]} chars > limit ${limits(scope).maxArgValueLength}` }];
    }, phase),
  ];
}

/** Methods a client may legitimately tunnel through an override header. */
const OVERRIDABLE: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const OVERRIDE_HEADERS: ReadonlySet<string> = new Set(['x-http-method-override', 'x-http-method', 'x-method-override']);

/** The override target of a request: from an override header or a `_method` argument; null when none. */
function overrideOf(scope: InspectionScope): { method: string; loc: Location } | null {
  const h = scope.ctx.headers;
  for (const name of OVERRIDE_HEADERS) {
    const v = h[name];
    if (v !== undefined) return { method: (Array.isArray(v) ? (v[0] ?? '') : v).trim().toUpperCase(), loc: { kind: 'header', name } };
  }
  for (const p of scope.parts) {
    if ((p.loc.kind === 'query' || p.loc.kind === 'form' || p.loc.kind === 'json') && p.loc.name === '_method') {
      return { method: p.value.trim().toUpperCase(), loc: p.loc };
    }
  }
  return null;
}

const methodOverride = requestRule('921100', 'protocol-method-override-abuse', 'critical', 1, ATTACK_TAGS, (scope) => {
  const o = overrideOf(scope);
  if (o === null || o.method === scope.ctx.method) return [];
  if (!OVERRIDABLE.has(o.method)) return [{ hit: `method override to ${clip(o.method, 24)}`, loc: o.loc }];
  const m = scope.ctx.method;
  if ((m === 'GET' || m === 'HEAD') && (o.method === 'DELETE' || o.method === 'PUT' || o.method === 'PATCH' || o.method === 'POST')) {
    return [{ hit: `safe method ${m} overridden to ${o.method}`, loc: o.loc }];
  }
  return [];
});

const methodOverrideAny = requestRule('921101', 'protocol-method-override', 'notice', 2, ATTACK_TAGS, (scope) => {
  const o = overrideOf(scope);
  return o === null || o.method === scope.ctx.method ? [] : [{ hit: `method override ${scope.ctx.method} → ${clip(o.method, 24)}`, loc: o.loc }];
});

/**
 * HTTP header names whose injection after a line break splits a response or smuggles a request, and that do not
 * double as ordinary words at the start of a line of text (`Location:`, `Host:`, `Link:` do, so they count only
 * in URL contexts, where any header-like line does).
 */
const HEADER_NAMES: readonly string[] = [
  'set-cookie', 'content-length', 'transfer-encoding', 'content-type', 'content-security-policy',
  'access-control-allow-origin', 'access-control-allow-credentials', 'x-xss-protection', 'x-forwarded-for',
  'x-forwarded-host', 'strict-transport-security', 'proxy-authorization', 'content-disposition', 'content-encoding',
  'x-frame-options', 'http/1.', 'get /', 'post /',
];

/**
 * Finds CR or LF followed (after optional spaces) by an RFC 9110 token and `:` — an injected header line.
 * With `knownOnly`, the token must be a known header name. Linear: each line break is examined once with a
 * bounded look-ahead.
 */
export function findCrlfHeader(s: string, knownOnly: boolean): string | null {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x0a && c !== 0x0d) continue;
    let k = i + 1;
    while (k < n && (s.charCodeAt(k) === 0x0a || s.charCodeAt(k) === 0x0d || s.charCodeAt(k) === 0x20 || s.charCodeAt(k) === 0x09)) k++;
    const start = k;
    if (knownOnly) {
      const low = s.slice(start, start + 40).toLowerCase();
      for (const h of HEADER_NAMES) {
        if (low.startsWith(h) && (h.endsWith('/') || h.endsWith('.') || low.charCodeAt(h.length) === 0x3a || (low.charCodeAt(h.length) === 0x20 && low.charCodeAt(h.length + 1) === 0x3a))) {
          return clip(ctlName(c) + ' ' + s.slice(start, start + 48));
        }
      }
      i = k - 1;
      continue;
    }
    while (k < n && k - start < 64 && isTchar(s.charCodeAt(k))) k++;
    if (k > start && s.charCodeAt(k) === 0x3a) return clip(ctlName(c) + ' ' + s.slice(start, k + 24));
    const low = s.slice(start, start + 8).toLowerCase();
    if (low.startsWith('http/1.') || low.startsWith('get /') || low.startsWith('post /')) return clip(ctlName(c) + ' ' + s.slice(start, start + 24));
    i = Math.max(i, start - 1);
  }
  return null;
}

/** URL-like locations: a line break here never comes from a text area. */
const URL_KINDS: ReadonlySet<Location['kind']> = new Set(['path', 'path_segment', 'query', 'query_name', 'cookie', 'cookie_name', 'header']);

const crlf: PartRule = {
  kind: 'part',
  id: '921110',
  name: 'protocol-crlf-header-injection',
  category: 'protocol',
  severity: 'critical',
  paranoia: 1,
  tags: ATTACK_TAGS,
  targets: ['path', 'query', 'query_name', 'cookie', 'header', 'form', 'form_name', 'json', 'multipart', 'filename'],
  transforms: [['urlDecodeRepeat']],
  decodedOnly: true, // CR and LF are control characters: never in an inert value
  match(input, part) {
    if (input.indexOf('\n') === -1 && input.indexOf('\r') === -1) return null;
    return findCrlfHeader(input, !URL_KINDS.has(part.loc.kind));
  },
};

/** The protocol rules (ids and levels in the module comment). */
export const rules: readonly (PartRule | RequestRule)[] = [
  targetControls, targetChars, httpVersion, headerChars, bodyParse, host, duplicateHost, contentLength, clAndTe, teObfuscated,
  bodyOnSafe, tooManyHeaders, headerTooLong, targetTooLong, ...argRules('request', 0), ...argRules('body', 1), methodOverride,
  methodOverrideAny, crlf,
];
