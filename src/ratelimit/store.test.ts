import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryRateLimitStore, type RateLimitParams } from './store.ts';

const gcraRule: RateLimitParams = { ruleId: 'r', algorithm: 'gcra', limit: 3, windowMs: 60_000 };
const swRule: RateLimitParams = { ruleId: 's', algorithm: 'sliding-window', limit: 3, windowMs: 60_000 };

test('memory store answers synchronously and keeps state per rule and key', () => {
  const s = new MemoryRateLimitStore(100, { sweepIntervalMs: 0 });
  const now = Date.now();
  for (const rule of [gcraRule, swRule]) {
    for (let i = 0; i < 3; i++) {
      const r = s.hit(rule, 'a', now);
      assert.ok(!(r instanceof Promise));
      assert.equal(r.allowed, true);
    }
    assert.equal(s.hit(rule, 'a', now).allowed, false);
    assert.equal(s.hit(rule, 'b', now).allowed, true, 'other key unaffected');
  }
  assert.equal(s.size, 4);
});

test('memory store stays bounded under 1,000,000 rotating keys', () => {
  const s = new MemoryRateLimitStore(50_000, { sweepIntervalMs: 0 });
  const now = Date.now();
  for (let i = 0; i < 1_000_000; i++) s.hit(gcraRule, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, now);
  assert.equal(s.size, 50_000);
  assert.equal(s.evictions, 950_000);
  // The most recent keys are still tracked (LRU keeps active clients).
  const last = 999_999;
  const key = `10.${(last >> 16) & 255}.${(last >> 8) & 255}.${last & 255}`;
  assert.equal(s.hit(gcraRule, key, now).remaining, 1);
});

test('an active abuser is not evicted by a flood of new keys while it is rejected', () => {
  const s = new MemoryRateLimitStore(1000, { sweepIntervalMs: 0 });
  const now = Date.now();
  for (let i = 0; i < 3; i++) s.hit(gcraRule, 'abuser', now);
  for (let i = 0; i < 5000; i++) {
    s.hit(gcraRule, `k${i}`, now);
    if (i % 100 === 0) assert.equal(s.hit(gcraRule, 'abuser', now).allowed, false);
  }
});

test('sweep drops state that no longer restricts anything', () => {
  const s = new MemoryRateLimitStore(100, { sweepIntervalMs: 0 });
  const now = Date.now();
  s.hit(gcraRule, 'a', now);
  s.hit(swRule, 'a', now);
  assert.equal(s.sweep(now), 0);
  assert.equal(s.sweep(now + 200_000), 2);
  assert.equal(s.size, 0);
});
