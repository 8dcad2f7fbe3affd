import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlabLru } from './slab-lru.ts';

test('SlabLru evicts the least recently used key and reuses slots', () => {
  const l = new SlabLru(3, 2);
  const a = l.insert('a');
  l.vals[a * 2] = 1;
  l.insert('b');
  l.insert('c');
  assert.equal(l.find('a'), a); // a is now most recent; b is the oldest
  l.insert('d');
  assert.equal(l.size, 3);
  assert.equal(l.peek('b'), -1);
  assert.equal(l.evictions, 1);
  assert.equal(l.vals[l.peek('a') * 2], 1, 'record of a kept');
  const d = l.peek('d');
  assert.equal(l.vals[d * 2], 0, 'reused slot is zeroed');
  l.removeSlot(l.peek('c'));
  assert.equal(l.size, 2);
  l.insert('e');
  assert.equal(l.evictions, 1, 'a freed slot is used before evicting');
});

test('SlabLru grows to maxKeys and sweeps expired records oldest first', () => {
  const l = new SlabLru(5000, 1);
  for (let i = 0; i < 5000; i++) {
    const slot = l.insert(`k${i}`); // read `vals` after insert: it may have grown
    l.vals[slot] = i;
  }
  assert.equal(l.size, 5000);
  assert.equal(l.sweep((v, o) => v[o]! < 2500), 2500);
  assert.equal(l.size, 2500);
  assert.equal(l.peek('k10'), -1);
  assert.notEqual(l.peek('k4000'), -1);
  for (let i = 0; i < 10_000; i++) l.insert(`n${i}`);
  assert.equal(l.size, 5000);
});
