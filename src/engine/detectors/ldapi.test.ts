import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules } from './ldapi.ts';
import { matchAll, timeAll, ruleMetaProblems } from './lib/testing.ts';

test('rule metadata is well formed', () => {
  assert.deepEqual(ruleMetaProblems(rules), []);
});

test('detects LDAP filter injection and metacharacter probes', () => {
  const attacks = ['*)(uid=*))(|(uid=*', 'admin)(&)', 'x)(|(password=*))', '*(|(cn=*))', 'jdoe*)(objectClass=*', 'x*))%00', ')(sn>=a', '*)(', '*|', ')(', '*()|&\''];
  for (const a of attacks) assert.ok(matchAll(rules, a).length > 0, `missed ${a}`);
});

test('detects XPath injection', () => {
  const attacks = ["x' or name()='admin' or 'a'='b", "' or count(/*)=1 or '", "'] | //user[name='a", "\" or string-length(//user[1]/pass)>0 or \""];
  for (const a of attacks) assert.ok(matchAll(rules, a).includes('936200'), `missed ${a}`);
});

test('does not flag prose with parentheses, wildcards and SQL-like filters', () => {
  const benign = [
    'Smith (Jr.) (2019)',
    'call me (maybe)',
    '*',
    '()',
    '&',
    'A & B (C)',
    'fields=*',
    "email LIKE 'x%' AND CONTAINS(list_ids, 'y')",
    "it's (not) a problem",
    'f(x)(y)',
    'admin*',
    '| | | | |',
  ];
  for (const b of benign) assert.deepEqual(matchAll(rules, b), [], `false positive on ${b}`);
  assert.ok(matchAll(rules, 'admin*', 'query', 3).includes('936120'));
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = [')('.repeat(32768), "'".repeat(65536), "' or ".repeat(10922), "' or name(".repeat(6553), '('.repeat(65536), '*)'.repeat(32768)];
  for (const s of inputs) {
    const ms = timeAll(rules, s);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});

test('audit payloads: filter breaks, probes and XPath union/blind forms', () => {
  for (const a of ['*)(|(objectClass=*)', 'admin)(|(password=*))', 'admin)(!(&(1=0', 'a*)(|(mail=*)', '*)(&(objectClass=user)', 'admin))(|(cn=*']) {
    assert.ok(matchAll(rules, a, 'json').includes('936100'), `missed ${a}`);
  }
  for (const a of ["'] | //user/*[contains(., 'a')] | a['", "' and string-length(name(/*[1]))>0 and '1'='1", "' or substring(//user[1]/pass,1,1)='a' or '"]) {
    assert.ok(matchAll(rules, a, 'json').includes('936200'), `missed ${a}`);
  }
});

test('prose with asides and search wildcards is not LDAP or XPath', () => {
  const benign = ['(see above)', 'see (above) and (below)', '*', 'foo*', 'John (Johnny) Smith', 'price (USD) = 5', "O'Reilly or Sons", "it's 'or' something", 'x) (y', 'a (b) c'];
  for (const b of benign) assert.deepEqual(matchAll(rules, b, 'json'), [], `false positive on ${b}`);
});
