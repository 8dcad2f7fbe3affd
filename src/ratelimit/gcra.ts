/**
 * GCRA — the Generic Cell Rate Algorithm (ITU-T I.371 Annex A, "virtual scheduling" form), as used for
 * API rate limiting by redis-cell and Stripe-like limiters.
 *
 * Algorithm. A rule of `limit` requests per `windowMs` with burst `burst` defines
 *  - the emission interval T = windowMs / limit (ms between requests at the sustained rate), and
 *  - the burst tolerance τ = T · (burst − 1) (how far ahead of schedule a client may run).
 * The only state per key is the theoretical arrival time TAT (ms). A request at time `now` is conforming iff
 * `now ≥ max(TAT, now) − τ`; a conforming request sets TAT ← max(TAT, now) + T, a rejected one leaves TAT unchanged.
 *
 * Memory: O(1) per key — one number (8 bytes of payload).
 * Error bound: none from the algorithm itself. GCRA enforces exactly "at most `burst` requests at once and
 * never more than `burst + n` in any interval of n·T": unlike counters it has no window-boundary effect
 * and no estimation. The only error is IEEE-754 rounding of TAT (≤ 0.5 ulp per step; with TAT around
 * 2·10^12 ms that is ≤ 0.000122 ms per request), far below the 1 ms resolution of `now`.
 */

/** Rule parameters for {@link gcra}. */
export interface GcraParams {
  /** Requests allowed per window (sustained rate = limit / windowMs). Positive integer. */
  limit: number;
  /** Window length in ms. Positive. */
  windowMs: number;
  /** Requests allowed at once (default `limit`: a full window's quota may arrive back to back). */
  burst?: number;
}

/** Outcome of one GCRA step. Times in seconds are rounded up (never tell a client to retry too early). */
export interface RateLimitResult {
  /** True when the request conforms (is within the limit). */
  allowed: boolean;
  /** Requests still allowed right now after this one (0 when rejected). */
  remaining: number;
  /** Seconds until the quota is fully restored (TAT reaches now). */
  resetS: number;
  /** Seconds until the next request would be allowed; 0 when `allowed`. */
  retryAfterS: number;
  /** Milliseconds until the next request would be allowed (unrounded); 0 when `allowed`. */
  retryAfterMs: number;
}

/** The new state (TAT, ms) and the result of one step; `tat` is unchanged when the request is rejected. */
export interface GcraStep extends RateLimitResult {
  tat: number;
}

/**
 * One GCRA step, pure (the caller stores `tat`).
 * @param tat - stored theoretical arrival time in ms, or undefined/NaN for a new key.
 * @param now - current time in ms (same clock as `tat`).
 * @param p - limit, window and burst; `limit`/`burst` ≥ 1 and `windowMs` > 0 (validated by the policy schema).
 * @param cost - cells this request consumes (default 1).
 */
export function gcra(tat: number | undefined, now: number, p: GcraParams, cost = 1): GcraStep {
  const T = p.windowMs / p.limit;
  const tau = T * ((p.burst ?? p.limit) - 1);
  // A TAT past now + τ + T cannot come from this algorithm with a clock that only moves forward (an admitted
  // step stores at most that): it is a clock stepped back (NTP) or a faster instance's clock. Clamping treats
  // the key as just full instead of locking it out for the size of the step; a no-op otherwise.
  const maxTat = now + tau + T;
  const base = tat === undefined || !(tat > now) ? now : tat > maxTat ? maxTat : tat;
  const newTat = base + T * cost;
  const allowAt = newTat - T - tau;
  if (now < allowAt) {
    const wait = allowAt - now;
    return { allowed: false, tat: base, remaining: 0, resetS: Math.ceil((base - now) / 1000), retryAfterS: Math.max(1, Math.ceil(wait / 1000)), retryAfterMs: wait };
  }
  // Requests still conforming at `now` after this one: n such that newTat + (n−1)·T − τ ≤ now.
  const remaining = Math.max(0, Math.floor((now + tau - newTat) / T + 1e-9) + 1);
  return { allowed: true, tat: newTat, remaining, resetS: Math.ceil((newTat - now) / 1000), retryAfterS: 0, retryAfterMs: 0 };
}
