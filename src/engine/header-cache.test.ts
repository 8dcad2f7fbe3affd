import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderResultCache } from './header-cache.ts';

test('HeaderResultCache: one results array per value, filled in place; long values are not cached', () => {
  const c = new HeaderResultCache(3, 8, 16);
  const e = c.entry('Mozilla/5.0')!;
  assert.equal(e.length, 3);
  assert.deepEqual([...e], [undefined, undefined, undefined]);
  e[1] = null;
  e[2] = { transformed: 'x', matched: 'y' };
  assert.equal(c.entry('Mozilla/5.0'), e, 'same array for the same value');
  assert.equal(c.entry('x'.repeat(17)), undefined);
  assert.equal(c.size, 1);
});

test('HeaderResultCache: bounded to maxKeys values; recently used values survive a generation change', () => {
  const c = new HeaderResultCache(1, 8);
  const keep = c.entry('keep')!;
  for (let i = 0; i < 1000; i++) {
    c.entry(`ua-${i}`);
    if (i % 3 === 0) assert.equal(c.entry('keep'), keep, `still cached after ${i} other values`);
    assert.ok(c.size <= 8, `size ${c.size}`);
  }
  assert.notEqual(c.entry('ua-0'), undefined, 'an evicted value gets a new, empty array');
  assert.equal(c.entry('ua-0')![0], undefined);
});
