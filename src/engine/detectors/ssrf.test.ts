import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules, inetAton, classifyHost, findInternalUrl } from './ssrf.ts';
import { matchAll, matchPart, timeAll, ruleMetaProblems } from './lib/testing.ts';

test('rule metadata is well formed', () => {
  assert.deepEqual(ruleMetaProblems(rules), []);
});

test('inet_aton number forms', () => {
  assert.equal(inetAton('127.0.0.1'), 0x7f000001);
  assert.equal(inetAton('127.1'), 0x7f000001);
  assert.equal(inetAton('2130706433'), 0x7f000001);
  assert.equal(inetAton('0177.0.0.1'), 0x7f000001);
  assert.equal(inetAton('0x7f.1'), 0x7f000001);
  assert.equal(inetAton('0x7f000001'), 0x7f000001);
  assert.equal(inetAton('10.0.258'), (10 << 24) + 258);
  assert.equal(inetAton('0x41414141A9FEA9FE') >>> 0, 0xa9fea9fe);
  assert.equal(inetAton('example'), -1);
  assert.equal(inetAton('1.2.3.4.5'), -1);
  assert.equal(inetAton('256.1.1.1'), -1);
});

test('classifies internal hosts', () => {
  for (const h of ['localhost', 'LOCALHOST:8080', '127.0.0.1', '0', '0.0.0.0:22', '[::1]', '[::ffff:127.0.0.1]', '[0:0:0:0:0:ffff:a9fe:a9fe]', '[fd00:ec2::254]', '[fe80::1]', '10.1.2.3', '172.20.0.1', '192.168.0.10', '100.100.100.200', '169.254.169.254', 'metadata.google.internal', 'foo.localhost', '169.254.169.254.nip.io', '0251.0376.0251.0376']) {
    assert.ok(classifyHost(h) !== null, `not internal: ${h}`);
  }
  // full stops URL parsers map to '.' (WHATWG URL / IDNA), raw, percent-encoded, or UTF-8 read as Latin-1
  for (const h of ['169\u3002254\u3002169\u3002254', 'metadata\uff0egoogle\uff0einternal', '127\uff610\uff610\uff611', '169%E3%80%82254%E3%80%82169%E3%80%82254', 'localhost\u3002', '10\u00e3\u0080\u00821\u00e3\u0080\u00822\u00e3\u0080\u00823']) {
    assert.ok(classifyHost(h) !== null, `not internal: ${h}`);
  }
  for (const h of ['example.com', '8.8.8.8', '[2001:db8::1]', 'api.stripe.com:443', '172.32.0.1', '100.128.0.1', 'metadata.example.com', 'example\u3002com']) {
    assert.equal(classifyHost(h), null, `internal: ${h}`);
  }
});

test('detects SSRF URLs, parser-differential tricks and dangerous schemes', () => {
  const attacks = [
    'http://169.254.169.254/latest/meta-data/',
    'http://metadata.google.internal/computeMetadata/v1/',
    'https://localhost:8443/admin',
    'http://2130706433/',
    'http://0x7f.1/',
    'http://127.1:6379/',
    'http://[::1]:80/',
    'http://[::ffff:127.0.0.1]/',
    'http://evil.example@127.0.0.1/',
    'http://127.0.0.1#@evil.example/',
    'http://evil.example\\@10.0.0.1/',
    '//192.168.1.1/admin',
    'gopher://evil.example:25/_HELO',
    'dict://evil.example:11211/stats',
    'ldap://evil.example/dc=x',
    'tftp://evil.example/x',
    'http%3A%2F%2F127.0.0.1%3A2375%2Fcontainers%2Fjson',
    '{"callback": "http://10.0.0.5/hook"}',
    'http://\u2460\u2461\u2466.\u24ea.\u24ea.\u2460/',
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a).length > 0, `missed ${a}`);
  // paranoia 2: bare internal host values and odd schemes
  assert.ok(matchAll(rules, '127.0.0.1:6379', 'query', 2).includes('934120'));
  assert.ok(matchAll(rules, 'sftp://files.example.com/', 'query', 2).includes('934130'));
  assert.ok(matchAll(rules, 'Running 10s test @ http://localhost:3000', 'query', 2).includes('934101'));
});

test('does not flag public URLs and ordinary values at paranoia 1', () => {
  const benign = [
    'https://example.com/webhook',
    'https://hooks.slack.com/services/T000/B000/XXXX',
    'https://cdn.example.com/avatar.png?size=64',
    'http://8.8.8.8/',
    '192.168.1.1',
    '10.2.3.4/24',
    'Listen to localhost instead of 127.0.0.1',
    'https://api.box.com/2.0/files/123',
    'mailto:someone@example.com',
    'ratio 1:2 / 3',
    'urn:ietf:params:oauth:grant-type:jwt-bearer',
    'Running 10s test @ http://localhost:3000',
  ];
  for (const b of benign) assert.deepEqual(matchAll(rules, b), [], `false positive on ${b}`);
  assert.equal(findInternalUrl('see https://example.org/a@b'), null);
  // OAuth redirect targets on the developer's machine are navigated by the browser, not fetched
  const internal = rules.find((r) => r.id === '934100')!;
  assert.equal(matchPart(internal, 'http://localhost:3000/callback', 'json', 'redirect_uris.0'), null);
  assert.ok(matchPart(internal, 'http://169.254.169.254/latest/meta-data/', 'json', 'redirect_uri') !== null);
  assert.ok(matchPart(internal, 'http://localhost:6379/', 'json', 'webhook.url') !== null);
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = ['://'.repeat(21845), 'http://'.repeat(9362), '@'.repeat(65536), 'a:/'.repeat(21845), '['.repeat(65536), '1.'.repeat(32768), '//' + '@#\\'.repeat(21845)];
  for (const s of inputs) {
    const ms = timeAll(rules, s);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});
