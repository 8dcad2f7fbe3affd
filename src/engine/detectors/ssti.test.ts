import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rules, computes, findSingleBraceExpression } from './ssti.ts';
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

test('Ruby/ERB/Slim/Pug interpolation: shell commands, calls without parentheses, ENV', () => {
  const attacks = [
    '#{`id`}', '#{ `cat /etc/passwd` }', '<%= `ls` %>', '#{%x(id)}', '<%= %x{uname -a} %>', '#{system \'id\'}', '#{Kernel.exec "id"}',
    "#{require 'open3'}", '#{send :system, "id"}', "#{IO.popen('id').read}", "#{File.read('/etc/passwd')}", "#{ENV['PATH']}",
    "<%= system 'id' %>", "<% eval 'puts 1' %>", "<%= IO.popen 'id' %>", '#{9**9}', '#{7-1}', '<%= 49 - 0 %>', '#{10/2}', "#{'x'.upcase}",
    '!{7*7}', "!{global.process.mainModule.require('child_process').execSync('id')}", '#{`id`}#{7*7}',
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a, 'json').includes('939100'), `missed ${a}`);
});

test('more engines: Razor blocks and namespaces, OGNL %{}, Thymeleaf, Handlebars, literal methods', () => {
  const attacks = [
    '@{ var x = 7*7; }', '@System.Diagnostics.Process.Start("cmd.exe")', '@(System.IO.File.ReadAllText("/etc/passwd"))', '%{7*7}',
    "%{#a=@java.lang.Runtime@getRuntime().exec('id')}", '[[${7*7}]]', '[(${7*7})]', '__${7*7}__::.x', '{{= 7*7}}', '${{7*7}}',
    '${"a".toUpperCase()}', '${7-7}', '{{#with "s" as |string|}}', '${"freemarker.template.utility.Execute"?new()("id")}',
  ];
  for (const a of attacks) assert.ok(matchAll(rules, a, 'json').length > 0, `missed ${a}`);
  // paranoia 2: single-brace Smarty tags
  for (const a of ['{7*7}', "{system('id')}", "{if system('id')}{/if}"]) {
    assert.deepEqual(matchAll(rules, a, 'json'), [], `PL1: ${a}`);
    assert.ok(matchAll(rules, a, 'json', 2).includes('939120'), `PL2 missed ${a}`);
  }
  assert.equal(findSingleBraceExpression('{"a": 1, "b": [2]}'), null);
});

test('Ruby docs, hashtags, prices, colours, i18n and ERB views stay clean at PL1', () => {
  const benign = [
    'Use #{name} for interpolation in Ruby strings', 'In Ruby: puts "Hello, #{user.name}!"', 'Ruby docs: "#{first} #{last}".strip',
    '"Total: #{items.count} items"', "```erb\n<%= link_to 'Home', root_path %>\n```", "<%= render 'form', post: @post %>",
    '<% if user.admin? %>admin<% end %>', '<%= t :welcome %>', "#{t 'greeting'}", "#{puts 'hi'}", '#hashtag #tbt #{weekend}',
    'Price: $5; was $10 (save 50%)', '#1 hit in 1999', 'color: #fff; background: #000', '%{count} items in your cart',
    'Hello %{name}, you have %{count} messages', '.@{prefix}-button { color: @{brand-color}; }', 'Great deal!{limited}',
    'Email body: <%-- comment --%> and <% end %>', '<% if you see this %> the template broke', 'Call @john.smith (ext. 12)',
    '@Component({selector: "app"})', '@app.route("/users")', '${first-name} ${last-name}', '{{ path/to/file }}', "#{user.first_name}'s profile",
    'Order #A-12 (gift); ships #{when}', 'Subject: Re: your order #123', '{"a": 1, "b": [2]}', 'if (x) {a = b;}', 'Use ${env.HOME} here',
  ];
  for (const b of benign) assert.deepEqual(matchAll(rules, b, 'json'), [], `false positive on ${b}`);
});

test('linear time on 64 KiB pathological input', () => {
  const unit = (u: string) => u.repeat(Math.ceil(65536 / u.length)).slice(0, 65536);
  const inputs = ['{{'.repeat(32768), '${'.repeat(32768), '{'.repeat(65536), '{{' + '('.repeat(65530), '<%'.repeat(32768), '*'.repeat(65536), '{{' + '1*'.repeat(32760), '__'.repeat(32768),
    // Ruby, literal-method, environment and single-brace scans
    '#{' + '`'.repeat(65530), '#{' + unit("a 'x';"), '<%' + unit('a.b '), '#{' + unit("'a'"), '#{' + unit('env'), unit('{a'), unit('{1*'), unit('@{'),
    unit('%{'), unit('!{'), '#{' + unit('%x'), unit('{if '), unit('@system.'), unit('#{a\n')];
  for (const s of inputs) {
    const ms = timeAll(rules, s);
    assert.ok(ms < 2000, `took ${ms} ms`);
  }
});
