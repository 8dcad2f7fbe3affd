import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestContext } from '../core/context.ts';
import { originForm, upstreamHeaders } from './gateway.ts';
import { connectionTokens } from './forward.ts';

function ctxOf(headers: Record<string, string | string[]>, peer = '192.0.2.1'): RequestContext {
  return new RequestContext({ id: 'req-1', clientIp: peer, clientKey: peer, peerIp: peer, method: 'GET', target: '/', headers });
}

test('originForm keeps origin-form and reduces absolute-form', () => {
  assert.equal(originForm('/a/b?c=%41'), '/a/b?c=%41');
  assert.equal(originForm('http://example.com/x?y'), '/x?y');
  assert.equal(originForm('HTTPS://example.com'), '/');
  assert.equal(originForm('http://example.com?q=1'), '/?q=1');
  assert.equal(originForm('*'), undefined);
  assert.equal(originForm('example.com:443'), undefined);
  assert.equal(originForm('ftp://example.com/x'), undefined);
  assert.equal(originForm('http:///x'), undefined);
});

test('connectionTokens lists the extra hop-by-hop names', () => {
  assert.equal(connectionTokens(undefined), undefined);
  assert.equal(connectionTokens('keep-alive'), undefined);
  assert.deepEqual([...connectionTokens('close, X-Foo ,x-bar')!], ['x-foo', 'x-bar']);
  const many = Array.from({ length: 100 }, (_, i) => `x-h${i}`).join(', ');
  assert.ok(connectionTokens(many)!.has('x-h99'), 'a token listed late is hop-by-hop too');
});

test('upstreamHeaders strips hop-by-hop and appends forwarding headers', () => {
  const h = upstreamHeaders(ctxOf({ host: 'shop', connection: 'x-a', 'x-a': '1', te: 'trailers', 'x-forwarded-for': '1.1.1.1', 'x-forwarded-proto': 'https', cookie: 'a=b', 'set-x': ['1', '2'] }), false);
  const pairs: [string, string][] = [];
  for (let i = 0; i < h.length; i += 2) pairs.push([h[i]!, h[i + 1]!]);
  const get = (n: string): string[] => pairs.filter(([k]) => k === n).map(([, v]) => v);
  assert.deepEqual(get('x-a'), []);
  assert.deepEqual(get('te'), []);
  assert.deepEqual(get('host'), []);
  assert.deepEqual(get('cookie'), ['a=b']);
  assert.deepEqual(get('set-x'), ['1', '2']);
  assert.deepEqual(get('x-forwarded-for'), ['1.1.1.1, 192.0.2.1']);
  assert.deepEqual(get('x-forwarded-proto'), ['http'], 'untrusted peer cannot claim https');
  assert.deepEqual(get('forwarded'), ['for=192.0.2.1;proto=http;host=shop']);
  assert.deepEqual(get('x-request-id'), ['req-1']);
  const v6 = upstreamHeaders(ctxOf({ host: 'a b' }, '2001:db8::1'), true);
  assert.equal(v6[v6.indexOf('forwarded') + 1], 'for="[2001:db8::1]";proto=http;host="a b"');
});

test('64 KiB pathological header values are handled in bounded time', () => {
  const big = ','.repeat(65536);
  const t0 = performance.now();
  connectionTokens(big);
  connectionTokens('a,'.repeat(32768));
  originForm('http://' + 'a'.repeat(65536));
  originForm('/' + '%'.repeat(65536));
  upstreamHeaders(ctxOf({ host: '"'.repeat(65536), connection: 'x,'.repeat(32768), 'x-forwarded-for': big, forwarded: big }), true);
  assert.ok(performance.now() - t0 < 500);
});
