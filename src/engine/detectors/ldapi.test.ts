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
