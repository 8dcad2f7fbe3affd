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
  // OData system query options are top-level names; `$search` is a Mongo operator only when nested
  for (const o of ['$search', '$filter', '$select', '$top', '$skip', '$orderby', '$expand', '$count']) assert.deepEqual(matchAll(rules, o, 'query_name'), [], o);
  assert.deepEqual(matchAll(rules, 'q[$search]', 'query_name'), ['938100']);
  assert.deepEqual(matchAll(rules, '$text.$search', 'json_key'), ['938100']);
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

test('detects spaced and JS-escaped operator names, CouchDB endpoints and Redis protocol lines', () => {
  assert.deepEqual(matchAll(rules, 'a[ $ne ]', 'query_name'), ['938100']);
  assert.deepEqual(matchAll(rules, 'user[\\u0024ne]', 'form_name'), ['938100']);
  assert.deepEqual(matchAll(rules, '{"\\u0024ne": 1}', 'json'), ['938110']);
  for (const a of ['/_all_docs?include_docs=true', '../../_all_docs', 'x/_all_dbs']) assert.deepEqual(matchAll(rules, a, 'query'), ['938130'], a);
  for (const a of ['x\r\nFLUSHALL\r\n', '*1\r\n$8\r\nFLUSHALL\r\n', 'k\nCONFIG SET dir /var/www/html\n', 'a\r\nSLAVEOF 203.0.113.9 6379\r\n', 'a%0D%0Aflushdb', 'x\nMODULE LOAD /tmp/x.so']) {
    assert.deepEqual(matchAll(rules, a, 'json'), ['938140'], a);
  }
});

test('does not flag currency, spaced prose, endpoint mentions or multi-line text', () => {
  for (const k of ['Price $ (USD)', 'items[ 0 ]', 'a[ $ ]']) assert.deepEqual(matchAll(rules, k, 'query_name'), [], k);
  const benign = [
    'US$ 20 or $5.00 - $10', 'See the _all_docs endpoint', 'room_all_docs', '_all_documents', 'Line one\nFLUSHALL the caches tonight', 'Line\nConfig set to auto',
    'Line\nShutdown scheduled at 5pm', 'Notes:\n* 1 item\n$5 each', 'a\nslaveof the rhythm', 'x\r\n*1 item',
  ];
  for (const b of benign) assert.deepEqual(matchAll(rules, b, 'json'), [], `false positive on ${JSON.stringify(b)}`);
});

test('linear time on 64 KiB pathological input (CouchDB and Redis scans)', () => {
  const inputs = ['_all_d'.repeat(10922), '/_all_docsx'.repeat(5957), '\r\n'.repeat(32768), '\n*1\r\n$'.repeat(9362), '\nconfig set '.repeat(5461), '\nslaveof '.repeat(7281), '[ '.repeat(32768) + '$ne'];
  for (const s of inputs) {
    const ms = timeAll(rules, s, ['json', 'query_name']);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});
