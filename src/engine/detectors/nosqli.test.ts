import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules } from './nosqli.ts';
import { matchAll, timeAll, ruleMetaProblems } from './lib/testing.ts';

test('rule metadata is well formed', () => {
  assert.deepEqual(ruleMetaProblems(rules), []);
});

test('detects Mongo operators as keys and bracketed names', () => {
  assert.deepEqual(matchAll(rules, '$ne', 'json_key'), ['938100']);
  assert.deepEqual(matchAll(rules, '$where', 'json_key'), ['938100']);
  assert.deepEqual(matchAll(rules, 'password[$gt]', 'query_name'), ['938100']);
  assert.deepEqual(matchAll(rules, 'user[$regex]', 'form_name'), ['938100']);
  assert.deepEqual(matchAll(rules, 'a%5B%24nin%5D', 'query_name'), ['938100']);
});

test('detects operator objects and $where JavaScript in values', () => {
  const attacks = [
    '{"$gt": ""}',
    "{ $ne: null }",
    "', $or: [ {}, { 'a':'a",
    "admin', $where: 'sleep(100)'",
    '[$ne]=1',
    "'; return true; var x='",
    "' && this.secret.match(/.*/)//",
    "\" || \"x\"==\"x",
    "0;return true",
    "';sleep(5000);'",
    'db.users.find({})',
    "';db.getCollectionNames();'",
    "';it=new Date();do{pt=new Date();}while(pt-it<5000);",
    '{"&exists": true}',
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a, 'json').length > 0, `missed ${a}`);
});

test('does not flag JSON Schema keys, prices or prose', () => {
  for (const k of ['$schema', '$ref', '$id', 'price$', 'total']) assert.deepEqual(matchAll(rules, k, 'json_key'), [], k);
  const benign = [
    'Costs $5 per month; returns accepted',
    'Use $gt to compare (see docs)',
    'The price is $ne-gotiable',
    "It's fine; return it tomorrow",
    'db.example.com',
    'this.value is used',
    'a == b',
    '{"amount": "$100"}',
  ];
  for (const b of benign) assert.deepEqual(matchAll(rules, b, 'json'), [], `false positive on ${b}`);
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = ['$'.repeat(65536), '$ne'.repeat(21845), "';".repeat(32768), '||'.repeat(32768), 'db.'.repeat(21845), 'this.'.repeat(13107), '"&'.repeat(32768), '|| ' + 'a'.repeat(65530)];
  for (const s of inputs) {
    const ms = timeAll(rules, s, ['json', 'json_key', 'query_name']);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});
