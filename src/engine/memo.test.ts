import { test } from 'node:test';
import assert from 'node:assert/strict';
import { memoizeHeaders } from './memo.ts';
import type { Part } from './types.ts';

test('memoizeHeaders caches header inputs only, bounded, and returns the same results', () => {
  let calls = 0;
  const m = memoizeHeaders((v) => {
    calls++;
    return v.includes('x') ? 'x' : null;
  }, 2);
  const h: Part = { loc: { kind: 'header', name: 'user-agent' }, value: '' };
  const q: Part = { loc: { kind: 'query', name: 'q' }, value: '' };
  assert.equal(m('ua-x', h, undefined as never), 'x');
  assert.equal(m('ua-x', h, undefined as never), 'x');
  assert.equal(m('plain', h, undefined as never), null);
  assert.equal(m('plain', h, undefined as never), null);
  assert.equal(calls, 2, 'header results cached (including null)');
  m('ua-x', q, undefined as never);
  m('ua-x', q, undefined as never);
  assert.equal(calls, 4, 'non-header parts are never cached');
  for (let i = 0; i < 100; i++) m(`rot-${i}`, h, undefined as never);
  calls = 0;
  m('ua-x', h, undefined as never);
  assert.equal(calls, 1, 'LRU bound evicted old entries');
});
