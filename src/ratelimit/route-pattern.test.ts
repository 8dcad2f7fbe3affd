import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizePath, RouteMatcher, RoutePattern } from './route-pattern.ts';

const m = (pattern: string, path: string): boolean => new RoutePattern(pattern).matches(normalizePath(path));

test('literal, *, :name and ** segments', () => {
  assert.ok(m('/api/login', '/api/login'));
  assert.ok(!m('/api/login', '/api/login/x'));
  assert.ok(!m('/api/login', '/api'));
  assert.ok(m('/api/users/:id', '/api/users/42'));
  assert.ok(!m('/api/users/:id', '/api/users'));
  assert.ok(!m('/api/users/:id', '/api/users/42/x'));
  assert.ok(m('/api/*/history', '/api/v1/history'));
  assert.ok(m('/**', '/'));
  assert.ok(m('/**', '/a/b/c'));
  assert.ok(m('/**/login', '/login'));
  assert.ok(m('/**/login', '/a/b/login'));
  assert.ok(!m('/**/login', '/a/b/login/x'));
  assert.ok(m('/api/**', '/api'));
  assert.ok(m('/api/**/x/*', '/api/a/x/b/x/c'));
  assert.ok(!m('/api/**/x/*', '/api/a/x'));
  assert.ok(m('/auth/**', '/auth/token/refresh'));
});

test('normalization stops encodings and dot segments from dodging a rule', () => {
  for (const p of ['/api/%6cogin', '/api/%6C%6F%67%69%6E', '/api/./login', '/api/x/../login', '//api//login/', '/API/Login', '/api/login;jsessionid=1', '/api\\login', '/api/%2e/login', '/api/x/%2E%2E/login', 'http://example.com/api/login', '/../../api/login']) {
    assert.ok(m('/api/login', p), p);
  }
  // Reserved characters stay encoded: %2F is not a separator.
  assert.deepEqual(normalizePath('/a%2fb/c'), ['a%2fb', 'c']);
  assert.ok(!m('/api/login', '/api%2Flogin'));
  assert.deepEqual(normalizePath('/a/%zz/b'), ['a', '%zz', 'b']);
  assert.deepEqual(normalizePath(''), []);
  assert.deepEqual(normalizePath('*'), ['*']);
});

test('method filter', () => {
  const r = new RouteMatcher(['/login', '/api/login'], ['POST']);
  assert.ok(r.matches('POST', normalizePath('/api/login')));
  assert.ok(!r.matches('GET', normalizePath('/api/login')));
  const any = new RouteMatcher('/api/**');
  assert.ok(any.matches('DELETE', normalizePath('/api/x')));
  // a format suffix on the last segment reaches the same route
  assert.ok(r.matches('POST', normalizePath('/api/login.json')));
  assert.ok(!r.matches('POST', normalizePath('/api/login2')));
  // HEAD is answered by GET handlers: a GET limit covers it
  const get = new RouteMatcher('/api/products', ['GET']);
  assert.ok(get.matches('HEAD', normalizePath('/api/products')));
  assert.ok(!get.matches('POST', normalizePath('/api/products')));
});

test('pathological 64 KiB paths are matched in linear time', () => {
  const patterns = [new RoutePattern('/**/a/**/a/**/a/**/b'), new RoutePattern('/**/login'), new RoutePattern('/*/*/*/**/x/**/y')];
  const inputs = ['/a'.repeat(32 * 1024), '/'.repeat(64 * 1024), '%2e%2e/'.repeat(9000), '/' + 'a'.repeat(65535), '/%'.repeat(32 * 1024), '/;'.repeat(32 * 1024), '/./..'.repeat(13000)];
  const t0 = performance.now();
  for (const input of inputs) {
    const segs = normalizePath(input);
    for (const p of patterns) assert.equal(p.matches(segs), false);
  }
  const ms = performance.now() - t0;
  assert.ok(ms < 2000, `took ${ms} ms`);
});

test('matchesEveryPath: only patterns made of ** alone, which match every path', () => {
  for (const p of ['/**', '**', '/**/**']) {
    assert.equal(new RoutePattern(p).matchesEveryPath, true, p);
    for (const path of ['/', '/a', '/a/b/c', '//x/../y;z']) assert.equal(m(p, path), true);
  }
  for (const p of ['/', '/*', '/api/**', '/**/login', '/*/**']) assert.equal(new RoutePattern(p).matchesEveryPath, false, p);
  assert.equal(new RouteMatcher(['/login', '/**']).matchesEveryPath, true);
  const post = new RouteMatcher('/**', ['POST']);
  assert.equal(post.matchesMethod('GET'), false);
  assert.equal(post.matches('POST', normalizePath('/x')), true);
});
