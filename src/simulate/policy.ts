import { policySchema, type Policy } from '../config/schema.ts';
import { abuseShape } from '../behavior/detectors/schema.ts';

/**
 * The policy `bulwark simulate` runs the gateway with, time-compressed by a factor F.
 *
 * Time compression: every window, bucket, EWMA bucket, ban and throttle duration of the abuse detectors,
 * the rate limits and the decision settings is divided by F, and the simulated clients' think times and
 * request rates are expressed in simulated time and divided by F too. A threshold is a count per window
 * (e.g. "more than 5 failed logins in 10 minutes"); with both the window and the clients' pace divided by
 * F, every client puts the same number of events into each (scaled) window as it would in real time, so the
 * thresholds compare the same numbers and mean the same thing. What changes is only wall-clock time:
 * 80 simulated minutes pass in 80 s at F = 60.
 *
 * Deliberate differences from the default policy (each stated in the simulate output):
 * - `trustedProxies: 127.0.0.1, ::1`: simulated clients' IPs arrive in X-Forwarded-For from the local proxy;
 * - `identity.apiKeyHeaders` adds `authorization`: the demo API's opaque session tokens become the client
 *   identity, so per-identity counters and limits keep users behind one shared IP apart; and
 *   `identity.authenticatedRoutes` lists the demo's routes that check the token (`/api/balance`, `/api/history`,
 *   `/api/transaction`), where a 200 accepts a token as an identity (benign users never get a 401 there, from
 *   which the gateway would otherwise learn them);
 * - rate limits: 100/min per session token, and 200/min per IP where exceeding it bans the IP for 15 min, instead
 *   of 100/min per IP; logins 30/min per IP instead of 10/min: 20 users share one carrier-NAT IP in the
 *   simulation (≈ 100 requests/min together), and the default per-IP limits are sized for one client per IP.
 *   At F = 60 a per-IP rate of 200/min is 200 requests per wall second, so the single-IP flood must (and does)
 *   send faster than that from the same process as the gateway;
 * - `behavior.fingerprint.minRequests: 100` (default 600 per minute): the simulator cannot sustain a
 *   600-requests-per-simulated-minute flood (600 req/s of wall time at F = 60) on a small shared machine next
 *   to the gateway; the other fingerprint conditions (≥ 20 clients, 4 × baseline) are unchanged, and the
 *   largest benign fingerprint group in the simulation stays far below 100 per minute;
 * - a business-flow rule `payment-needs-balance` (POST /api/transaction needs GET /api/balance by the same
 *   identity within 5 min), which the demo API's flows call for; the default policy declares no flow rules.
 */

/** Keys whose values are durations (ms after parsing) in the abuse detectors' sub-objects. */
const DURATION_KEYS = new Set(['window', 'within', 'per', 'bucket', 'banDuration', 'throttleFor']);

function scaled(ms: number, factor: number): string {
  return `${Math.max(1, Math.round(ms / factor))}ms`;
}

/** Deep copy of a parsed sub-object with every duration key divided by `factor` and written as `"<n>ms"`. */
function scaleDurations(v: unknown, factor: number): unknown {
  if (Array.isArray(v)) return v.map((x) => scaleDurations(x, factor));
  if (typeof v !== 'object' || v === null) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = DURATION_KEYS.has(k) && typeof x === 'number' ? scaled(x, factor) : scaleDurations(x, factor);
  return out;
}

/** The real-time (uncompressed) abuse-detector settings of the simulation, before scaling. */
export const SIM_BEHAVIOR_OVERRIDES = {
  fingerprint: { minRequests: 100 },
  flows: {
    rules: [{ id: 'payment-needs-balance', then: 'POST /api/transaction', requires: 'GET /api/balance', within: '5m', by: 'user', action: 'block' }],
  },
} as const;

/**
 * Builds the simulation policy (input form, for `startBulwark({ policy })`).
 * @param factor - time compression F (≥ 1): windows and durations are divided by it.
 * @throws {RangeError} when `factor` is not ≥ 1.
 */
export function simulatePolicy(factor: number): Record<string, unknown> {
  if (!(factor >= 1)) throw new RangeError(`time compression factor must be >= 1, got ${factor}`);
  const real = policySchema.parse({ behavior: SIM_BEHAVIOR_OVERRIDES }) as Policy;
  const behavior: Record<string, unknown> = {};
  for (const k of Object.keys(abuseShape) as (keyof typeof abuseShape)[]) behavior[k] = scaleDurations(real.behavior[k], factor);
  const min = 60_000;
  return {
    trustedProxies: ['127.0.0.1/32', '::1/128'],
    identity: { apiKeyHeaders: ['x-api-key', 'authorization'], authenticatedRoutes: ['/api/balance', '/api/history', '/api/transaction'] },
    rateLimits: [
      { id: 'session', match: { path: '/**' }, key: 'api_key', limit: 100, window: scaled(min, factor) },
      { id: 'ip', match: { path: '/**' }, key: 'ip', limit: 200, window: scaled(min, factor), action: 'ban', banAfter: 1, banDuration: scaled(15 * min, factor) },
      {
        id: 'login-ip',
        match: { path: ['/login', '/api/login', '/auth/**', '/api/auth/**', '/**/login', '/**/signin'], methods: ['POST'] },
        key: 'ip',
        limit: 30,
        window: scaled(min, factor),
      },
    ],
    decisions: {
      defaultBanDuration: scaled(15 * min, factor),
      maxBanDuration: scaled(7 * 1440 * min, factor),
      offenceWindow: scaled(1440 * min, factor),
    },
    behavior,
  };
}
