import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BucketCounter, DistinctWindow, Ewma, FailureLedger, KeyedState, fnv1a } from './window.ts';

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
  const l = new FailureLedger(10_000, 10, 3);
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
