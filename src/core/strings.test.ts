import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { boundedCopy, flatCopy } from './strings.ts';

test('flatCopy equals slice; boundedCopy caps the length', () => {
  const s = '/api/' + 'x'.repeat(40) + '/é€😀/end';
  for (const [a, b] of [[0, 0], [0, 5], [3, 20], [5, 45], [0, s.length], [10, s.length]] as const) assert.equal(flatCopy(s, a, b), s.slice(a, b));
  assert.equal(flatCopy(s), s);
  assert.equal(boundedCopy(s, 10), s.slice(0, 10));
  assert.equal(boundedCopy('short', 10), 'short');
});

test('a flat copy does not keep its parent alive (a slice does)', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const heldBy = (cut: (s: string) => string): number => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const keep: string[] = [];
    for (let i = 0; i < 200; i++) keep.push(cut(`/api/segment-of-forty-characters-${i}?` + 'q'.repeat(50_000)));
    gc();
    const per = (process.memoryUsage().heapUsed - before) / keep.length;
    return keep.length && per;
  };
  assert.ok(heldBy((s) => s.slice(0, 40)) > 40_000, 'a slice keeps the 50 KB target');
  assert.ok(heldBy((s) => flatCopy(s, 0, 40)) < 1_000, 'a copy does not');
});
