import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CidrSet, canonicalIp, clientKey, parseCidr, parseIp, formatCidr } from './ip.ts';

test('canonical IPv4 and IPv6 text (RFC 5952)', () => {
  assert.equal(canonicalIp('192.0.2.1'), '192.0.2.1');
  assert.equal(canonicalIp('2001:0DB8:0000:0000:0000:0000:0000:0001'), '2001:db8::1');
  assert.equal(canonicalIp('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canonicalIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1');
  assert.equal(canonicalIp('::'), '::');
  assert.equal(canonicalIp('::1'), '::1');
  assert.equal(canonicalIp('fe80::1%eth0'), 'fe80::1');
  assert.equal(canonicalIp('1::'), '1::');
  assert.equal(canonicalIp('64:ff9b::192.0.2.33'), '64:ff9b::c000:221');
});

test('IPv4-mapped IPv6 becomes IPv4', () => {
  assert.equal(canonicalIp('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(canonicalIp('::FFFF:c000:0207'), '192.0.2.7');
  assert.deepEqual(parseIp('::ffff:10.0.0.1'), { version: 4, v4: 0x0a000001 });
});

test('rejects malformed addresses', () => {
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4 ', 'a.b.c.d', '1:2:3:4:5:6:7:8:9', '1::2::3', ':1', '1:', '12345::', 'g::1', 'unknown', '_hidden', '[::1]', '1.2.3.4:80', '::ffff:1.2.3', '1:2:3:4:5:6:7:1.2.3.4'])
    assert.equal(parseIp(bad), undefined, bad);
  assert.equal(parseIp('x'.repeat(100_000)), undefined);
});

test('clientKey aggregates IPv6 to the prefix', () => {
  assert.equal(clientKey('2001:db8:1:2:aa:bb:cc:dd'), '2001:db8:1:2::/64');
  assert.equal(clientKey('2001:db8:1:2:aa:bb:cc:dd', 48), '2001:db8:1::/48');
  assert.equal(clientKey('2001:db8:1:2:aa:bb:cc:dd', 128), '2001:db8:1:2:aa:bb:cc:dd');
  assert.equal(clientKey('198.51.100.9'), '198.51.100.9');
  assert.equal(clientKey('::ffff:198.51.100.9'), '198.51.100.9');
});

test('parseCidr clears host bits and handles mapped prefixes', () => {
  assert.equal(formatCidr(parseCidr('10.1.2.3/8')!), '10.0.0.0/8');
  assert.equal(formatCidr(parseCidr('2001:db8::1/32')!), '2001:db8::/32');
  assert.equal(formatCidr(parseCidr('::ffff:10.0.0.0/104')!), '10.0.0.0/8');
  assert.equal(formatCidr(parseCidr('0.0.0.0/0')!), '0.0.0.0/0');
  assert.equal(parseCidr('10.0.0.0/33'), undefined);
  assert.equal(parseCidr('10.0.0.0/'), undefined);
  assert.equal(parseCidr('10.0.0.0/a'), undefined);
  assert.equal(parseCidr('::/129'), undefined);
});

test('CidrSet membership for IPv4 and IPv6', () => {
  const s = new CidrSet(['10.0.0.0/8', '192.0.2.7', '2001:db8::/32', '::1', '172.16.0.0/12']);
  assert.equal(s.size, 5);
  assert.ok(s.has('10.255.1.2'));
  assert.ok(s.has('::ffff:10.1.1.1'));
  assert.ok(s.has('192.0.2.7'));
  assert.ok(!s.has('192.0.2.8'));
  assert.ok(s.has('172.31.255.255'));
  assert.ok(!s.has('172.32.0.0'));
  assert.ok(s.has('2001:db8:ffff::1'));
  assert.ok(!s.has('2001:db9::1'));
  assert.ok(s.has('::1'));
  assert.ok(!s.has('garbage'));
  assert.ok(s.delete('10.0.0.0/8'));
  assert.ok(!s.has('10.255.1.2'));
  assert.throws(() => s.add('nope'), RangeError);
  const all = new CidrSet(['0.0.0.0/0', '::/0']);
  assert.ok(all.has('1.2.3.4') && all.has('2001:db8::1'));
});

test('CidrSet lookups stay fast with many entries', () => {
  const s = new CidrSet();
  for (let i = 0; i < 50_000; i++) s.add(`10.${(i >> 8) & 255}.${i & 255}.0/24`);
  const t0 = performance.now();
  let hits = 0;
  for (let i = 0; i < 100_000; i++) if (s.has(`10.${i & 255}.${(i >> 8) & 255}.9`)) hits++;
  assert.ok(hits > 0);
  assert.ok(performance.now() - t0 < 2000, 'lookups must not scan the list');
});

test('64 KiB pathological input is rejected in bounded time', () => {
  const inputs = [':'.repeat(65536), '1.'.repeat(32768), 'f:'.repeat(32768), '['.repeat(65536)];
  const t0 = performance.now();
  for (const x of inputs) {
    assert.equal(parseIp(x), undefined);
    assert.equal(parseCidr(x + '/8'), undefined);
  }
  assert.ok(performance.now() - t0 < 500);
});
