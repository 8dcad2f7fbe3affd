import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BucketCounter, CoarseCounter, DistinctWindow, Ewma, FailureLedger, KeyedState, SlidingCounter, fnv1a } from './window.ts';

test('BucketCounter counts within the window and forgets old buckets', () => {
  const c = new BucketCounter(10_000, 10); // 10 s in 1 s buckets
  const t0 = 1_000_000;
  for (let i = 0; i < 5; i++) c.add(t0 + i * 1000);
  assert.equal(c.total(t0 + 4000), 5);
  assert.equal(c.total(t0 + 10_500), 4, 'the first bucket has left the window');
  assert.equal(c.total(t0 + 14_000), 0);
  c.add(t0 + 100_000, 3);
  assert.equal(c.total(t0 + 100_000), 3, 'a long gap clears every bucket');
  assert.throws(() => new BucketCounter(0, 10), RangeError);
});

test('DistinctWindow counts distinct values in the window, saturating at cap', () => {
  const w = new DistinctWindow(60_000, 5);
  assert.equal(w.add('a', 0), true);
  assert.equal(w.add('a', 1000), false);
  w.add('b', 2000);
  assert.equal(w.count(3000), 2);
  assert.equal(w.count(61_500), 1, 'a was refreshed at 1000 → expired at 61000; b stays');
  for (let i = 0; i < 100; i++) w.add(`v${i}`, 70_000);
  assert.equal(w.count(70_000), 5, 'bounded by cap');
  assert.equal(w.has('v99', 70_000), true);
  assert.equal(w.has('v0', 70_000), false, 'oldest values evicted first');
});

test('Ewma tracks a per-bucket average and decays over quiet buckets', () => {
  const e = new Ewma(1000, 3); // alpha 0.5
  for (let s = 0; s < 4; s++) e.add(s * 1000, 10);
  e.currentValue(4000);
  assert.ok(Math.abs(e.value - 9.375) < 1e-9, 'starts from 0: 5, 7.5, 8.75, 9.375');
  e.currentValue(8000); // 4 quiet buckets (4000..7000)
  assert.ok(e.value < 1, `decayed to ${e.value}`);
  assert.equal(e.currentValue(8000), 0);
});

test('KeyedState stays bounded under a million rotating keys', () => {
  const k = new KeyedState(1000, () => new BucketCounter(60_000, 6));
  for (let i = 0; i < 1_000_000; i++) k.get(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`).add(i);
  assert.equal(k.size, 1000);
  assert.equal(k.evictions, 999_000);
  assert.notEqual(fnv1a('a'), fnv1a('b'));
});

test('FailureLedger counts failures per member in the window, forgives and stays bounded', () => {
  const l = new FailureLedger(10_000, 3);
  l.add('a', 0);
  l.add('a', 1000);
  l.add('b', 2000);
  assert.equal(l.total(2000), 3);
  assert.equal(l.distinct(2000), 2);
  l.forgive('a');
  assert.equal(l.total(2000), 1);
  for (const m of ['c', 'd', 'e']) l.add(m, 3000);
  assert.equal(l.distinct(3000), 3, 'capped');
  assert.equal(l.total(20_000), 0, 'window passed');
});

test('SlidingCounter: two-window estimate, exact for bursts inside the current window', () => {
  const c = new SlidingCounter(60_000);
  const t0 = 6_000_000; // aligned to the window
  for (let i = 0; i < 6; i++) c.add(t0 + 1000 + i);
  assert.equal(c.total(t0 + 2000), 6);
  assert.equal(c.total(t0 + 60_000 + 30_000), 3, 'half of the previous window still overlaps');
  assert.equal(c.total(t0 + 60_000 + 59_000), 0);
  assert.equal(c.total(t0 + 10 * 60_000), 0, 'long gap');
  c.add(t0 + 10 * 60_000, 2);
  assert.equal(c.total(t0 + 10 * 60_000), 2);
  assert.throws(() => new SlidingCounter(0), RangeError);
});

test('CoarseCounter: packed hourly buckets over 6 hours', () => {
  const h = 3_600_000;
  const c = new CoarseCounter(6 * h, 6);
  for (let i = 0; i < 10; i++) c.add(i * 0.5 * h); // 2 per hour for 5 hours
  assert.equal(c.total(5 * h), 10);
  assert.equal(c.total(7 * h), 6, 'the first two hours left the window');
  assert.equal(c.total(20 * h), 0);
  for (let i = 0; i < 300; i++) c.add(20 * h);
  assert.equal(c.total(20 * h), 255, 'saturates per bucket');
  assert.throws(() => new CoarseCounter(h, 7), RangeError);
});

test('DistinctWindow and FailureLedger: single-value fast path behaves like the general case', () => {
  const w = new DistinctWindow(1000, 10);
  assert.equal(w.add('x', 0), true);
  assert.equal(w.add('x', 10), false);
  assert.equal(w.count(500), 1);
  assert.equal(w.delete('x'), true);
  assert.equal(w.count(500), 0);
  w.add('y', 600);
  assert.equal(w.count(1700), 0, 'expired');
  const l = new FailureLedger(1000, 4);
  l.add('a', 0);
  l.add('a', 1);
  assert.equal(l.total(2), 2);
  l.forgive('b');
  assert.equal(l.distinct(2), 1);
  l.add('b', 3);
  assert.equal(l.total(3), 3);
  l.forgive('a');
  assert.equal(l.total(3), 1);
});
