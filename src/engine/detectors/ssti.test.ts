import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules, computes } from './ssti.ts';
import { matchAll, timeAll, ruleMetaProblems } from './lib/testing.ts';

test('rule metadata is well formed', () => {
  assert.deepEqual(ruleMetaProblems(rules), []);
});

test('detects computing template expressions in each engine syntax', () => {
  const attacks = [
    '{{7*7}}',
    "{{7*'7'}}",
    '${7*7}',
    '#{7*7}',
    '*{7*7}',
    '<%= 7*7 %>',
    '@(6+1)',
    '{{ config.items() }}',
    '{{self}}',
    '{{ request }}',
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    '{{cycler.__init__.__globals__.os.popen("id").read()}}',
    '${T(java.lang.Runtime).getRuntime().exec("id")}',
    '<#assign ex="freemarker.template.utility.Execute"?new()>${ex("id")}',
    '#set($x = $class.inspect("java.lang.Runtime"))',
    "{{request|attr('\\x5f\\x5fclass\\x5f\\x5f')}}",
    '{$smarty.version}',
    '{php}echo 1;{/php}',
    '{% for x in range(10) %}',
    '%7B%7B8*8%7D%7D',
    "{{range.constructor(\"return global.process.mainModule.require('child_process').execSync('id')\")()}}",
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a, 'json').length > 0, `missed ${a}`);
});

test('does not flag placeholders and expressions that do not compute', () => {
  const benign = [
    '${org.name}: your verification code is ${code}',
    'Hello {{ user.firstName }}',
    '[production] {{event.source}}',
    'Basic {{credentials}}',
    "event.target.?[type eq 'UserGroup'].size()>0 && user.status == 'ACTIVE'",
    'Price: ${price}',
    'Use #{tag} for tagging',
    'a * b + c',
    '<% if you see this %>',
    'email me @ (home)',
    '{{#if active}}yes{{/if}}',
    'def __init__(self): pass',
    '[[Become a backer](https://opencollective.com/x#backer)]',
    'console.log(`response: ${resBytes.toString()}`)',
  ];
  for (const b of benign) assert.deepEqual(matchAll(rules, b, 'json'), [], `false positive on ${b}`);
  assert.equal(computes(' user.name '), null);
  assert.equal(computes('7*7'), 'arithmetic');
  // paranoia 2: statements and filters
  assert.ok(matchAll(rules, '{% if user %}x{% endif %}', 'json', 2).includes('939120'));
});

test('linear time on 64 KiB pathological input', () => {
  const inputs = ['{{'.repeat(32768), '${'.repeat(32768), '{'.repeat(65536), '{{' + '('.repeat(65530), '<%'.repeat(32768), '*'.repeat(65536), '{{' + '1*'.repeat(32760), '__'.repeat(32768)];
  for (const s of inputs) {
    const ms = timeAll(rules, s);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});
