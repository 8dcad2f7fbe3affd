import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet } from '../core/ip.ts';
import { forwardedFor, resolveClient } from './client-ip.ts';

const trusted = new CidrSet(['10.0.0.0/8', '2001:db8:ffff::/48']);

test('untrusted peer: the socket address is the client, XFF ignored', () => {
  const r = resolveClient('198.51.100.7', { 'x-forwarded-for': '1.2.3.4' }, trusted, 64);
  assert.deepEqual(r, { clientIp: '198.51.100.7', clientKey: '198.51.100.7', peerIp: '198.51.100.7' });
  const none = resolveClient('198.51.100.7', { 'x-forwarded-for': '1.2.3.4' }, new CidrSet(), 64);
  assert.equal(none.clientIp, '198.51.100.7');
});

test('IPv4-mapped peer addresses are canonical IPv4', () => {
  const r = resolveClient('::ffff:203.0.113.5', {}, trusted, 64);
  assert.equal(r.clientIp, '203.0.113.5');
  assert.equal(r.peerIp, '203.0.113.5');
});

test('trusted peer: right-most untrusted XFF hop is the client', () => {
  assert.equal(resolveClient('10.0.0.1', { 'x-forwarded-for': '203.0.113.9' }, trusted, 64).clientIp, '203.0.113.9');
  // spoofed left-most entry from the client is skipped: 203.0.113.9 is the first untrusted hop from the right
  assert.equal(resolveClient('10.0.0.1', { 'x-forwarded-for': '6.6.6.6, 203.0.113.9, 10.1.1.1' }, trusted, 64).clientIp, '203.0.113.9');
  // every hop trusted: the left-most
  assert.equal(resolveClient('10.0.0.1', { 'x-forwarded-for': '10.9.9.9, 10.1.1.1' }, trusted, 64).clientIp, '10.9.9.9');
  // ports and brackets
  assert.equal(resolveClient('10.0.0.1', { 'x-forwarded-for': '203.0.113.9:5555' }, trusted, 64).clientIp, '203.0.113.9');
  assert.equal(resolveClient('10.0.0.1', { 'x-forwarded-for': '[2001:db8:1:2::7]:443' }, trusted, 64).clientKey, '2001:db8:1:2::/64');
});

test('malformed hop stops the walk at the last good hop', () => {
  assert.equal(resolveClient('10.0.0.1', { 'x-forwarded-for': '203.0.113.9, garbage, 10.2.2.2' }, trusted, 64).clientIp, '10.2.2.2');
  assert.equal(resolveClient('10.0.0.1', { 'x-forwarded-for': 'garbage' }, trusted, 64).clientIp, '10.0.0.1');
  assert.equal(resolveClient('10.0.0.1', { 'x-forwarded-for': '' }, trusted, 64).clientIp, '10.0.0.1');
  assert.equal(resolveClient('10.0.0.1', { 'x-forwarded-for': '203.0.113.9,,' }, trusted, 64).clientIp, '10.0.0.1');
});

test('RFC 7239 Forwarded with clientIp.forwardedHeader: forwarded; only the configured header is read', () => {
  assert.deepEqual(forwardedFor('for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"'), ['192.0.2.60', '"[2001:db8:cafe::17]:4711"']);
  assert.deepEqual(forwardedFor('proto=https, For=unknown'), ['', 'unknown']);
  assert.equal(resolveClient('10.0.0.1', { forwarded: 'for=192.0.2.60;proto=http' }, trusted, 64, 'forwarded').clientIp, '192.0.2.60');
  assert.equal(resolveClient('10.0.0.1', { forwarded: 'for="[2001:db8:cafe::17]:4711"' }, trusted, 64, 'forwarded').clientIp, '2001:db8:cafe::17');
  assert.equal(resolveClient('10.0.0.1', { forwarded: 'for=_hidden, for=10.3.3.3' }, trusted, 64, 'forwarded').clientIp, '10.3.3.3');
  // only the configured header: a client cannot slip the other one past a proxy that does not rewrite it
  assert.equal(resolveClient('10.0.0.1', { forwarded: 'for=192.0.2.60', 'x-forwarded-for': '192.0.2.61' }, trusted, 64).clientIp, '192.0.2.61');
  assert.equal(resolveClient('10.0.0.1', { forwarded: 'for=192.0.2.60', 'x-forwarded-for': '192.0.2.61' }, trusted, 64, 'forwarded').clientIp, '192.0.2.60');
  assert.equal(resolveClient('10.0.0.1', { forwarded: 'for=192.0.2.60' }, trusted, 64).clientIp, '10.0.0.1', 'Forwarded ignored by default');
  assert.equal(resolveClient('10.0.0.1', { 'x-forwarded-for': '192.0.2.61' }, trusted, 64, 'forwarded').clientIp, '10.0.0.1', 'XFF ignored with forwarded');
});

test('IPv6 clients are aggregated to the configured prefix', () => {
  const r = resolveClient('2001:db8:1:2:3:4:5:6', {}, trusted, 64);
  assert.equal(r.clientIp, '2001:db8:1:2:3:4:5:6');
  assert.equal(r.clientKey, '2001:db8:1:2::/64');
  assert.equal(resolveClient('2001:db8:1:2:3:4:5:6', {}, trusted, 56).clientKey, '2001:db8:1::/56');
  assert.equal(resolveClient('2001:db8:ffff::1', { 'x-forwarded-for': '2001:db8:aaaa:bbbb::1' }, trusted, 64).clientKey, '2001:db8:aaaa:bbbb::/64');
});

test('64 KiB pathological forwarding headers resolve in bounded time', () => {
  const inputs = [
    '1.1.1.1,'.repeat(8192),
    ','.repeat(65536),
    ' '.repeat(65536),
    '['.repeat(65536),
    ':'.repeat(65536),
  ];
  const t0 = performance.now();
  for (const x of inputs) {
    resolveClient('10.0.0.1', { 'x-forwarded-for': x }, trusted, 64);
    resolveClient('10.0.0.1', { forwarded: x }, trusted, 64, 'forwarded');
    resolveClient('10.0.0.1', { forwarded: 'for="' + x }, trusted, 64, 'forwarded');
    resolveClient('10.0.0.1', { forwarded: 'for=' + x.replaceAll(',', ';') }, trusted, 64, 'forwarded');
  }
  const took = performance.now() - t0;
  assert.ok(took < 500, `took ${took} ms`);
});
