import type { RateLimitResult } from './gcra.ts';

/**
 * Sliding window counter (Cloudflare, "How we built rate limiting capable of scaling to millions of domains",
 * 2017): two fixed windows — the current one and the previous one — and a weighted estimate of the count
 * in the window of length W ending now:
 *
 *   estimate = prev · (W − elapsed) / W + curr      (elapsed = time since the current window started)
 *
 * A request is allowed when `estimate + 1 ≤ limit`; allowed requests increment `curr` (rejected ones do not).
 *
 * Memory: O(1) per key — three numbers (window start, current count, previous count).
 * Error bound: the estimate is exact when the previous window's requests were spread uniformly over it.
 * Otherwise the true count in the trailing window differs from the estimate by at most `prev` ≤ `limit`:
 * in the worst case (every previous-window request bunched at its end) up to 2·limit requests pass in
 * some interval of length W; if they were bunched at its start, requests are rejected early. Cloudflare
 * measured 0.003 % of requests wrongly allowed or limited on real traffic. Use GCRA when exactness matters.
 */

/** State of one key: `start` of the current fixed window (ms, a multiple of W), `curr` and `prev` counts. */
export interface SlidingWindowState {
  start: number;
  curr: number;
  prev: number;
}

/** Rule parameters: `limit` requests per `windowMs`. */
export interface SlidingWindowParams {
  limit: number;
  windowMs: number;
}

/**
 * One sliding-window step. Mutates and returns `state` (or a new state when undefined) so the memory
 * store allocates only for new keys.
 * @param state - the key's state or undefined for a new key.
 * @param now - current time in ms.
 */
export function slidingWindow(state: SlidingWindowState | undefined, now: number, p: SlidingWindowParams): { state: SlidingWindowState; result: RateLimitResult } {
  const W = p.windowMs;
  let start = Math.floor(now / W) * W;
  let s = state;
  if (s === undefined) s = { start, curr: 0, prev: 0 };
  else if (s.start > start) {
    // a clock behind the one that opened this window (an NTP step back; another instance's skew with shared
    // state): count in that window rather than reset it, or requests alternating across the skew are never limited
    start = s.start;
  } else if (s.start !== start) {
    // Roll forward: the old current window becomes the previous one only if it is adjacent.
    s.prev = s.start === start - W ? s.curr : 0;
    s.curr = 0;
    s.start = start;
  }
  const elapsed = Math.max(0, now - start);
  const estimate = s.prev * ((W - elapsed) / W) + s.curr;
  const allowed = estimate + 1 <= p.limit + 1e-9;
  if (allowed) s.curr++;
  return { state: s, result: slidingResult(s, now, p, allowed) };
}

/**
 * The result for a state already updated by one step (shared by the memory and Redis stores).
 * @param s - state after the step (`curr` includes this request when `allowed`).
 */
export function slidingResult(s: SlidingWindowState, now: number, p: SlidingWindowParams, allowed: boolean): RateLimitResult {
  const W = p.windowMs;
  const elapsed = Math.max(0, now - s.start);
  const estimate = s.prev * ((W - elapsed) / W) + s.curr;
  const resetS = Math.ceil(resetMs(s, elapsed, W) / 1000);
  if (allowed) return { allowed, remaining: Math.max(0, Math.floor(p.limit - estimate + 1e-9)), resetS, retryAfterS: 0, retryAfterMs: 0 };
  const wait = waitMs(s, elapsed, W, p.limit);
  return { allowed, remaining: 0, resetS, retryAfterS: Math.max(1, Math.ceil(wait / 1000)), retryAfterMs: wait };
}

/** Time until the estimate falls to 0 (both windows empty): the end of the next window if `curr` > 0. */
function resetMs(s: SlidingWindowState, elapsed: number, W: number): number {
  if (s.curr > 0) return 2 * W - elapsed;
  if (s.prev > 0) return W - elapsed;
  return 0;
}

/** Time until one more request fits: solve prev·(W−e−x)/W + curr + 1 ≤ limit for x, possibly in the next window. */
function waitMs(s: SlidingWindowState, elapsed: number, W: number, limit: number): number {
  if (s.curr + 1 <= limit) {
    if (s.prev <= 0) return 0;
    const x = W * (1 - (limit - 1 - s.curr) / s.prev) - elapsed;
    return Math.max(0, x);
  }
  // Next window: prev' = curr, curr' = 0 → curr·(W − x')/W + 1 ≤ limit.
  const rest = W - elapsed;
  const x2 = s.curr > limit - 1 ? W * (1 - (limit - 1) / s.curr) : 0;
  return rest + Math.max(0, x2);
}
