import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules } from './prototype-pollution.ts';
import { checkAll, matchAll, matchPart, testContext, testScope, timeAll, ruleMetaProblems } from './lib/testing.ts';
import { bodyParts } from '../targets.ts';

test('rule metadata is well formed', () => {
  assert.deepEqual(ruleMetaProblems(rules), []);
});

test('detects __proto__ and constructor.prototype in keys, names and values', () => {
  assert.deepEqual(matchAll(rules, '__proto__', 'json_key'), ['934150']);
  assert.deepEqual(matchAll(rules, 'a[__proto__][isAdmin]', 'query_name'), ['934150']);
  assert.deepEqual(matchAll(rules, 'a%5B__proto__%5D%5Bx%5D', 'form_name'), ['934150']);
  assert.deepEqual(matchAll(rules, 'a[constructor][prototype][x]', 'query_name'), ['934160']);
  assert.deepEqual(matchAll(rules, 'x.constructor.prototype.polluted', 'json'), ['934160']);
  assert.deepEqual(matchAll(rules, '["constructor"]["prototype"]', 'json'), ['934160']);
  assert.deepEqual(matchAll(rules, '\\u005f\\u005fproto\\u005f\\u005f', 'json_key'), ['934150']);
  const rule = rules.find((r) => r.id === '934160')!;
  assert.ok(matchPart(rule as never, 'prototype', 'json_key', 'user.constructor.prototype') !== null);
});

test('JSON Patch paths and property paths given as arrays', () => {
  assert.deepEqual(matchAll(rules, '/constructor/prototype/isAdmin', 'json'), ['934160'], 'RFC 6902 path');
  const array = bodyParts(testContext('POST', '/api/items', [['content-type', 'application/json']], '{"path":["constructor","prototype","isAdmin"],"value":true}')).parts;
  assert.deepEqual(checkAll(rules, testScope(array)), ['934161: array path constructor, prototype']);
  const benign = bodyParts(testContext('POST', '/api/items', [['content-type', 'application/json']], '{"words":["constructor"],"more":["prototype"],"list":["prototype","constructor"]}')).parts;
  assert.deepEqual(checkAll(rules, testScope(benign)), [], 'not one array, or not in that order');
});

test('does not flag ordinary words', () => {
  const benign = ['constructor', 'prototype', 'The constructor of the prototype', 'proto', '__init__', 'my_proto_value', 'constructor_id'];
  for (const b of benign) assert.deepEqual(matchAll(rules, b, 'json'), [], `false positive on ${b}`);
  const rule = rules.find((r) => r.id === '934160')!;
  assert.equal(matchPart(rule as never, 'prototype', 'json_key', 'app.prototype'), null);
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = ['constructor.'.repeat(5461), '__proto_'.repeat(8192), 'constructor['.repeat(5041), '_'.repeat(65536)];
  for (const s of inputs) {
    const ms = timeAll(rules, s, ['json', 'json_key', 'query_name']);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});

test('audit evasions: strip-bypass, mixed bracket/dot paths, escaped and JSON Patch keys', () => {
  const names: [string, string][] = [
    ['__pro__proto__to__[x]', '934150'], ['a[__proto__.b]', '934150'], ['a.__proto__[b]', '934150'], ['a[\\u005f_proto__][b]', '934150'],
    ['%5F%5Fproto%5F%5F[x]', '934150'], ['a[constructor].prototype[b]', '934160'], ['a[%63onstructor][prototype][b]', '934160'],
  ];
  for (const [n, id] of names) assert.deepEqual(matchAll(rules, n, 'query_name'), [id], n);
  assert.deepEqual(matchAll(rules, '/__proto__/isAdmin', 'json'), ['934150']);
  assert.deepEqual(matchAll(rules, '\\u0063onstructor.\\u0070rototype.x', 'json_key'), ['934160']);
  const parts = bodyParts(testContext('POST', '/api/cms', [['content-type', 'application/json']], '{"constructor":{"prototype":{"isAdmin":true}}}')).parts;
  assert.ok(parts.some((p) => rules.some((r) => r.kind === 'part' && r.targets.includes(p.loc.kind) && matchPart(r, p.value, p.loc.kind, p.loc.name) !== null)));
});

test('CMS schemas with constructor/prototype fields alone are not pollution', () => {
  const body = '{"schema":{"constructor":{"type":"string"},"prototype":{"type":"boolean"}},"fields":[{"name":"constructor"},{"name":"prototype"}]}';
  const parts = bodyParts(testContext('POST', '/api/cms', [['content-type', 'application/json']], body)).parts;
  for (const p of parts) {
    for (const r of rules) if (r.kind === 'part' && r.targets.includes(p.loc.kind)) assert.equal(matchPart(r, p.value, p.loc.kind, p.loc.name), null, `${r.id} on ${p.loc.name}`);
  }
  assert.deepEqual(checkAll(rules, testScope(parts)), []);
});
