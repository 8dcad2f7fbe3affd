import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyMemo } from './key-memo.ts';

test('KeyMemo: remembers by method and string, bounded per method and in methods, skips long strings', () => {
  const m = new KeyMemo(2, 3, 10);
  assert.equal(m.get('GET', '/a'), undefined);
  assert.equal(m.set('GET', '/a', 'GET /a'), 'GET /a');
  assert.equal(m.get('GET', '/a'), 'GET /a');
  assert.equal(m.get('POST', '/a'), undefined);
  // long strings are returned but not kept
  assert.equal(m.set('GET', '/a-very-long-path', 'k'), 'k');
  assert.equal(m.get('GET', '/a-very-long-path'), undefined);
  // a full method level is cleared before the next insert
  m.set('GET', '/b', 'GET /b');
  m.set('GET', '/c', 'GET /c');
  m.set('GET', '/d', 'GET /d');
  assert.equal(m.get('GET', '/a'), undefined);
  assert.equal(m.get('GET', '/d'), 'GET /d');
  // a third method clears the method level
  m.set('POST', '/a', 'POST /a');
  m.set('PUT', '/a', 'PUT /a');
  assert.equal(m.get('GET', '/d'), undefined);
  assert.equal(m.get('PUT', '/a'), 'PUT /a');
});
