import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slidingWindow, type SlidingWindowState } from './sliding-window.ts';

test('sliding window allows `limit` per window and weights the previous window', () => {
  const p = { limit: 10, windowMs: 1000 };
  let s: SlidingWindowState | undefined;
  for (let i = 0; i < 10; i++) {
    const r = slidingWindow(s, 1000 + i, p);
    assert.equal(r.result.allowed, true);
    assert.equal(r.result.remaining, 9 - i);
    s = r.state;
  }
  const rej = slidingWindow(s, 1500, p);
  assert.equal(rej.result.allowed, false);
  assert.ok(rej.result.retryAfterS >= 1);
  // Next window at 25 %: estimate = 10 × 0.75 = 7.5 → 2 more allowed (7.5+1 ≤ 10, 8.5+1 ≤ 10), third rejected.
  assert.equal(slidingWindow(s, 2250, p).result.allowed, true);
  assert.equal(slidingWindow(s, 2250, p).result.allowed, true);
  const r3 = slidingWindow(s, 2250, p);
  assert.equal(r3.result.allowed, false);
  // It becomes allowed when 10·(1−e) + 2 + 1 ≤ 10 → e ≥ 0.3 → t = 2300; retryAfterMs says so.
  assert.ok(Math.abs(r3.result.retryAfterMs - 50) < 1e-6, `retryAfterMs ${r3.result.retryAfterMs}`);
  assert.equal(slidingWindow(s, 2300, p).result.allowed, true);
});

test('sliding window forgets a non-adjacent previous window', () => {
  const p = { limit: 3, windowMs: 1000 };
  let s: SlidingWindowState | undefined;
  for (let i = 0; i < 3; i++) s = slidingWindow(s, 0, p).state;
  assert.equal(slidingWindow(s, 10, p).result.allowed, false);
  const r = slidingWindow(s, 5000, p);
  assert.equal(r.result.allowed, true);
  assert.equal(r.state.prev, 0);
  assert.equal(r.result.remaining, 2);
});

test('sliding window error bound: at most 2×limit in any interval of W (bunched previous window)', () => {
  const p = { limit: 10, windowMs: 1000 };
  let s: SlidingWindowState | undefined;
  const times: number[] = [];
  // Hammer every 1 ms for 5 s and check every trailing window of 1000 ms.
  for (let t = 0; t < 5000; t++) {
    const r = slidingWindow(s, t, p);
    s = r.state;
    if (r.result.allowed) times.push(t);
  }
  let maxInWindow = 0;
  let j = 0;
  for (let i = 0; i < times.length; i++) {
    while (times[i]! - times[j]! >= 1000) j++;
    maxInWindow = Math.max(maxInWindow, i - j + 1);
  }
  assert.ok(maxInWindow <= 20, `max ${maxInWindow}`);
  // The long-run rate is the limit.
  assert.ok(times.length <= 10 * 5 + 10, `total ${times.length}`);
});

test('sliding window: a clock behind the window start counts in that window, never resets it (skew, NTP step)', () => {
  const p = { limit: 10, windowMs: 60_000 };
  const boundary = 1_700_000_040_000; // a multiple of W
  let s: SlidingWindowState | undefined;
  let allowed = 0;
  // 200 requests alternating between a clock 5 ms ahead (already in the next window) and one just before it
  for (let i = 0; i < 200; i++) {
    const r = slidingWindow(s, i % 2 === 0 ? boundary + 2 : boundary - 3, p);
    s = r.state;
    if (r.result.allowed) allowed++;
    if (!r.result.allowed) assert.ok(r.result.retryAfterS >= 1);
  }
  assert.equal(allowed, 10);
  assert.equal(s!.start, boundary);
});
