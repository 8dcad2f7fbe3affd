import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LruMap } from './lru.ts';

test('evicts the least recently used entry past the bound', () => {
  const evicted: string[] = [];
  const m = new LruMap<string, number>(3, (k) => evicted.push(k));
  m.set('a', 1).set('b', 2).set('c', 3);
  assert.equal(m.get('a'), 1); // a is now most recent
  m.set('d', 4);
  assert.deepEqual(evicted, ['b']);
  assert.deepEqual([...m.keys()], ['c', 'a', 'd']);
  assert.equal(m.peek('c'), 3);
  m.set('e', 5);
  assert.deepEqual(evicted, ['b', 'c']);
});

test('a million rotating keys never exceed the bound', () => {
  const m = new LruMap<string, number>(10_000);
  for (let i = 0; i < 1_000_000; i++) m.set(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, i);
  assert.equal(m.size, 10_000);
  assert.equal(m.evictions, 990_000);
});

test('sweep removes expired entries and rejects a bad bound', () => {
  const m = new LruMap<string, number>(10);
  for (let i = 0; i < 10; i++) m.set(String(i), i);
  assert.equal(m.sweep((v) => v % 2 === 0), 5);
  assert.equal(m.size, 5);
  assert.throws(() => new LruMap(0), RangeError);
});

test('slots freed by delete and sweep are reused; order, values and eviction stay exact past the initial capacity', () => {
  const evicted: [string, number][] = [];
  const m = new LruMap<string, number>(200, (k, v) => evicted.push([k, v]));
  const ref: string[] = []; // expected recency order, oldest first
  const touch = (k: string): void => {
    const i = ref.indexOf(k);
    if (i !== -1) ref.splice(i, 1);
    ref.push(k);
  };
  for (let i = 0; i < 150; i++) {
    m.set(`k${i}`, i);
    touch(`k${i}`);
  }
  for (let i = 0; i < 150; i += 3) {
    assert.equal(m.delete(`k${i}`), true);
    ref.splice(ref.indexOf(`k${i}`), 1);
  }
  assert.equal(m.delete('k0'), false);
  for (let i = 1; i < 150; i += 7) {
    if (m.get(`k${i}`) !== undefined) touch(`k${i}`);
  }
  for (let i = 150; i < 300; i++) {
    m.add(`k${i}`, i);
    touch(`k${i}`);
    while (ref.length > 200) {
      const k = ref.shift()!;
      assert.deepEqual(evicted.at(-1), [k, Number(k.slice(1))]);
    }
  }
  assert.equal(m.size, 200);
  assert.deepEqual([...m.keys()], ref);
  assert.deepEqual([...m.entries()].map(([k, v]) => Number(k.slice(1)) === v), ref.map(() => true));
  assert.equal(m.sweep((v) => v % 2 === 0), ref.filter((k) => Number(k.slice(1)) % 2 === 0).length);
  const left = ref.filter((k) => Number(k.slice(1)) % 2 === 1);
  assert.deepEqual([...m.values()], left.map((k) => Number(k.slice(1))));
  m.set(left[0]!, -1); // replace: becomes newest
  assert.deepEqual([...m.keys()], [...left.slice(1), left[0]]);
  assert.equal(m.peek(left[0]!), -1);
  m.clear();
  assert.equal(m.size, 0);
  assert.deepEqual([...m.keys()], []);
  m.set('x', 1);
  assert.deepEqual([...m.entries()], [['x', 1]]);
});

test('LruMap: an entry added without a value never shows the value of the entry its slot held before', () => {
  const m = new LruMap<string, number | undefined>(2);
  m.set('a', 1);
  m.set('b', 2);
  m.add('c', undefined); // evicts a, reuses its slot
  assert.equal(m.get('c'), undefined);
  m.delete('b');
  m.add('d', undefined); // reuses b's freed slot
  assert.equal(m.get('d'), undefined);
  const fresh = new LruMap<string, undefined>(1000);
  for (let i = 0; i < 100; i++) fresh.add(`k${i}`, undefined);
  assert.deepEqual([...fresh.values()].filter((v) => v !== undefined), []);
});
