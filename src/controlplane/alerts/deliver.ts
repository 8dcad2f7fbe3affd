import { createHmac, timingSafeEqual } from 'node:crypto';
import nodemailer from 'nodemailer';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, request } from 'undici';

/**
 * Non-public destinations (RFC 6890 special-purpose registries: loopback, RFC 1918 private, link-local, CGNAT,
 * benchmarking, multicast, reserved; IPv6 unspecified, loopback, ULA, link-local, multicast) that webhooks do
 * not reach unless `controlPlane.alerts.allowPrivateWebhooks`.
 */
const NON_PUBLIC = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) NON_PUBLIC.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) NON_PUBLIC.addSubnet(net, bits, 'ipv6');

/**
 * True when `address` (an IP literal) is non-public (see {@link NON_PUBLIC}). `BlockList` checks IPv4-mapped IPv6
 * (`::ffff:127.0.0.1`, `::ffff:7f00:1`) against the IPv4 subnets itself.
 */
export function isNonPublicAddress(address: string): boolean {
  const a = address.startsWith('[') ? address.slice(1, -1) : address;
  const v = isIP(a);
  return v === 0 ? false : NON_PUBLIC.check(a, v === 4 ? 'ipv4' : 'ipv6');
}

/** `dns.lookup` that fails with `EBLOCKEDADDRESS` when the host resolves to a non-public address. */
function publicOnlyLookup(hostname: string, options: LookupOptions, cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return cb(err, '');
    const bad = addresses.find((a) => isNonPublicAddress(a.address));
    if (bad) return cb(Object.assign(new Error(`${hostname} resolves to non-public address ${bad.address} (controlPlane.alerts.allowPrivateWebhooks)`), { code: 'EBLOCKEDADDRESS' }), '');
    if (options.all) cb(null, addresses);
    else cb(null, addresses[0]!.address, addresses[0]!.family);
  });
}

let publicOnlyAgent: Agent | undefined;

/** Header carrying the HMAC signature: `sha256=<hex>`. */
export const SIGNATURE_HEADER = 'x-bulwark-signature';
/** Header carrying the signing time, Unix seconds. */
export const TIMESTAMP_HEADER = 'x-bulwark-timestamp';
/** Default tolerance of {@link verifyWebhookSignature} for the timestamp, seconds (5 min, as Stripe and Slack use). */
export const DEFAULT_TOLERANCE_S = 300;
/** Response bytes read (and discarded) from a webhook receiver before the connection is released. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * Signs a webhook body: `sha256=` + hex HMAC-SHA256 (RFC 2104) of `<timestamp>.<body>` under the channel's signing
 * key. Binding the timestamp lets receivers reject replays older than a tolerance (the scheme Stripe and Slack use).
 * @param timestampS - Unix time in seconds, sent as `X-Bulwark-Timestamp`.
 */
export function signWebhook(key: string, timestampS: number, body: string): string {
  return 'sha256=' + createHmac('sha256', key).update(`${timestampS}.${body}`).digest('hex');
}

/**
 * Verifies `X-Bulwark-Signature` for a receiver: recomputes the HMAC in constant time and checks the timestamp is
 * within `toleranceS` of `nowS`. Returns false (never throws) for a missing, malformed, stale or wrong signature.
 */
export function verifyWebhookSignature(
  key: string, signature: string | undefined, timestamp: string | undefined, body: string,
  nowS = Math.floor(Date.now() / 1000), toleranceS = DEFAULT_TOLERANCE_S,
): boolean {
  if (!signature || !timestamp || !/^\d{1,12}$/.test(timestamp)) return false;
  const ts = Number(timestamp);
  if (Math.abs(nowS - ts) > toleranceS) return false;
  const expected = Buffer.from(signWebhook(key, ts, body));
  const got = Buffer.from(signature);
  return got.length === expected.length && timingSafeEqual(got, expected);
}

/** Outcome of one delivery attempt. `retryable` says whether another attempt may succeed. */
export interface AttemptResult {
  ok: boolean;
  retryable: boolean;
  /** HTTP status (webhook) or SMTP reply code (e-mail) when known, else 0. */
  status: number;
  latencyMs: number;
  error?: string;
  /** Seconds asked by a 429/503 `Retry-After`, when given as a number. */
  retryAfterS?: number;
}

/**
 * One webhook POST with undici: JSON body, signature headers, a per-attempt timeout for headers and body, no
 * redirects followed. 2xx is success; network errors, timeouts, 408, 429 and 5xx are retryable; other statuses
 * are permanent failures. Never throws.
 */
export async function postWebhook(opts: { url: string; signingKey: string; body: string; timeoutMs: number; nowS?: number; allowPrivate?: boolean }): Promise<AttemptResult> {
  const started = performance.now();
  if (!opts.allowPrivate) {
    const host = URL.parse(opts.url)?.hostname ?? '';
    if (isNonPublicAddress(host)) {
      return { ok: false, retryable: false, status: 0, latencyMs: 0, error: `EBLOCKEDADDRESS: ${host} is a non-public address (controlPlane.alerts.allowPrivateWebhooks)` };
    }
  }
  const ts = opts.nowS ?? Math.floor(Date.now() / 1000);
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    const res = await request(opts.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Bulwark-Alerts/1',
        [TIMESTAMP_HEADER]: String(ts),
        [SIGNATURE_HEADER]: signWebhook(opts.signingKey, ts, opts.body),
      },
      body: opts.body,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      signal,
      ...(opts.allowPrivate ? {} : { dispatcher: (publicOnlyAgent ??= new Agent({ connect: { lookup: publicOnlyLookup } })) }),
    });
    await res.body.dump({ limit: MAX_RESPONSE_BYTES }).catch(() => undefined);
    const status = res.statusCode;
    const latencyMs = Math.round(performance.now() - started);
    if (status >= 200 && status < 300) return { ok: true, retryable: false, status, latencyMs };
    const retryable = status === 408 || status === 429 || status >= 500;
    const ra = res.headers['retry-after'];
    const raS = typeof ra === 'string' && /^\d{1,6}$/.test(ra) ? Number(ra) : undefined;
    return { ok: false, retryable, status, latencyMs, error: `HTTP ${status}`, ...(raS !== undefined ? { retryAfterS: raS } : {}) };
  } catch (err) {
    const e = err as Error & { code?: string };
    const timedOut = signal.aborted || e.name === 'TimeoutError' || e.code === 'UND_ERR_HEADERS_TIMEOUT' || e.code === 'UND_ERR_BODY_TIMEOUT' || e.code === 'UND_ERR_CONNECT_TIMEOUT';
    return {
      ok: false,
      retryable: e.code !== 'EBLOCKEDADDRESS' && (e.cause as { code?: string } | undefined)?.code !== 'EBLOCKEDADDRESS',
      status: 0,
      latencyMs: Math.round(performance.now() - started),
      error: timedOut ? `timeout after ${opts.timeoutMs} ms` : `${e.code ?? e.name}: ${e.message}`,
    };
  }
}

/** SMTP settings with credentials in clear (decrypted just before sending, never logged). */
export interface SmtpSettings {
  host: string;
  port: number;
  /** Implicit TLS (port 465). */
  secure: boolean;
  /** Require STARTTLS (fail if the server does not offer it). */
  requireTLS: boolean;
  user?: string;
  password?: string;
  /** Accept self-signed server certificates (tests only; not exposed through the API). */
  tlsInsecure?: boolean;
}

/**
 * Sends one e-mail over SMTP with nodemailer (a fresh connection per message: alerts are rare, and it avoids a
 * stale pool). Connection, greeting and socket timeouts are `timeoutMs`. Transient failures (network errors,
 * timeouts, 4xx SMTP replies) are retryable; 5xx replies are permanent (RFC 5321 §4.2.1). Never throws.
 */
export async function sendMail(opts: {
  smtp: SmtpSettings; from: string; to: string[]; subject: string; text: string; html: string; timeoutMs: number;
}): Promise<AttemptResult> {
  const started = performance.now();
  const { smtp } = opts;
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.requireTLS,
    ...(smtp.user !== undefined ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
    connectionTimeout: opts.timeoutMs,
    greetingTimeout: opts.timeoutMs,
    socketTimeout: opts.timeoutMs,
    ...(smtp.tlsInsecure ? { tls: { rejectUnauthorized: false } } : {}),
    logger: false,
    debug: false,
  });
  try {
    await transport.sendMail({ from: opts.from, to: opts.to, subject: opts.subject, text: opts.text, html: opts.html });
    return { ok: true, retryable: false, status: 250, latencyMs: Math.round(performance.now() - started) };
  } catch (err) {
    const e = err as Error & { code?: string; responseCode?: number };
    const code = e.responseCode ?? 0;
    return {
      ok: false,
      retryable: code === 0 || (code >= 400 && code < 500),
      status: code,
      latencyMs: Math.round(performance.now() - started),
      error: `${e.code ?? e.name}: ${e.message}`,
    };
  } finally {
    transport.close();
  }
}

/**
 * Delay before the next attempt after `attempt` failed attempts (1-based), ms: capped exponential backoff with
 * "equal jitter" (AWS Architecture Blog, *Exponential Backoff and Jitter*): `d/2 + random(0, d/2)` with
 * `d = min(maxMs, baseMs × 2^(attempt-1))`. A `Retry-After` in seconds raises it (still capped at `maxMs`).
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, retryAfterS?: number, random: () => number = Math.random): number {
  const d = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  const jittered = d / 2 + random() * (d / 2);
  const ra = retryAfterS !== undefined ? Math.min(maxMs, retryAfterS * 1000) : 0;
  return Math.round(Math.max(jittered, ra));
}
