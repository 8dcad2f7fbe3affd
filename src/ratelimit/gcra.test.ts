import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gcra } from './gcra.ts';

test('GCRA allows exactly `burst` requests at once, then one per emission interval', () => {
  const p = { limit: 100, windowMs: 60_000 }; // T = 600 ms, burst = 100
  let tat: number | undefined;
  const t0 = 1_000_000;
  for (let i = 0; i < 100; i++) {
    const r = gcra(tat, t0, p);
    assert.equal(r.allowed, true, `request ${i + 1} allowed`);
    assert.equal(r.remaining, 99 - i);
    tat = r.tat;
  }
  const rej = gcra(tat, t0, p);
  assert.equal(rej.allowed, false);
  assert.equal(rej.remaining, 0);
  assert.equal(rej.tat, tat, 'a rejected request does not consume quota');
  assert.equal(rej.retryAfterMs, 600);
  assert.equal(rej.retryAfterS, 1);
  assert.equal(rej.resetS, 60);
  // 599 ms later: still rejected; 600 ms later: exactly one more allowed.
  assert.equal(gcra(tat, t0 + 599, p).allowed, false);
  const one = gcra(tat, t0 + 600, p);
  assert.equal(one.allowed, true);
  assert.equal(one.remaining, 0);
  assert.equal(gcra(one.tat, t0 + 600, p).allowed, false);
});

test('GCRA burst smaller than limit spaces requests', () => {
  const p = { limit: 10, windowMs: 1000, burst: 2 }; // T = 100 ms, τ = 100 ms
  let s = gcra(undefined, 0, p);
  assert.ok(s.allowed);
  assert.equal(s.remaining, 1);
  s = gcra(s.tat, 0, p);
  assert.ok(s.allowed);
  const r = gcra(s.tat, 0, p);
  assert.equal(r.allowed, false);
  assert.equal(r.retryAfterMs, 100);
  assert.equal(gcra(s.tat, 100, p).allowed, true);
});

test('GCRA never admits more than burst + elapsed/T over a long run (exactness)', () => {
  const p = { limit: 7, windowMs: 60_000 }; // T = 8571.43 ms (non-integer)
  let tat: number | undefined;
  let allowed = 0;
  // one request every 100 ms for 10 minutes
  for (let t = 0; t <= 600_000; t += 100) {
    const r = gcra(tat, t, p);
    if (r.allowed) {
      allowed++;
      tat = r.tat;
    }
  }
  const T = 60_000 / 7;
  assert.equal(allowed, 7 + Math.floor(600_000 / T));
});

test('GCRA state resets after idle: full quota again', () => {
  const p = { limit: 5, windowMs: 10_000 };
  let tat: number | undefined;
  for (let i = 0; i < 5; i++) tat = gcra(tat, 0, p).tat;
  assert.equal(gcra(tat, 0, p).allowed, false);
  const r = gcra(tat, 10_000, p);
  assert.equal(r.allowed, true);
  assert.equal(r.remaining, 4);
});

test('GCRA: a clock stepped back does not lock a key out for the size of the step', () => {
  const p = { limit: 10, windowMs: 60_000 };
  let tat: number | undefined;
  const t0 = 1_700_000_000_000;
  for (let i = 0; i < 10; i++) tat = gcra(tat, t0, p).tat; // bucket empty at t0
  // the clock steps back one hour: the key is treated as just emptied, not as empty for an hour
  const r = gcra(tat, t0 - 3_600_000, p);
  assert.equal(r.allowed, false);
  assert.ok(r.retryAfterS <= 6, `retry after ${r.retryAfterS} s`);
  assert.equal(gcra(r.tat, t0 - 3_600_000 + 6000, p).allowed, true);
});
