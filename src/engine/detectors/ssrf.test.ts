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

test('IPv6 transition formats are judged by the IPv4 address they carry', () => {
  // 6to4 (127.0.0.1, 169.254.169.254), SIIT, local-use NAT64, Teredo (client 127.0.0.1 stored inverted)
  for (const h of ['[2002:7f00:1::]', '[2002:a9fe:a9fe::1]', '[::ffff:0:7f00:1]', '[64:ff9b:1::a9fe:a9fe]', '[2001:0:4136:e378:8000:63bf:80ff:fffe]', '[::7f00:1]', '[fec0::1]', '[ff02::1]', '[100::1]']) {
    assert.ok(classifyHost(h) !== null, `not internal: ${h}`);
  }
  // the same formats around public addresses: 6to4 of 8.8.8.8, NAT64 of 1.1.1.1, Teredo of 8.8.8.8
  for (const h of ['[2002:808:808::1]', '[64:ff9b::101:101]', '[2001:0:4136:e378:8000:63bf:f7f7:f7f7]', '[2606:4700::1111]']) {
    assert.equal(classifyHost(h), null, `internal: ${h}`);
  }
});

test('host names: ignored code points, private-use suffixes, names spelling an internal address', () => {
  for (const h of ['loc\u00adalhost', '127.0.0.1\u200b', 'local\thost', 'host.docker.internal', 'ip-10-0-0-1.ec2.internal', 'printer.local', 'router.home.arpa', 'metadata.tencentyun.com', '10.0.0.1.example.com', 'app.192.168.1.1.example.net', 'app-127-0-0-1.example.com', '169-254-169-254.example.org', '7f000001.c0a80001.rbndr.us', 'x.127.0.0.1.traefik.me']) {
    assert.ok(classifyHost(h) !== null, `not internal: ${h}`);
  }
  for (const h of ['ec2-54-210-1-2.compute-1.amazonaws.com', '8.8.8.8.example.com', 'a-1-2-3-4.example.com', '10.0.0.1.2', 'internal.example.com', 'local.example.com', 'example.localhost.com', 'v1-2-3.example.com', '2024-01-02-10.example.com']) {
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
    // WHATWG special schemes without `//`, tab/LF/CR deleted inside the URL, NFKC-folded letters
    'http:127.0.0.1/admin',
    'https:localhost:8443/',
    'http:0x7f000001/',
    'http:/\\/127.0.0.1/',
    'http://loc\talhost/',
    'http://metadata.google.inter\nnal/computeMetadata/v1/',
    'http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3/',
    'http://\uff2c\uff2f\uff23\uff21\uff2c\uff28\uff2f\uff33\uff34/',
    // cloud metadata endpoints (ECS task role, AWS IPv6, Alibaba, Oracle classic), unspecified addresses
    'http://169.254.170.2/v2/credentials',
    'http://[fd00:ec2::254]/latest/meta-data/',
    'http://100.100.100.200/latest/meta-data/',
    'http://192.0.0.192/latest/',
    'http://[::]:6379/',
    'http://0/',
    'http://host.docker.internal:2375/containers/json',
    'http://[2002:a9fe:a9fe::1]/latest/meta-data/',
    'http://127.0.0.1.nip.io/',
    'http://localtest.me/',
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
    'http:80',
    'http:8080,https:8443',
    'https://example.com/files/127.0.0.1.log',
    'https://en.wikipedia.org/wiki/127.0.0.1',
    'https://metadata.example.com/v1',
    'https://github.com/localhost/repo',
    'see http://example.com\n10.0.0.1 is the gateway',
    'Version 10.0.0.1.2',
    'https://8.8.8.8.example.com/',
    '2024/01/02',
  ];
  for (const b of benign) assert.deepEqual(matchAll(rules, b), [], `false positive on ${b}`);
  assert.equal(findInternalUrl('see https://example.org/a@b'), null);
  // OAuth redirect targets on the developer's machine are navigated by the browser, not fetched
  const internal = rules.find((r) => r.id === '934100')!;
  assert.equal(matchPart(internal, 'http://localhost:3000/callback', 'json', 'redirect_uris.0'), null);
  assert.ok(matchPart(internal, 'http://169.254.169.254/latest/meta-data/', 'json', 'redirect_uri') !== null);
  assert.ok(matchPart(internal, 'http://localhost:6379/', 'json', 'webhook.url') !== null);
  // inside structured text the key decides (a WebAuthn clientData `origin`), not the part name
  assert.equal(matchPart(internal, '{"type":"webauthn.get","origin":"https://localhost:3000"}', 'json', 'clientData'), null);
  assert.ok(matchPart(internal, '{"origin":"https://localhost:3000","hook":"http://localhost:6379/"}', 'json', 'clientData') !== null);
  assert.ok(matchPart(internal, '{"origin":"http://169.254.169.254/"}', 'json', 'clientData') !== null);
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = [
    '://'.repeat(21845), 'http://'.repeat(9362), '@'.repeat(65536), 'a:/'.repeat(21845), '['.repeat(65536), '1.'.repeat(32768), '//' + '@#\\'.repeat(21845),
    'http:'.repeat(13107), 'http:a'.repeat(10922), 'http:1.'.repeat(9362), 'http://' + '1-'.repeat(32764) + '.x/', 'http://' + '\t'.repeat(65528),
    'http://a' + '\u00ad'.repeat(65528), 'http://' + '%e3%80%82'.repeat(7280), '{"origin":"http://localhost/",'.repeat(2114),
  ];
  for (const s of inputs) {
    const ms = timeAll(rules, s);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});
