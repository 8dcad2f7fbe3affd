import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BucketCounter, CoarseCounter, DistinctWindow, Ewma, FailureLedger, KeyedRecords, KeyedState, RecordBuckets, RecordDistinct, RecordEwma, RecordFields, RecordSliding, SlidingCounter, fnv1a } from './window.ts';

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

test('KeyedRecords parts give the same results as BucketCounter, DistinctWindow, Ewma and SlidingCounter for the same calls', () => {
  let seed = 12345;
  const rnd = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  // `grid`: every time step is a multiple of 1/20 window, so window and bucket edges are hit exactly
  for (const [windowMs, buckets, cap, span, maxKeys, grid] of [
    [60_000, 6, 20, 30, 40, false],
    [60_000, 6, 20, 30, 8, true],
    [600_000, 10, 1, 5, 7, false],
    [600_000, 10, 2, 5, 3, true],
    [1000, 1, 3, 1, 1, false],
    [5000, 24, 256, 60, 64, false],
  ] as const) {
    const req = new RecordBuckets(0, windowMs, buckets);
    const dist = new RecordDistinct(req.end, windowMs, cap);
    const ew = new RecordEwma(dist.end, windowMs / buckets, span);
    const sl = new RecordSliding(ew.end, windowMs);
    const fields = new RecordFields(sl.end, [Number.NaN, 7]);
    const store = new KeyedRecords(maxKeys, [req, dist, ew, sl, fields]);
    const ref = new KeyedState(maxKeys, () => ({ b: new BucketCounter(windowMs, buckets), d: new DistinctWindow(windowMs, cap), e: new Ewma(windowMs / buckets, span), s: new SlidingCounter(windowMs), f: [Number.NaN, 7] }));
    let now = 1_700_000_000_000;
    for (let i = 0; i < 20_000; i++) {
      const r = rnd();
      // mostly small steps, sometimes long gaps, sometimes a late (out-of-order) event
      const q = (x: number): number => (grid ? Math.round(x / (windowMs / 20)) * (windowMs / 20) : Math.floor(x));
      now += r < 0.9 ? q((rnd() * windowMs) / 20) : r < 0.97 ? q(rnd() * windowMs * 3) : -q((rnd() * windowMs) / 4);
      const key = `k${Math.floor(rnd() * maxKeys * 1.5)}`;
      const value = `c${Math.floor(rnd() * cap * 3)}`;
      const s = store.get(key);
      const o = ref.get(key);
      const op = rnd();
      if (op < 0.05) {
        store.delete(key);
        ref.delete(key);
      } else if (op < 0.5) {
        const k = 1 + Math.floor(rnd() * 3);
        req.add(store, s, now, k);
        o.b.add(now, k);
        ew.add(store, s, now, k);
        o.e.add(now, k);
        assert.equal(dist.add(store, s, value, now), o.d.add(value, now));
        sl.add(store, s, now, k);
        o.s.add(now, k);
        fields.set(store, s, 1, fields.get(store, s, 1) + k);
        o.f[1] += k;
        if (k === 2) {
          fields.set(store, s, 0, now);
          o.f[0] = now;
        }
      } else {
        assert.equal(sl.total(store, s, now), o.s.total(now));
        assert.deepEqual([fields.get(store, s, 0), fields.get(store, s, 1)], o.f);
        assert.equal(req.total(store, s, now), o.b.total(now));
        assert.equal(dist.count(store, s, now), o.d.count(now));
        assert.equal(ew.currentValue(store, s, now), o.e.currentValue(now));
        assert.equal(ew.value(store, s), o.e.value);
        assert.equal(ew.samples(store, s), o.e.samples);
      }
      assert.equal(store.size, ref.size);
    }
    assert.equal(store.evictions, ref.evictions);
    assert.ok(store.evictions > 0);
  }
  assert.throws(() => new RecordBuckets(0, 0, 6), RangeError);
  assert.throws(() => new RecordDistinct(0, 1000, 0), RangeError);
  assert.throws(() => new RecordSliding(0, 0), RangeError);
  assert.throws(() => new KeyedRecords(0, []), RangeError);
});

test('KeyedRecords stays bounded under a million rotating keys', () => {
  const req = new RecordBuckets(0, 60_000, 6);
  const k = new KeyedRecords(1000, [req]);
  for (let i = 0; i < 1_000_000; i++) req.add(k, k.get(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`), i);
  assert.equal(k.size, 1000);
  assert.equal(k.evictions, 999_000);
  assert.equal(k.vals.length, 1000 * k.width);
  const s = k.find('10.15.66.63');
  assert.notEqual(s, -1, 'the newest key is tracked');
  assert.equal(req.total(k, s, 999_999), 1);
  assert.equal(k.find('10.0.0.0'), -1, 'the oldest keys are gone');
});
