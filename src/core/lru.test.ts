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
