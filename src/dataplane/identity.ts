import type { RequestContext } from '../core/context.ts';
import type { Policy } from '../config/schema.ts';

/** Longest API key / user id kept (longer values are truncated: they are grouping keys, not credentials). */
const MAX_ID_LENGTH = 256;
/** Largest JWT payload segment decoded (base64url chars): real `sub`-bearing payloads are far smaller. */
const MAX_JWT_PAYLOAD = 8192;

/**
 * The `sub` claim of a Bearer JWT (RFC 7519 §4.1.2), decoding only the base64url payload. The signature is
 * NOT verified: the value groups requests for limits and bans, it never grants anything.
 * @param authorization - the Authorization header value.
 * @returns the subject (≤ 256 chars), or undefined for anything else. Never throws.
 */
export function jwtSubject(authorization: string): string | undefined {
  if (authorization.length < 8 || authorization.length > MAX_JWT_PAYLOAD * 2) return undefined;
  // "Bearer " (case-insensitive scheme, RFC 6750 §2.1)
  if (authorization.slice(0, 7).toLowerCase() !== 'bearer ') return undefined;
  const token = authorization.slice(7).trim();
  const dot1 = token.indexOf('.');
  if (dot1 <= 0) return undefined;
  const dot2 = token.indexOf('.', dot1 + 1);
  if (dot2 === -1) return undefined;
  const payload = token.slice(dot1 + 1, dot2);
  if (payload.length === 0 || payload.length > MAX_JWT_PAYLOAD) return undefined;
  try {
    const json: unknown = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof json !== 'object' || json === null) return undefined;
    const sub = (json as { sub?: unknown }).sub;
    if (typeof sub === 'string' && sub.length > 0) return sub.slice(0, MAX_ID_LENGTH);
    if (typeof sub === 'number' && Number.isFinite(sub)) return String(sub);
    return undefined;
  } catch {
    return undefined;
  }
}

/**
 * 53-bit string hash (cyrb53, public domain) as 14 hex chars: cheap, well mixed, not cryptographic — the
 * fingerprint only groups clients, it authenticates nothing.
 */
export function hash53(s: string, seed = 0): string {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const n = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return n.toString(16).padStart(14, '0');
}

/** Bound on the header-name list fed into the fingerprint (chars). */
const MAX_FP_INPUT = 4096;

/**
 * Client fingerprint: {@link hash53} of the User-Agent, the header names in wire order (lower-cased) and
 * the Accept, Accept-Language and Accept-Encoding values — the passive HTTP fingerprint used by bot
 * management products (header order and Accept values differ between browsers, libraries and tools).
 * Input is capped at 4 KiB so a huge header block costs bounded time.
 */
export function fingerprintOf(ctx: RequestContext): string {
  let s = ctx.header('user-agent');
  if (s.length > 512) s = s.slice(0, 512);
  s += '\n';
  const raw = ctx.rawHeaders;
  for (let i = 0; i < raw.length && s.length < MAX_FP_INPUT; i += 2) {
    s += raw[i]!.toLowerCase();
    s += ',';
  }
  s += '\n';
  s += ctx.header('accept').slice(0, 256);
  s += '\n';
  s += ctx.header('accept-language').slice(0, 128);
  s += '\n';
  s += ctx.header('accept-encoding').slice(0, 128);
  return hash53(s);
}

/**
 * Fills `ctx.apiKey`, `ctx.user` and `ctx.fingerprint` from the configured extractors (policy `identity`):
 * the first present header of `apiKeyHeaders`; the user from `userHeader`, else (when `jwtSubject`) the `sub`
 * of a Bearer JWT. Never throws; values are truncated to 256 chars.
 */
export function extractIdentity(ctx: RequestContext, identity: Policy['identity']): void {
  const keys = identity.apiKeyHeaders;
  for (let i = 0; i < keys.length; i++) {
    const v = ctx.header(keys[i]!);
    if (v.length > 0) {
      ctx.apiKey = v.length > MAX_ID_LENGTH ? v.slice(0, MAX_ID_LENGTH) : v;
      break;
    }
  }
  if (identity.userHeader !== undefined) {
    const u = ctx.header(identity.userHeader);
    if (u.length > 0) ctx.user = u.slice(0, MAX_ID_LENGTH);
  }
  if (ctx.user === undefined && identity.jwtSubject) {
    const auth = ctx.header('authorization');
    if (auth.length > 0) ctx.user = jwtSubject(auth);
  }
  ctx.fingerprint = fingerprintOf(ctx);
}
