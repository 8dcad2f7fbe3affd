import { createHash, randomFillSync } from 'node:crypto';
import type { RequestContext } from '../core/context.ts';
import type { Evidence, Signal } from '../core/types.ts';
import type { SecurityEvent } from './types.ts';

/** Maximum length of the request-target kept in an event (chars). */
export const MAX_TARGET = 2048;
/** Maximum length of the User-Agent kept in an event (chars). */
export const MAX_USER_AGENT = 512;
/** Maximum length of other request strings (host, user, fingerprint, route) kept in an event (chars). */
export const MAX_SHORT = 256;
/** Maximum length of evidence values (`value`, `transformed`, `matched`, string details), chars. */
export const MAX_EVIDENCE = 256;

/** Truncates to `max` UTF-16 code units, marking the cut with `…`; never splits a surrogate pair. */
export function truncate(s: string, max: number): string {
  if (s.length <= max) return s;
  let cut = max - 1;
  const c = s.charCodeAt(cut - 1);
  if (c >= 0xd800 && c <= 0xdbff) cut--; // high surrogate without its low half
  return s.slice(0, cut) + '…';
}

/**
 * Masks a secret such as an API key for logs and events: first 4 characters + `…` + the first 8 hex digits
 * of its SHA-256, so the same key is recognizable across events without being recoverable.
 * Keys of 8 characters or fewer show no prefix (the prefix would reveal half the key).
 */
export function maskApiKey(key: string): string {
  const h = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return (key.length > 8 ? key.slice(0, 4) : '') + '…' + h;
}

/** True when `value` already has the {@link maskApiKey} form (`abcd…0123abcd` or `…0123abcd`). */
export function isMaskedApiKey(value: string): boolean {
  const i = value.indexOf('…');
  return i >= 0 && i <= 4 && value.length === i + 9 && /^[0-9a-f]{8}$/.test(value.slice(i + 1));
}

let lastMs = 0;
let seq = 0;

/** Random bytes for event ids: 8 per id, refilled 256 ids at a time (one CSPRNG call instead of one per id). */
const ID_RANDOM = Buffer.allocUnsafe(8 * 256);
let idRandomPos = ID_RANDOM.length;
/** Two lower-case hex digits per byte value. */
const HEX_BYTE: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * A UUID version 7 (RFC 9562 §5.7): 48-bit ms timestamp, then a 12-bit counter (monotonic within one ms)
 * and random bits (from `crypto.randomFillSync`, drawn in blocks), so ids sort by creation time.
 */
export function uuidv7(now = Date.now()): string {
  if (now === lastMs) seq = (seq + 1) & 0xfff;
  else {
    lastMs = now;
    seq = 0;
  }
  if (idRandomPos + 8 > ID_RANDOM.length) {
    randomFillSync(ID_RANDOM);
    idRandomPos = 0;
  }
  const r = ID_RANDOM;
  const o = idRandomPos;
  idRandomPos += 8;
  // the 48-bit timestamp as two 24-bit halves (exact in doubles, no BigInt)
  const hi = Math.floor(now / 0x1000000);
  const lo = now - hi * 0x1000000;
  const H = HEX_BYTE;
  return (
    H[(hi >>> 16) & 255]! + H[(hi >>> 8) & 255]! + H[hi & 255]! + H[(lo >>> 16) & 255]! + '-' +
    H[(lo >>> 8) & 255]! + H[lo & 255]! + '-' +
    H[0x70 | (seq >> 8)]! + H[seq & 255]! + '-' +
    H[(r[o]! & 0x3f) | 0x80]! + H[r[o + 1]!]! + '-' +
    H[r[o + 2]!]! + H[r[o + 3]!]! + H[r[o + 4]!]! + H[r[o + 5]!]! + H[r[o + 6]!]! + H[r[o + 7]!]!
  );
}

/** Name fragments of parameters, fields, headers and cookies whose values are credentials (lower case). */
const SECRET_NAME_PARTS = ['pass', 'pwd', 'secret', 'token', 'apikey', 'api_key', 'api-key', 'authorization', 'credential', 'cvv', 'cvc', 'session'];

/**
 * True when a location name (query/form/JSON key path, header or cookie name) names a credential, e.g.
 * `password`, `user.newPassword`, `x-api-key`, `refresh_token`. Over-matching (`passport`) only redacts more.
 */
export function isSecretName(name: string | undefined): boolean {
  if (name === undefined || name.length === 0) return false;
  const n = name.length > 256 ? name.slice(0, 256).toLowerCase() : name.toLowerCase();
  for (const p of SECRET_NAME_PARTS) if (n.includes(p)) return true;
  return false;
}

function redacted(v: string): string {
  return `[redacted: ${v.length} chars]`;
}

function cleanEvidence(e: Evidence | undefined): Evidence | undefined {
  if (e === undefined) return undefined;
  const out: Evidence = {};
  if (e.location) out.location = e.location.name !== undefined ? { kind: e.location.kind, name: truncate(e.location.name, MAX_SHORT) } : { kind: e.location.kind };
  // Values of credential fields (a password that tripped a rule) never reach the event store in clear.
  const secret = e.location?.kind === 'cookie' || isSecretName(e.location?.name);
  if (e.value !== undefined) out.value = secret ? redacted(e.value) : truncate(e.value, MAX_EVIDENCE);
  if (e.transformed !== undefined) out.transformed = secret ? redacted(e.transformed) : truncate(e.transformed, MAX_EVIDENCE);
  if (e.matched !== undefined) out.matched = secret ? redacted(e.matched) : truncate(e.matched, MAX_EVIDENCE);
  if (e.detail) {
    const d: Record<string, string | number | boolean> = {};
    for (const k of Object.keys(e.detail)) {
      const v = e.detail[k]!;
      d[k] = typeof v === 'string' ? truncate(v, MAX_EVIDENCE) : v;
    }
    out.detail = d;
  }
  return out;
}

function cleanSignal(s: Signal): Signal {
  const out: Signal = { ...s };
  // An API-key ban names the key it bans: keep it recognisable, never in clear.
  if (s.ban?.scope === 'api_key' && s.ban.value !== undefined && !isMaskedApiKey(s.ban.value)) out.ban = { ...s.ban, value: maskApiKey(s.ban.value) };
  const ev = cleanEvidence(s.evidence);
  if (ev) out.evidence = ev;
  if (s.message !== undefined) out.message = truncate(s.message, MAX_EVIDENCE * 2);
  return out;
}

/**
 * Builds the security event for a request once its verdict is known.
 * Request strings are truncated (target 2,048 chars, User-Agent 512, others 256), evidence values to 256,
 * the API key is masked ({@link maskApiKey}); `category` is the category of the first signal that decided
 * the action (a verdict reason), else of the first signal, else `decision` when an active decision matched.
 * @param status - status sent to the client (0 when it went away first).
 * @param latencyMs - upstream latency, or time to decide when the gateway answered.
 */
export function toSecurityEvent(ctx: RequestContext, status: number, latencyMs: number): SecurityEvent {
  const v = ctx.verdict;
  const signals = ctx.signals.map(cleanSignal);
  const reasons = v?.reasons ?? [];
  let category: string | undefined;
  for (const s of ctx.signals) {
    if (reasons.includes(s.ruleId)) {
      category = s.category;
      break;
    }
  }
  if (category === undefined && ctx.matchedDecision && !ctx.allowListed) category = 'decision';
  if (category === undefined && ctx.signals.length > 0) category = ctx.signals[0]!.category;
  const ua = ctx.header('user-agent');
  const host = ctx.header('host');
  const decisionId = v?.decision?.id ?? ctx.matchedDecision?.id;
  const ev: SecurityEvent = {
    id: uuidv7(ctx.startedAt),
    time: ctx.startedAt,
    requestId: truncate(ctx.id, MAX_SHORT),
    clientIp: ctx.clientIp,
    clientKey: ctx.clientKey,
    method: truncate(ctx.method, 32),
    target: truncate(ctx.target, MAX_TARGET),
    status,
    action: v?.action ?? 'allow',
    wouldBe: v?.wouldBe ?? v?.action ?? 'allow',
    monitor: v?.monitor ?? false,
    anomalyScore: v?.anomalyScore ?? 0,
    risk: v?.risk ?? 0,
    level: v?.level ?? 'LOW',
    signals,
    reasons: [...reasons],
    latencyMs: Math.round(latencyMs * 1000) / 1000,
  };
  if (ctx.geo?.country) ev.country = ctx.geo.country;
  if (ctx.geo?.asn !== undefined) ev.asn = ctx.geo.asn;
  if (ctx.route !== undefined) ev.route = truncate(ctx.route, MAX_SHORT);
  if (host) ev.host = truncate(host, MAX_SHORT);
  if (ua) ev.userAgent = truncate(ua, MAX_USER_AGENT);
  if (ctx.apiKey !== undefined) ev.apiKey = maskApiKey(ctx.apiKey);
  if (ctx.user !== undefined) ev.user = truncate(ctx.user, MAX_SHORT);
  if (ctx.fingerprint !== undefined) ev.fingerprint = truncate(ctx.fingerprint, MAX_SHORT);
  if (decisionId !== undefined) ev.decisionId = decisionId;
  if (category !== undefined) ev.category = category;
  return ev;
}
